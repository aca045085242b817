"""The README's three example scripts, taken from its text, run as a student's copies would: saved as
09_*.py beside common.py, run with --quick, and then listed by the report."""
import json
import re
import shutil
import subprocess
import sys

import pytest

import report
from conftest import ROOT
from test_report import write_results

EXAMPLES = dict(re.findall(r"Saved as\s+`(\d\d_\w+)\.py`:\n\n```python\n(.*?)```", (ROOT / "README.md").read_text(),
                           re.DOTALL))
WHAT_RAN = {  # example: (its model, its optimizer, its learning rate), as its results must record them
    "09_lr001": ("MLP 784-128-64-10, ReLU, dropout 0.2", "SGD lr 0.01", 0.01),
    "09_cnn": ("Unflatten, Conv2d 1→16 3x3, ReLU, MaxPool2d, Conv2d 16→32 3x3, ReLU, MaxPool2d, Flatten, "
               "Dropout 0.2, Linear 1568→10", "SGD lr 0.001", 0.001),
    "09_momentum": ("MLP 784-128-64-10, ReLU, dropout 0.2", "SGD lr 0.001, momentum 0.9", 0.001),
}

PARAMETERS = {"09_lr001": 784 * 128 + 128 + 128 * 64 + 64 + 64 * 10 + 10, "09_momentum": 109_386,
              "09_cnn": 16 * 9 + 16 + 32 * 16 * 9 + 32 + 1568 * 10 + 10}


def test_the_readme_shows_a_configuration_change_a_model_and_an_optimizer():
    assert list(EXAMPLES) == list(WHAT_RAN)
    assert all(len(code.strip().splitlines()) <= 16 for code in EXAMPLES.values())


@pytest.fixture(scope="module")
def example_results(tiny_dir, tmp_path_factory):
    """Each example saved in a copy of the lab and run there with --quick; then the report's results beside them."""
    lab = tmp_path_factory.mktemp("lab")
    shutil.copy(ROOT / "common.py", lab)
    for name, code in EXAMPLES.items():
        (lab / f"{name}.py").write_text(code)
    results = write_results(lab / "all-results")
    for name in EXAMPLES:
        done = subprocess.run([sys.executable, str(lab / f"{name}.py"), "--quick", "--data-dir", str(tiny_dir)],
                              capture_output=True, text=True, cwd=lab, timeout=300)
        assert done.returncode == 0, done.stderr
        assert (lab / "scratch" / "figures" / f"{name}.png").read_bytes().startswith(b"\x89PNG")
        shutil.copy(lab / "scratch" / "results" / f"{name}.json", results)
    return results


@pytest.mark.parametrize("name", list(WHAT_RAN))
def test_each_example_records_what_ran(example_results, name):
    record = json.loads((example_results / f"{name}.json").read_text())
    model, optimizer, lr = WHAT_RAN[name]
    assert (record["model"], record["optimizer"], record["config"]["lr"]) == (model, optimizer, lr)
    assert record["parameters"] == PARAMETERS[name]
    history = record["runs"][0]["history"]
    assert history["train_loss"][-1] < history["train_loss"][0]


def test_the_report_lists_the_examples(example_results):
    records = report.load(example_results)
    table = "\n".join(report.results_table(records))
    for name, (model, optimizer, _) in WHAT_RAN.items():
        assert f"| {name} | {model}; {optimizer}, batch 32 |" in table
