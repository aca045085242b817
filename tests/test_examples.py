"""The README's three example scripts, taken from its text, run as a student's copies would: saved as
09_*.py, run with --quick, and then listed by the report."""
import json
import re
import shutil

import pytest

from conftest import ROOT, run_program
from test_report import write_results
from tools import claims, report, runs

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


@pytest.fixture
def example_results(tiny_dir, tmp_path, lab):
    """Each example saved as a student's 09_*.py and run with --quick; then the report's results beside them."""
    results = write_results(tmp_path / "all-results")
    for name, code in EXAMPLES.items():
        (tmp_path / f"{name}.py").write_text(code)
        status, _, err = run_program(tmp_path / f"{name}.py", "--quick", "--data-dir", tiny_dir)
        assert status == 0, err
        folder = lab / "runs" / name / "quick,seed=0"
        assert (folder / runs.FIGURE).read_bytes().startswith(b"\x89PNG")
        shutil.copy(folder / runs.RESULTS, results / f"{name}.json")
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
    records = claims.load(example_results)
    table = "\n".join(report.results_table(records))
    for name, (model, optimizer, _) in WHAT_RAN.items():
        assert f"| {name} | {model}; {optimizer}, batch 32 |" in table
