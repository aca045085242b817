"""report.py on hand-made results: the verdicts follow the numbers, whatever they are."""
import json
import subprocess
import sys

import pytest

import report
from conftest import ROOT

EPOCHS = 30


def history(acc_start, acc_end, loss_start, loss_end, wiggle=0.0):
    """Straight-line curves; `wiggle` makes accuracy fall every other epoch by that much."""
    step = lambda a, b: [a + (b - a) * e / (EPOCHS - 1) for e in range(EPOCHS)]  # noqa: E731
    acc = [a - (wiggle if e % 2 else 0) for e, a in enumerate(step(acc_start, acc_end))]
    loss = step(loss_start, loss_end)
    return {"train_loss": loss, "train_acc": acc, "val_loss": [v + 0.02 for v in loss], "val_acc": acc,
            "running_loss": loss, "running_acc": acc, "epoch_seconds": [1.0] * EPOCHS}


# Final accuracies chosen per experiment and seed; the rest of each curve follows from them.
TYPICAL = {  # experiment: (final validation accuracy per seed, final training loss per seed)
    "01_base": ([0.81, 0.812, 0.808], [0.50, 0.50, 0.50]),
    "02_adam": ([0.88, 0.885, 0.882], [0.25, 0.26, 0.25]),
    "03_no_dropout": ([0.815, 0.808, 0.809], [0.48, 0.49, 0.48]),  # seed by seed: +0.005, -0.004, +0.001
    "04_batch1000": ([0.45, 0.46, 0.44], [1.70, 1.72, 1.71]),
    "05_lr01": ([0.87, 0.872, 0.871], [0.30, 0.30, 0.30]),
    "06_wide": ([0.86, 0.862, 0.858], [0.45, 0.45, 0.45]),      # +0.05: more than marginal
    "07_final_adam": ([0.10, 0.10, 0.10], [2.30, 2.30, 2.30]),
    "08_final_sgd": ([0.89, 0.891, 0.889], [0.20, 0.21, 0.20]),
}


def write_results(folder, typical=TYPICAL, wiggle=None):
    folder.mkdir(parents=True, exist_ok=True)
    for name, (accs, losses) in typical.items():
        runs = []
        for seed, (acc, loss) in enumerate(zip(accs, losses)):
            h = history(0.6 if name == "01_base" else acc - 0.1, acc, 2.0, loss, (wiggle or {}).get(name, 0.0))
            if name == "04_batch1000":
                h = history(0.1, acc, 2.3, loss)
            runs.append({"seed": seed, "seconds": 30.0, "history": h,
                         "confusion": [[100 if i == j else 1 for j in range(10)] for i in range(10)]})
        (folder / f"{name}.json").write_text(json.dumps({"experiment": name, "config": {}, "runs": runs}))
    return folder


def verdicts(folder):
    return {row["number"]: row["verdict"] for row in report.claims(report.load(folder))}


def test_verdicts_follow_the_numbers(tmp_path):
    v = verdicts(write_results(tmp_path))
    assert v["1b"] == report.FAILS        # base accuracy at epoch 5 is about 0.63, below 0.7
    assert v["1c"] == report.HOLDS        # ends at 0.81, within 0.03 of 0.8
    assert v["2b"] == report.FAILS        # Adam's training loss ends at 0.25, not below 0.2
    assert v["3a"] == report.NOISE        # no dropout: +0.005, -0.004, +0.001 against the base
    assert v["4a"] == report.HOLDS and v["4b"] == report.HOLDS
    assert v["5c"] == report.FAILS        # straight lines do not oscillate
    assert v["6a"] == report.FAILS        # a 0.05 gain is not marginal
    assert v["7"] == report.HOLDS
    assert v["8a"] == report.HOLDS and v["8b"] == report.FAILS


def test_oscillation_and_a_flipped_claim(tmp_path):
    typical = dict(TYPICAL, **{"02_adam": ([0.88, 0.885, 0.882], [0.15, 0.16, 0.15]),
                               "08_final_sgd": ([0.85, 0.86, 0.85], [0.12, 0.12, 0.13])})
    v = verdicts(write_results(tmp_path, typical, wiggle={"05_lr01": 0.02}))
    assert v["2b"] == report.HOLDS
    assert v["5c"] == report.HOLDS
    assert v["8a"] == report.FAILS        # 02_adam is better in every seed
    assert v["8b"] == report.HOLDS


def test_seeds_disagreeing_on_a_threshold_is_within_noise(tmp_path):
    typical = dict(TYPICAL, **{"01_base": ([0.81, 0.84, 0.79], [0.50, 0.50, 0.50])})
    assert verdicts(write_results(tmp_path, typical))["1c"] == report.NOISE  # 0.84 is not near 0.8


def test_report_writes_markdown_and_figures(tmp_path):
    results = write_results(tmp_path / "results")
    (tmp_path / "README.md").write_text(f"# Lab\n\n{report.RESULTS_BEGIN}\nold table\n{report.RESULTS_END}\n\nMore.\n")
    done = subprocess.run([sys.executable, str(ROOT / "report.py"), "--results", str(results), "--out",
                           str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    text = (tmp_path / "REPRODUCTION.md").read_text()
    assert text.count("| **") == len(report.claims(report.load(results)))
    assert "| 07_final_adam | 0.100 ± 0.000" in text
    readme = (tmp_path / "README.md").read_text()
    assert "old table" not in readme and "| 07_final_adam | 0.100 ± 0.000" in readme
    assert readme.startswith("# Lab\n") and readme.endswith("\n\nMore.\n")
    for figure in ("overview.png", "confusion_08_final_sgd.png"):
        assert (tmp_path / "figures" / figure).read_bytes().startswith(b"\x89PNG")


def test_missing_results_is_a_clear_error(tmp_path):
    (tmp_path / "01_base.json").write_text("{}")
    with pytest.raises(report.common.UserError, match="lacks the results of 02_adam.*make all"):
        report.load(tmp_path)
