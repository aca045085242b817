"""The experiment scripts as a student runs them: where each run writes, what it records, and what it refuses.
Run in this process (conftest.run_program) but for the tests whose subject is the process itself."""
import json
import os
import signal
import subprocess
import sys

import pytest

import common
from conftest import ROOT, run_program
from tools import claims, files, places, records, runs

SCRIPTS = list(claims.REPORT_EXPERIMENTS)  # a student's own NN_*.py are `make mine`'s, not the lab's tests
BASE = dict(optimizer="sgd", lr=0.001, batch_size=32, hidden=[128, 64], dropout=0.2, epochs=30, inputs="unit", seed=0,
            threads=1, device="cpu", validation="test")
CHANGES = {  # what each experiment of the report changes from the base, and nothing else
    "01_base": {}, "02_adam": dict(optimizer="adam"), "03_no_dropout": dict(dropout=0.0),
    "04_batch1000": dict(batch_size=1000), "05_lr01": dict(lr=0.1), "06_wide": dict(hidden=[512, 256]),
    "07_final_adam": dict(optimizer="adam", lr=0.1, hidden=[512, 256]),
    "08_final_sgd": dict(lr=0.1, hidden=[512, 256]),
}


def script(name):
    return ROOT / f"{name}.py"


def read(folder):
    return json.loads((folder / places.RESULTS).read_text())


def test_every_experiment_of_the_report_has_its_script():
    assert set(CHANGES) == set(SCRIPTS) and set(SCRIPTS) <= set(places.experiment_names())


@pytest.mark.parametrize("name", SCRIPTS)
def test_each_script_runs_quick_into_a_folder_of_its_own_and_records_what_ran(name, tiny_dir, lab):
    code, out, err = run_program(script(name), "--quick", "--data-dir", tiny_dir, "--device", "cpu")
    assert code == 0, err
    folder = lab / "runs" / name / "quick,seed=0"
    assert out.strip().splitlines()[-1] == f"{name}: wrote {folder}/ (figure.png, results.json, seed=0.pt, tensorboard/)"
    assert (folder / places.FIGURE).read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    record = read(folder)
    assert record["experiment"] == name and record["changed"] == {} and record["quick"] is True
    assert record["config"] == {**BASE, **CHANGES[name], "epochs": 2}
    hidden = "-".join(map(str, record["config"]["hidden"]))
    assert record["model"].startswith(f"MLP 784-{hidden}-10, ReLU")
    assert record["optimizer"] == f"{'Adam' if 'adam' in name else 'SGD'} lr {record['config']['lr']:g}"
    [run] = record["runs"]
    assert run["seed"] == 0 and set(run["history"]) == set(records.HISTORY_KEYS)
    assert all(len(curve) == 2 for curve in run["history"].values())
    assert not (lab / "figures").exists() and not (lab / "results").exists()
    assert not list(lab.rglob(".*.tmp")), "a temporary file was left behind"


@pytest.mark.parametrize("flags, folder", [
    ((), "seed=0"),                                           # a plain `python 02_adam.py`: one seed
    (("--epochs", "1"), "epochs=1,seed=0"),
    (("--batch-size", "100", "--epochs", "1"), "batch_size=100,epochs=1,seed=0"),
    (("--epochs", "1", "--seeds", "3"), "epochs=1,seeds=0-2"),
    (("--hidden", "16", "8", "--lr", "0.01", "--epochs", "1"), "lr=0.01,hidden=16x8,epochs=1,seed=0"),
    (("--optimizer", "adam", "--epochs", "1"), "epochs=1,seed=0"),  # 02_adam's own optimizer: no change
    (("--device", "cpu", "--epochs", "1"), "epochs=1,seed=0"),       # auto is the cpu here: no change
])
def test_a_run_s_folder_is_named_after_what_it_changes_and_the_lab_s_files_stay(flags, folder, tiny_dir, lab,
                                                                               monkeypatch):
    monkeypatch.setattr(common.Config, "epochs", 3)  # the lab's 30 epochs, shortened for the tiny data
    for path, content in zip(places.lab_files("02_adam"), (b"the lab's figure", b"the lab's results")):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    code, out, err = run_program(script("02_adam"), *flags, "--data-dir", tiny_dir)
    assert code == 0, err
    weights = "".join(f", seed={seed}.pt" for seed in range(3 if "seeds" in folder else 1)) + ", tensorboard/"
    assert out.strip().splitlines()[-1] == f"02_adam: wrote {lab / 'runs' / '02_adam' / folder}/ (figure.png, results.json{weights})"
    assert [p.read_bytes() for p in places.lab_files("02_adam")] == [b"the lab's figure", b"the lab's results"]


def test_the_lab_s_own_record_also_updates_the_lab_s_figure_and_results(tiny_dir, lab, monkeypatch):
    """The script's own settings over the lab's seeds on the whole data set: what make all makes, so it may write
    there. The tiny data stands for the whole set here."""
    monkeypatch.setattr(places, "FULL_DATA", dict(train_size=300, val_size=100))
    monkeypatch.setattr(common.Config, "epochs", 3)  # as if 3 were the script's own epochs
    (lab / "03_no_dropout.py").write_text("")  # the test's lab has this experiment (its files go to the lab's)
    code, out, err = run_program(script("03_no_dropout"), "--seeds", "3", "--data-dir", tiny_dir)
    assert code == 0, err
    figure, results = places.lab_files("03_no_dropout")
    folder = lab / "runs" / "03_no_dropout" / "seeds=0-2"
    assert out.strip().splitlines()[-1] == (f"03_no_dropout: wrote {folder}/ (figure.png, results.json, seed=0.pt, "
                                            f"seed=1.pt, seed=2.pt, tensorboard/), and the "
                                            f"lab's {figure} and {results}")
    assert results.read_bytes() == (folder / places.RESULTS).read_bytes()
    assert figure.read_bytes() == (folder / places.FIGURE).read_bytes()
    assert files.png_source(figure) == records.digest(results.read_bytes())  # make check's tie of figure to record
    code, _, err = run_program(script("03_no_dropout"), "--seeds", "3", "--seed", "1", "--data-dir", tiny_dir)
    assert code == 0 and json.loads(results.read_text())["runs"][0]["seed"] == 0  # seeds 1-3 are not the lab's


@pytest.mark.parametrize("flags, message", [
    (["--epochs", "0"], "--epochs (Config.epochs) must be a positive number; got 0"),
    (["--batch-size", "-32"], "--batch-size (Config.batch_size) must be a positive number; got -32"),
    (["--lr", "nan"], "--lr (Config.lr) must be a positive number; got nan"),
    (["--dropout", "1"], "--dropout (Config.dropout) must be at least 0 and below 1; got 1.0"),
    (["--threads", "0"], "--threads (Config.threads) must be a positive number; got 0"),
    (["--hidden", "128", "x"], "argument --hidden: 'x' is not a list of whole numbers, such as 256x128"),
    (["--device", "tpu"], "--device (Config.device) must be one of auto, cpu, cuda, mps; got 'tpu'"),
    (["--inputs", "0-255"], "--inputs (Config.inputs) must be one of unit, symmetric, standard; got '0-255'"),
    (["--optimizer", "sgdd"], "--optimizer (Config.optimizer) must be one of sgd, adam; got 'sgdd'"),
    (["--seeds", "0"], "argument --seeds: must be a positive number, got 0"),
])
def test_impossible_flags_are_refused_with_one_line_before_the_data_loads(flags, message, lab, monkeypatch):
    monkeypatch.setattr(common, "load_data", lambda *a, **k: pytest.fail("the data was loaded"))
    code, out, err = run_program(script("01_base"), *flags)
    assert code == 2 and err == f"01_base: error: {message}\n"


@pytest.mark.parametrize("keywords, message", [
    ("dropout=1.5", "--dropout (Config.dropout) must be at least 0 and below 1; got 1.5"),
    ('optimizer="sgdd"', "--optimizer (Config.optimizer) must be one of sgd, adam; got 'sgdd'"),
    ("learning_rate=0.1", "main() got learning_rate, which Config does not have; it has optimizer, lr, batch_size, "
                          "hidden, dropout, epochs, inputs, seed, threads, device, validation; main also takes seeds, quick, "
                          "data_dir, out, lang, make_model, make_optimizer, make_schedule, loss and step"),
])
def test_a_script_s_keywords_are_refused_as_its_flags_are(keywords, message, tmp_path, lab, monkeypatch):
    monkeypatch.setattr(common, "load_data", lambda *a, **k: pytest.fail("the data was loaded"))
    student = tmp_path / "09_mine.py"
    student.write_text(f'"""Mine."""\nimport common\n\nif __name__ == "__main__":\n    common.main(__file__, {keywords})\n')
    code, out, err = run_program(student)
    assert code == 2 and err == f"09_mine: error: {message}\n"


def test_a_bad_value_in_a_script_is_fine_when_a_flag_overrides_it(tmp_path, tiny_dir, lab):
    """One check of the configuration the run will use: the script's keywords with the flags on top."""
    student = tmp_path / "09_mine.py"
    student.write_text('import common\ncommon.main(__file__, dropout=1.5)\n')
    code, _, err = run_program(student, "--dropout", "0.1", "--quick", "--data-dir", tiny_dir)
    assert code == 0, err


TOOLS = ["tools.run_all", "tools.report", "tools.calibrate", "tools.show_data", "tools.data", "tools.bench.bench",
         "tools.bench.step", "tools.bench.parallel"]


@pytest.mark.parametrize("program", [script("01_base"), *TOOLS], ids=str)
def test_every_program_answers_help_with_its_flags(program):
    """Each command builds its parser: a flag's broken type shows up here, not an hour into a benchmark."""
    code, out, err = run_program(program, "--help")
    assert code == 0, err
    assert out.startswith(f"usage: {'01_base.py' if program == script('01_base') else 'python -m ' + program}")
    assert "-h, --help" in out


@pytest.mark.parametrize("program, flag", [
    (script("01_base"), "--seeds"), ("tools.run_all", "--jobs"), ("tools.run_all", "--seeds"),
    ("tools.calibrate", "--jobs"), ("tools.bench.bench", "--repeats"), ("tools.bench.step", "--steps"),
    ("tools.bench.step", "--pairs"), ("tools.bench.parallel", "--pairs"), ("tools.bench.parallel", "--lab"),
], ids=str)
def test_every_tool_s_counted_flag_refuses_zero_before_it_starts(program, flag, monkeypatch):
    """--help builds a parser but calls no flag's type; a value does. Nothing may run after the refusal."""
    monkeypatch.setattr(common, "load_data", lambda *a, **k: pytest.fail("it started"))
    code, out, err = run_program(program, flag, "0")
    assert code == 2 and f"argument {flag}: must be a positive number, got 0" in err and not out


def test_an_output_folder_that_cannot_be_written_is_refused_before_any_training(tiny_dir, tmp_path, lab):
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    code, out, err = run_program(script("01_base"), "--quick", "--data-dir", tiny_dir, "--out", a_file / "out")
    assert code == 1 and err.count("\n") == 1 and f"cannot write to {a_file / 'out'}" in err and "--out" in err
    assert "epoch" not in out


def test_the_writability_check_leaves_no_trace(tmp_path):
    files.check_writable(tmp_path / "new" / "figures", tmp_path / "new" / "results")
    assert list(tmp_path.iterdir()) == []


def test_damaged_data_stops_the_script_with_one_line_and_writes_nothing(tiny_dir, tmp_path, lab):
    broken = tmp_path / "data"
    broken.mkdir()
    for path in tiny_dir.iterdir():
        (broken / path.name).write_bytes(path.read_bytes()[:50])
    code, _, err = run_program(script("01_base"), "--quick", "--data-dir", broken)
    assert code == 1 and err.count("\n") == 1 and "01_base: error:" in err and "damaged" in err
    assert not (lab / "runs").exists()


def test_divergence_stops_the_script_and_writes_nothing(tiny_dir, lab):
    code, _, err = run_program(script("05_lr01"), "--quick", "--lr", "1e8", "--data-dir", tiny_dir)
    assert code == 1 and "diverged" in err and "Traceback" not in err
    assert not list(lab.rglob("*.json"))


@pytest.mark.skipif(common.torch.cuda.is_available(), reason="this machine has CUDA")
def test_asking_for_a_missing_gpu_is_a_clear_error(tiny_dir, lab):
    code, _, err = run_program(script("01_base"), "--quick", "--device", "cuda", "--data-dir", tiny_dir)
    assert code == 1 and "no CUDA device is available" in err


def test_several_seeds_are_distinct_runs_in_one_results_file(tiny_dir, lab):
    code, _, err = run_program(script("01_base"), "--quick", "--seeds", "2", "--seed", "5", "--data-dir", tiny_dir)
    assert code == 0, err
    record = read(lab / "runs" / "01_base" / "quick,seeds=5-6")
    assert [r["seed"] for r in record["runs"]] == [5, 6]
    assert record["runs"][0]["history"]["train_loss"] != record["runs"][1]["history"]["train_loss"]


def old_outputs(folder):
    made = {folder / places.FIGURE: b"the old figure", folder / places.RESULTS: b"old results"}
    for path, content in made.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return made


def test_ctrl_c_after_the_figure_is_made_leaves_the_old_figure_and_results(tiny_dir, lab, monkeypatch):
    old = old_outputs(lab / "runs" / "01_base" / "quick,seed=0")

    def interrupted(record):  # the figure is drawn; the results are not yet
        raise KeyboardInterrupt
    monkeypatch.setattr(runs, "json_bytes", interrupted)
    code, _, err = run_program(script("01_base"), "--quick", "--data-dir", tiny_dir)
    assert code == 1 and err == "01_base: interrupted; nothing was written\n"
    assert all(path.read_bytes() == content for path, content in old.items())
    assert not list(lab.rglob(".*.tmp"))


def test_a_write_that_fails_midway_leaves_every_old_file_whole(tmp_path, monkeypatch):
    old = old_outputs(tmp_path)
    real_write_bytes, writes = files.Path.write_bytes, []

    def disk_full_on_the_second_file(path, content):
        writes.append(path)
        if len(writes) == 2:
            real_write_bytes(path, content[:10])
            raise OSError(28, "No space left on device")
        return real_write_bytes(path, content)
    monkeypatch.setattr(files.Path, "write_bytes", disk_full_on_the_second_file)
    with pytest.raises(OSError, match="No space"):
        files.write_together({path: b"new " * 100 for path in old})
    monkeypatch.undo()
    assert all(path.read_bytes() == content for path, content in old.items())
    assert not list(tmp_path.rglob(".*.tmp"))


def test_ctrl_c_while_the_files_move_into_place_waits_until_all_have(tmp_path, monkeypatch):
    # Ctrl-C must raise here whatever this process inherited: a background job's SIGINT is ignored.
    monkeypatch.setattr(signal, "getsignal", signal.getsignal)  # restores nothing; the next line is undone below
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        old = old_outputs(tmp_path)
        real_replace, moved = os.replace, []

        def replace_then_interrupt(source, target):
            real_replace(source, target)
            moved.append(target)
            if len(moved) == 1:
                signal.raise_signal(signal.SIGINT)
        monkeypatch.setattr(files.os, "replace", replace_then_interrupt)
        with pytest.raises(KeyboardInterrupt):
            files.write_together({path: b"new" for path in old})
        assert len(moved) == 2 and all(path.read_bytes() == b"new" for path in old)
    finally:
        signal.signal(signal.SIGINT, previous)


def test_the_inputs_flag_is_recorded_and_changes_the_run(tiny_dir, lab):
    for inputs in ("unit", "symmetric"):
        code, _, err = run_program(script("01_base"), "--quick", "--inputs", inputs, "--data-dir", tiny_dir)
        assert code == 0, err
    unit, symmetric = read(lab / "runs/01_base/quick,seed=0"), read(lab / "runs/01_base/inputs=symmetric,quick,seed=0")
    assert (unit["config"]["inputs"], symmetric["config"]["inputs"]) == ("unit", "symmetric")
    assert unit["runs"][0]["history"]["train_loss"] != symmetric["runs"][0]["history"]["train_loss"]


def test_data_mosaic(tiny_dir, lab):
    code, _, err = run_program("tools.show_data", "--data-dir", tiny_dir, "--out", lab)
    assert code == 0, err
    assert (lab / "figures" / "data.png").read_bytes().startswith(b"\x89PNG")


def test_a_script_as_a_whole_process_says_where_it_wrote_and_fails_with_one_line(tiny_dir, tmp_path):
    """The process boundary itself: a real `python 01_base.py`, its exit status, its last line."""
    done = subprocess.run([sys.executable, str(script("01_base")), "--quick", "--data-dir", str(tiny_dir), "--out",
                           str(tmp_path / "run")], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == (f"01_base: wrote {tmp_path / 'run'}/ (figure.png, results.json, "
                                                    f"seed=0.pt, tensorboard/)")
    done = subprocess.run([sys.executable, str(script("01_base")), "--dropout", "2"], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2 and done.stderr == ("01_base: error: --dropout (Config.dropout) must be at least 0 "
                                                    "and below 1; got 2.0\n")
