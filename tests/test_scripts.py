import json
import os
import shutil
import signal
import subprocess
import sys

import pytest

import common
import report
from conftest import ROOT

SCRIPTS = common.experiment_names()
BASE = dict(optimizer="sgd", lr=0.001, batch_size=32, hidden=[128, 64], dropout=0.2, epochs=30, inputs="unit", seed=0,
            threads=1, device="cpu")
CHANGES = {  # what each experiment of the report changes from the base, and nothing else
    "01_base": {}, "02_adam": dict(optimizer="adam"), "03_no_dropout": dict(dropout=0.0),
    "04_batch1000": dict(batch_size=1000), "05_lr01": dict(lr=0.1), "06_wide": dict(hidden=[512, 256]),
    "07_final_adam": dict(optimizer="adam", lr=0.1, hidden=[512, 256]),
    "08_final_sgd": dict(lr=0.1, hidden=[512, 256]),
}


def run(script, *flags, cwd=ROOT):
    return subprocess.run([sys.executable, str(ROOT / script), *flags], capture_output=True, text=True, cwd=cwd,
                          timeout=300)


def test_every_experiment_of_the_report_has_its_script():
    assert set(CHANGES) == set(report.REPORT_EXPERIMENTS) and set(CHANGES) <= set(SCRIPTS)


@pytest.mark.parametrize("name", SCRIPTS)
def test_script_runs_quick_and_writes_png_and_results(name, tiny_dir, tmp_path):
    """Every experiment file here, the report's and any added: it runs, and its results say what ran."""
    done = run(f"{name}.py", "--quick", "--data-dir", str(tiny_dir), "--out", str(tmp_path), "--device", "cpu")
    assert done.returncode == 0, done.stderr
    png = (tmp_path / "figures" / f"{name}.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 20_000
    results = json.loads((tmp_path / "results" / f"{name}.json").read_text())
    assert results["experiment"] == name
    if name in CHANGES:
        assert results["config"] == {**BASE, **CHANGES[name], "epochs": common.QUICK["epochs"]}
        hidden = "-".join(map(str, results["config"]["hidden"]))
        assert results["model"].startswith(f"MLP 784-{hidden}-10, ReLU")
        assert results["optimizer"] == f"{'Adam' if 'adam' in name else 'SGD'} lr {results['config']['lr']:g}"
        assert results["layers"].startswith("Sequential(\n  (0): Linear(in_features=784")
    assert results["parameters"] > 0 and results["model"] and results["optimizer"]
    [run_] = results["runs"]
    assert run_["seed"] == 0 and run_["seconds"] > 0
    assert set(run_["history"]) == set(common.HISTORY_KEYS)
    assert all(len(curve) == common.QUICK["epochs"] for curve in run_["history"].values())
    assert not list(tmp_path.rglob(".*.tmp")), "a temporary file was left behind"


def test_quick_writes_under_scratch_and_leaves_the_lab_s_figures_and_results_alone(tiny_dir, tmp_path):
    lab = tmp_path / "lab"
    lab.mkdir()
    for file in ("common.py", "01_base.py"):
        shutil.copy(ROOT / file, lab)
    for folder in ("figures", "results"):
        (lab / folder).mkdir()
        (lab / folder / "01_base.keep").write_text("the committed one")
    done = subprocess.run([sys.executable, str(lab / "01_base.py"), "--quick", "--data-dir", str(tiny_dir)],
                          capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr
    assert (lab / "scratch" / "figures" / "01_base.png").is_file()
    assert (lab / "scratch" / "results" / "01_base.json").is_file()
    for folder in ("figures", "results"):
        assert [path.name for path in (lab / folder).iterdir()] == ["01_base.keep"]


@pytest.mark.parametrize("flags, message", [
    (["--epochs", "0"], "--epochs: must be a positive number"),
    (["--batch-size", "-32"], "--batch-size: must be a positive number"),
    (["--lr", "0"], "--lr: must be a positive number"),
    (["--lr", "nan"], "--lr: must be a positive number"),
    (["--dropout", "1"], "--dropout: must be at least 0 and below 1"),
    (["--threads", "0"], "--threads: must be a positive number"),
    (["--hidden", "128", "x"], "--hidden: 'x' is not a number"),
    (["--device", "tpu"], "--device: invalid choice"),
    (["--inputs", "0-255"], "--inputs: invalid choice"),
])
def test_impossible_flags_are_refused_with_a_clear_message(flags, message):
    done = run("01_base.py", *flags)
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr


# The tools beside the experiments (whose shared parser the tests above run); experiment_names() excludes them.
PROGRAMS = sorted(str(path.relative_to(ROOT)) for pattern in ("[!0-9]*.py", "bench/*.py") for path in ROOT.glob(pattern)
                  if 'if __name__ == "__main__":' in path.read_text())


@pytest.mark.parametrize("program", PROGRAMS)
def test_every_program_answers_help_with_its_flags(program):
    """Each command here, `make bench`'s included, builds its parser: a flag's broken type shows up here, not an
    hour into a benchmark."""
    done = run(program, "--help")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"usage: {os.path.basename(program)}")
    assert "-h, --help" in done.stdout


def test_an_output_folder_that_cannot_be_written_is_refused_before_any_training(tiny_dir, tmp_path):
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    done = run("01_base.py", "--quick", "--data-dir", str(tiny_dir), "--out", str(a_file / "out"))
    assert done.returncode == 1 and done.stderr.count("\n") == 1
    assert f"cannot write to {a_file / 'out' / 'figures'}" in done.stderr and "--out" in done.stderr
    assert "epoch" not in done.stdout and "Traceback" not in done.stderr


def test_the_writability_check_leaves_no_trace(tmp_path):
    common.check_writable(tmp_path / "new" / "figures", tmp_path / "new" / "results")
    assert list(tmp_path.iterdir()) == []


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
    assert list(tmp_path.iterdir()) == []


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


def old_outputs(folder):
    files = {folder / "figures" / "01_base.png": b"the old figure", folder / "results" / "01_base.json": b"old results"}
    for path, content in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return files


def test_ctrl_c_after_the_figure_is_made_leaves_the_old_figure_and_results(tiny_dir, tmp_path, monkeypatch):
    old = old_outputs(tmp_path)
    monkeypatch.setattr(sys, "argv", ["01_base.py", "--quick", "--data-dir", str(tiny_dir), "--out", str(tmp_path)])

    def interrupted(record):  # the figure is drawn; the results are not yet
        raise KeyboardInterrupt
    monkeypatch.setattr(common, "json_bytes", interrupted)
    with pytest.raises(SystemExit, match="01_base: interrupted; nothing was written"):
        common.main("01_base.py")
    assert all(path.read_bytes() == content for path, content in old.items())
    assert not list(tmp_path.rglob(".*.tmp"))


def test_a_write_that_fails_midway_leaves_every_old_file_whole(tmp_path, monkeypatch):
    old = old_outputs(tmp_path)
    real_write_bytes, writes = common.Path.write_bytes, []

    def disk_full_on_the_second_file(path, content):
        writes.append(path)
        if len(writes) == 2:
            real_write_bytes(path, content[:10])
            raise OSError(28, "No space left on device")
        return real_write_bytes(path, content)
    monkeypatch.setattr(common.Path, "write_bytes", disk_full_on_the_second_file)
    with pytest.raises(OSError, match="No space"):
        common.write_together({path: b"new " * 100 for path in old})
    monkeypatch.undo()
    assert all(path.read_bytes() == content for path, content in old.items())
    assert not list(tmp_path.rglob(".*.tmp"))


def test_ctrl_c_while_the_files_move_into_place_waits_until_all_have(tmp_path, monkeypatch):
    old = old_outputs(tmp_path)
    real_replace, moved = os.replace, []

    def replace_then_interrupt(source, target):
        real_replace(source, target)
        moved.append(target)
        if len(moved) == 1:
            signal.raise_signal(signal.SIGINT)
    monkeypatch.setattr(common.os, "replace", replace_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        common.write_together({path: b"new" for path in old})
    assert len(moved) == 2 and all(path.read_bytes() == b"new" for path in old)


def test_main_refuses_a_change_config_does_not_have(tmp_path):
    script = tmp_path / "09_typo.py"
    script.write_text(f"import sys; sys.path.insert(0, {str(ROOT)!r})\nimport common\n"
                      "common.main(__file__, learning_rate=0.1)\n")
    done = subprocess.run([sys.executable, str(script), "--quick"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "learning_rate, which Config does not have" in done.stderr and "lr" in done.stderr


def test_data_mosaic(tiny_dir, tmp_path):
    done = subprocess.run([sys.executable, str(ROOT / "show_data.py"), "--data-dir", str(tiny_dir), "--out",
                           str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "figures" / "data.png").read_bytes().startswith(b"\x89PNG")


def test_the_inputs_flag_is_recorded_and_changes_the_run(tiny_dir, tmp_path):
    for inputs in ("unit", "symmetric"):
        done = run("01_base.py", "--quick", "--inputs", inputs, "--data-dir", str(tiny_dir), "--out",
                   str(tmp_path / inputs))
        assert done.returncode == 0, done.stderr
    unit, symmetric = (json.loads((tmp_path / inputs / "results" / "01_base.json").read_text())
                       for inputs in ("unit", "symmetric"))
    assert (unit["config"]["inputs"], symmetric["config"]["inputs"]) == ("unit", "symmetric")
    assert unit["runs"][0]["history"]["train_loss"] != symmetric["runs"][0]["history"]["train_loss"]
