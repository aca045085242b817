"""The example scripts of README.md and GUIDE.md, taken from their text, run as a student's copies would: saved as
09_*.py, run with --quick, and then listed by the report."""
import json
import re
import shutil

import pytest
import torch

from conftest import ROOT, run_program
from test_report import write_results
from tools import claims, places, report

EXAMPLES = dict(re.findall(r"Saved as\s+`(\d\d_\w+)\.py`:\n\n```python\n(.*?)```",
                           (ROOT / "README.md").read_text() + (ROOT / "GUIDE.md").read_text(), re.DOTALL))
MLP = "MLP 784-128-64-10, ReLU, dropout 0.2"
NONE, CE, STEP = "no schedule", "Cross-entropy, the report's loss", "One batch: forward, loss, backward, one optimizer step"
WHAT_RAN = {  # example: its model, optimizer, learning rate, schedule, loss and step, as its results must record them
    "09_lr001": (MLP, "SGD lr 0.01", 0.01, NONE, CE, STEP),
    "09_cnn": ("Unflatten, Conv2d 1→16 3x3, ReLU, MaxPool2d, Conv2d 16→32 3x3, ReLU, MaxPool2d, Flatten, "
               "Dropout 0.2, Linear 1568→10", "SGD lr 0.001", 0.001, NONE, CE, STEP),
    "09_momentum": (MLP, "SGD lr 0.001, momentum 0.9", 0.001, NONE, CE, STEP),
    "09_lr01_cosine": (MLP, "SGD lr 0.1", 0.1, "CosineAnnealingLR T_max 2, per epoch", CE, STEP),  # --quick: 2 epochs
    "09_smoothing": (MLP, "SGD lr 0.001", 0.001, NONE, "Cross-entropy, label smoothing 0.1", STEP),
    "09_clipped": (MLP, "SGD lr 0.1", 0.1, NONE, CE, "Gradients clipped to norm 1"),
}
MLP_PARAMETERS = 784 * 128 + 128 + 128 * 64 + 64 + 64 * 10 + 10
PARAMETERS = {name: MLP_PARAMETERS for name in WHAT_RAN} | {"09_cnn": 16 * 9 + 16 + 32 * 16 * 9 + 32 + 1568 * 10 + 10}


def test_the_readme_shows_a_configuration_a_model_an_optimizer_a_schedule_a_loss_and_a_step():
    assert list(EXAMPLES) == list(WHAT_RAN)
    assert all(len(code.strip().splitlines()) <= 20 for code in EXAMPLES.values())


@pytest.fixture(scope="module")
def example_results(tiny_dir, tmp_path_factory):
    """Each example saved as a student's 09_*.py and run with --quick, in a lab of its own (as the `lab` fixture
    makes, once for the module: six trainings); then the report's results beside them."""
    lab = tmp_path_factory.mktemp("examples")
    results = write_results(lab / "all-results")
    threads = torch.get_num_threads()  # put back after: a module's fixture is outside threads_as_they_were
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(places, "ROOT", lab)
        patch.setattr(places, "RUNS", lab / "runs")
        for name, code in EXAMPLES.items():
            (lab / f"{name}.py").write_text(code)
            status, _, err = run_program(lab / f"{name}.py", "--quick", "--data-dir", tiny_dir)
            assert status == 0, err
            folder = lab / "runs" / name / "quick,seed=0"
            assert (folder / places.FIGURE).read_bytes().startswith(b"\x89PNG")
            shutil.copy(folder / places.RESULTS, results / f"{name}.json")
    torch.set_num_threads(threads)
    return results


@pytest.mark.parametrize("name", list(WHAT_RAN))
def test_each_example_records_what_ran(example_results, name):
    record = json.loads((example_results / f"{name}.json").read_text())
    assert (record["model"], record["optimizer"], record["config"]["lr"], record["schedule"], record["loss"],
            record["step"]) == WHAT_RAN[name]
    assert record["parameters"] == PARAMETERS[name]
    history = record["runs"][0]["history"]
    assert history["train_loss"][-1] < history["train_loss"][0]
    assert history["lr"] == ([0.1, 0.05] if name == "09_lr01_cosine" else [record["config"]["lr"]] * 2)


def test_the_report_lists_the_examples(example_results):
    records = claims.load(example_results)
    table = "\n".join(report.results_table(records))
    for name, (model, optimizer, _, schedule, loss, step) in WHAT_RAN.items():
        differs = "".join(f", {what}" for what, usual in ((schedule, NONE), (loss, CE), (step, STEP)) if what != usual)
        assert f"| {name} | {model}; {optimizer}{differs}, batch 32 |" in table
