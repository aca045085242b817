import json
import subprocess
import sys

import pytest

import common
from conftest import ROOT

SCRIPTS = sorted(path.name for path in ROOT.glob("[0-9][0-9]_*.py"))
BASE = dict(optimizer="sgd", lr=0.001, batch_size=32, hidden=[128, 64], dropout=0.2, seed=0, device="cpu")
CHANGES = {  # what each experiment of the report changes from the base, and nothing else
    "01_base": {}, "02_adam": dict(optimizer="adam"), "03_no_dropout": dict(dropout=0.0),
    "04_batch1000": dict(batch_size=1000), "05_lr01": dict(lr=0.1), "06_wide": dict(hidden=[512, 256]),
    "07_final_adam": dict(optimizer="adam", lr=0.1, hidden=[512, 256]),
    "08_final_sgd": dict(lr=0.1, hidden=[512, 256]),
}


def run(script, *flags, cwd=ROOT):
    return subprocess.run([sys.executable, str(ROOT / script), *flags], capture_output=True, text=True, cwd=cwd,
                          timeout=300)


def test_all_eight_experiments_are_there():
    assert SCRIPTS == [f"{name}.py" for name in CHANGES]


@pytest.mark.parametrize("script", SCRIPTS)
def test_script_runs_quick_and_writes_png_and_results(script, tiny_dir, tmp_path):
    done = run(script, "--quick", "--data-dir", str(tiny_dir), "--out", str(tmp_path), "--device", "cpu")
    assert done.returncode == 0, done.stderr
    name = script[:-3]
    png = (tmp_path / "figures" / f"{name}.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 20_000
    results = json.loads((tmp_path / "results" / f"{name}.json").read_text())
    assert results["experiment"] == name
    assert results["config"] == {**BASE, **CHANGES[name], "epochs": common.QUICK["epochs"]}
    [run_] = results["runs"]
    assert run_["seed"] == 0 and run_["seconds"] > 0
    assert set(run_["history"]) == set(common.HISTORY_KEYS)
    assert all(len(curve) == common.QUICK["epochs"] for curve in run_["history"].values())
    assert all(0 <= a <= 1 for key in ("train_acc", "val_acc", "running_acc") for a in run_["history"][key])
    assert not list(tmp_path.rglob(".*.tmp")), "a temporary file was left behind"


@pytest.mark.parametrize("flags, message", [
    (["--epochs", "0"], "--epochs: must be a positive number"),
    (["--batch-size", "-32"], "--batch-size: must be a positive number"),
    (["--lr", "0"], "--lr: must be a positive number"),
    (["--lr", "nan"], "--lr: must be a positive number"),
    (["--dropout", "1"], "--dropout: must be at least 0 and below 1"),
    (["--device", "tpu"], "--device: invalid choice"),
])
def test_impossible_flags_are_refused_with_a_clear_message(flags, message):
    done = run("01_base.py", *flags)
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr


def test_damaged_data_stops_the_script_with_one_line_and_writes_nothing(tiny_dir, tmp_path):
    broken = tmp_path / "data"
    broken.mkdir()
    for path in tiny_dir.iterdir():
        (broken / path.name).write_bytes(path.read_bytes()[:50])
    done = run("01_base.py", "--quick", "--data-dir", str(broken), "--out", str(tmp_path / "out"))
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "01_base: error:" in done.stderr and "damaged" in done.stderr
    assert not (tmp_path / "out").exists()


def test_divergence_stops_the_script_and_writes_nothing(tiny_dir, tmp_path):
    done = run("05_lr01.py", "--quick", "--lr", "1e8", "--data-dir", str(tiny_dir), "--out", str(tmp_path))
    assert done.returncode == 1 and "diverged" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "figures").exists() and not (tmp_path / "results").exists()


@pytest.mark.skipif(common.torch.cuda.is_available(), reason="this machine has CUDA")
def test_asking_for_a_missing_gpu_is_a_clear_error(tiny_dir, tmp_path):
    done = run("01_base.py", "--quick", "--device", "cuda", "--data-dir", str(tiny_dir), "--out", str(tmp_path))
    assert done.returncode == 1 and "no CUDA device is available" in done.stderr and "Traceback" not in done.stderr


def test_several_seeds_are_distinct_runs_in_one_results_file(tiny_dir, tmp_path):
    done = run("01_base.py", "--quick", "--seeds", "2", "--seed", "5", "--data-dir", str(tiny_dir), "--out",
               str(tmp_path))
    assert done.returncode == 0, done.stderr
    runs = json.loads((tmp_path / "results" / "01_base.json").read_text())["runs"]
    assert [r["seed"] for r in runs] == [5, 6]
    assert runs[0]["history"]["train_loss"] != runs[1]["history"]["train_loss"]


def test_data_mosaic(tiny_dir, tmp_path):
    done = subprocess.run([sys.executable, str(ROOT / "show_data.py"), "--data-dir", str(tiny_dir), "--out",
                           str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "figures" / "data.png").read_bytes().startswith(b"\x89PNG")
