"""The search: its ranges checked before anything runs, workers sharing one study, the test set never read, and
what an interruption leaves."""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import replace

import optuna
import pytest

import common
from conftest import ROOT, run_program, write_dataset
from tools import places
from tools.files import UserError
from tools.search import cli, followups, report as search_report, space, steps, study as studies


@pytest.fixture
def searches(tmp_path, monkeypatch):
    """Studies of the test's own: a student's under its own runs/searches/ (which it returns), the lab's in a folder
    that stands for tools/searches/, and no server a user's SEARCH_STORAGE names."""
    monkeypatch.setattr(studies, "FOLDER", tmp_path / "lab-searches")
    monkeypatch.setattr(places, "RUNS", tmp_path / "runs")
    monkeypatch.delenv("SEARCH_STORAGE", raising=False)
    return tmp_path / "runs" / "searches"


@pytest.fixture(scope="module")
def no_test_set(tmp_path_factory):
    """The tiny data with its test-set files replaced by junk: a search that reads them fails."""
    folder = write_dataset(tmp_path_factory.mktemp("no-test-set"))
    for path in folder.glob("t10k-*"):
        path.write_bytes(b"not to be read")
    return folder


@pytest.mark.parametrize("ranges, message", [
    (("make_optimizer=sgd,adamw", "adamw.weight_decay=-1:0.1"),
     "--range adamw.weight_decay=-1:0.1: adamw refuses weight_decay=-1 (Invalid weight_decay value: -1.0); give a "
     "range it takes"),
    (("loss=smoothed", "smoothed.label_smoothing=0:3"),
     "--range smoothed.label_smoothing=0:3: smoothed refuses label_smoothing=3 (label_smoothing must be between 0.0 "
     "and 1.0. Got: 3); give a range it takes"),
    (("optimizer=sgd", "make_optimizer=adamw"),
     "--range optimizer and --range make_optimizer both choose the optimizer; search one of them "
     "(make_optimizer=sgd,adam,... chooses among pieces that include the lesson's two)"),
])
def test_a_piece_s_range_it_would_refuse_is_one_line_before_anything_runs(ranges, message, searches):
    code, out, err = run_program("tools.search.cli", *[item for r in ranges for item in ("--range", r)])
    assert (code, err) == (2, f"search: error: {message}\n")
    assert not searches.exists()


@pytest.mark.parametrize("text, message", [
    ("lr=0.1:0.001", "--range lr=0.1:0.001: its low end 0.1 is above its high end 0.001"),
    ("learning_rate=1e-4:1", "--range learning_rate=1e-4:1: Config has no field 'learning_rate' to search; it has "
                             "optimizer, lr, batch_size, hidden, dropout, inputs, and the pieces make_model, "
                             "make_optimizer, make_schedule, loss, step"),
    ("dropout=0:1.5", "--range dropout=0:1.5: --dropout (Config.dropout) must be at least 0 and below 1; got 1.5"),
    ("optimizer=sgd,rmsprop", "--range optimizer=sgd,rmsprop: --optimizer (Config.optimizer) must be one of sgd, "
                              "adam; got 'rmsprop'"),
    ("lr=0:0.1:log", "--range lr=0:0.1:log: --lr (Config.lr) must be a positive number; got 0.0"),
    ("batch_size=a,b", "--range batch_size=a,b: 'a' is not a value of --batch-size"),
    ("seed=0:9", "--range seed=0:9: Config has no field 'seed' to search; it has optimizer, lr, batch_size, hidden, "
                 "dropout, inputs, and the pieces make_model, make_optimizer, make_schedule, loss, step"),
    ("loss=cross_entropy,focal", "--range loss=cross_entropy,focal: no function 'focal' in the script, in "
                                 "tools/search/pieces.py (sgd, nesterov, adam, adamw, cosine, warmup_cosine, smoothed, "
                                 "augmented) or in common.py"),
    ("adamw.momentum=0:1", "--range adamw.momentum=0:1: adamw has no keyword 'momentum' with a number as its default"),
    ("smoothed.label_smoothing=0:x", "--range smoothed.label_smoothing=0:x: 'x' is not a number like smoothed's "
                                     "label_smoothing"),
    ("adamw.weight_decay=1e-5:0.1:log", "--range adamw.weight_decay=1e-5:0.1:log: adamw is not among any piece's "
                                        "choices; add it, as in --range make_optimizer=sgd,adamw"),
])
def test_a_bad_range_is_one_line_before_anything_runs(text, message, searches):
    code, out, err = run_program("tools.search.cli", "--range", text)
    assert (code, err) == (2, f"search: error: {message}\n")
    assert not searches.exists()


def test_ranges_are_read_as_config_s_fields():
    assert space.parse_range("lr=1e-4:0.3:log", common.Config()) == space.Range("lr", 1e-4, 0.3, True,
                                                                                    text="lr=1e-4:0.3:log")
    assert space.parse_range("batch_size=16,32", common.Config()).choices == (16, 32)
    assert space.parse_range("hidden=128x64,512", common.Config()).choices == ((128, 64), (512,))
    hidden = space.parse_range("hidden=1:3x32:1024", common.Config())
    assert (hidden.layers, hidden.low, hidden.high, hidden.log) == ((1, 3), 32, 1024, True)
    assert space.changes_of({"layers": 2, "width1": 300, "width2": 40, "lr": 0.1}) == {"lr": 0.1, "hidden": (300, 40)}


def test_pieces_are_chosen_by_name_and_a_keyword_only_where_its_function_is_chosen():
    ranges = ("make_optimizer=sgd,adamw", "adamw.weight_decay=1e-4:0.1:log", "loss=smoothed",
              "smoothed.label_smoothing=0:0.2", "make_schedule=no_schedule,cosine", "lr=1e-3:0.1:log")
    searched = space.checked_space(tuple(space.parse_range(text, common.Config()) for text in ranges))
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    seen = set()
    for _ in range(12):
        trial = study.ask()
        params = space.sample(searched, trial)
        study.tell(trial, 0.0)
        made = space.pieces_of(params, {})
        seen.add(params["make_optimizer"])
        assert ("adamw.weight_decay" in params) == (params["make_optimizer"] == "adamw")
        if params["make_optimizer"] == "adamw":
            optimizer = made["make_optimizer"](common.make_model(common.Config()).parameters(), common.Config(lr=0.01))
            assert optimizer.defaults["weight_decay"] == params["adamw.weight_decay"]
        assert made["loss"].keywords == {"label_smoothing": params["smoothed.label_smoothing"]}
        assert made["make_schedule"] is vars(common).get(params["make_schedule"]) or \
            made["make_schedule"].__module__ == "tools.search.pieces"
        assert space.changes_of(params) == {"lr": params["lr"]}
        words = space.settings(trial.params)
        assert params["make_optimizer"] in words and "label smoothing" in words
    assert seen == {"sgd", "adamw"}


def test_a_new_study_of_the_default_space_starts_from_the_report_s_experiments(searches):
    setup = studies.configure(cli.parser().parse_args(["--study", "fresh"]))
    waiting = studies.open_study(setup, create=True).trials
    assert [t.user_attrs["report"] for t in waiting] == list(space.REPORT_TRIALS)
    assert all(t.state.name == "WAITING" for t in waiting)
    fixed = [t.system_attrs["fixed_params"] for t in waiting]
    assert fixed[5] == {"optimizer": "adam", "lr": 0.1, "batch_size": 32, "layers": 2, "width1": 512, "width2": 256,
                        "dropout": 0.2}  # 07_final_adam, the report's collapse
    assert all(1e-4 <= f["lr"] <= 0.3 and f["batch_size"] in (16, 32, 64, 128, 256) and 0 <= f["dropout"] <= 0.5
               for f in fixed)  # each inside the default space


def test_the_pieces_study_starts_from_the_report_and_the_first_study_s_best_with_hyperband_to_30_epochs(searches):
    setup = studies.configure(cli.parser().parse_args(["--study", "pieces"]))
    assert (setup.epochs, setup.pruner, setup.is_the_labs) == (30, "hyperband", True)
    study = studies.open_study(setup, create=True)
    assert isinstance(study.pruner, optuna.pruners.HyperbandPruner)
    waiting = study.trials
    assert [t.user_attrs["report"] for t in waiting] == [*space.REPORT_TRIALS, "09_searched"]
    for t in waiting:  # each a point of the pieces' space, its smoothing 0: plain cross-entropy
        params = t.system_attrs["fixed_params"]
        assert params["smoothed.label_smoothing"] == 0 and params["make_schedule"] == "no_schedule"
        for r in setup.space:
            if r.field in params and r.choices:
                assert params[r.field] in r.choices, r.field
            elif r.field in params:
                assert r.low <= params[r.field] <= r.high, r.field
    assert studies.open_study(setup).user_attrs["pruner"] == "hyperband"
    with pytest.raises(UserError, match=r"made with pruner hyperband \(asked: median\)"):
        studies.open_study(replace(setup, pruner="median"))


def study_of(folder, name):
    import optuna
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(folder / name /
                                                                                            "study.journal")))
    return optuna.load_study(study_name=name, storage=storage)


def test_two_workers_share_one_study_and_never_read_the_test_set(searches, no_test_set, capfd):
    code, out, err = run_program("tools.search.cli", "--trials", 6, "--epochs", 60, "--workers", 2, "--study", "s",
                                 "--data-dir", no_test_set)
    assert code == 0, err
    # a trial asked for in the instant the study filled is given back, marked: the search's only extra trial
    trials = [t for t in study_of(searches, "s").trials if not t.user_attrs.get("surplus")
              and t.state.name != "WAITING"]  # the report's 08, enqueued (as 7 trials are) and not needed
    assert len({t.number for t in trials}) == 6 and all(t.state.name in ("COMPLETE", "PRUNED") for t in trials)
    assert len({t.user_attrs["worker"] for t in trials}) == 2
    lines = (searches / "s" / search_report.TRIALS).read_text().splitlines()
    assert [json.loads(line)["number"] for line in lines] == sorted(t.number for t in trials)
    workers_said = capfd.readouterr().out  # the workers are processes: they write to the file descriptor
    assert sum(line.startswith("trial ") for line in workers_said.splitlines()) == 6
    code, out, err = run_program("tools.search.cli", "--trials", 6, "--epochs", 60, "--study", "s", "--data-dir",
                                 no_test_set)
    assert code == 0 and "6 finished, 0 failed; 0 to go" in out
    assert len([t for t in study_of(searches, "s").trials if t.state.name in ("COMPLETE", "PRUNED")]) == 6
    check = ("--report", "--check", "--study", "s")
    assert run_program("tools.search.cli", *check)[0] == 0
    document = searches / "s" / search_report.DOCUMENT
    document.write_text(document.read_text() + "A number typed by hand: 0.99\n")
    code, _, err = run_program("tools.search.cli", *check)
    assert code == 1 and "SEARCH.md is not what their data make; run python -m tools.search --report" in err


def test_another_space_under_the_same_name_and_a_damaged_file_are_one_line(searches, tiny_dir):
    code, _, err = run_program("tools.search.cli", "--trials", 1, "--epochs", 1, "--workers", 1, "--study", "s",
                               "--range", "lr=0.01:0.1", "--data-dir", tiny_dir)
    assert code == 0, err
    code, _, err = run_program("tools.search.cli", "--trials", 2, "--epochs", 1, "--study", "s", "--range", "lr=0.01:0.2")
    assert code == 1 and err.count("\n") == 1
    assert "was made with space ['lr=0.01:0.1'] (asked: ['lr=0.01:0.2'])" in err
    journal = searches / "s" / "study.journal"
    damaged = journal.read_bytes().replace(b'"op_code"', b'"op_c\x00de', 1)
    journal.write_bytes(damaged)
    code, _, err = run_program("tools.search.cli", "--trials", 2, "--epochs", 1, "--study", "s", "--range", "lr=0.01:0.1")
    assert code == 1 and err.count("\n") == 1 and "study.journal is damaged (line 1 is not a journal entry)" in err
    assert journal.read_bytes() == damaged  # refused before anything was written to it


LONG_TRIALS = ("--epochs", "100", "--range", "lr=0.01:0.02")  # long enough to be caught mid-trial on the tiny data


def wait_for_running(study, timeout=60):
    """The first trial seen running (with its worker's host:pid), two epochs into its training; `study` gives the
    study as it is now, or None."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = study()
        for t in now.trials if now else ():
            if t.state.name == "RUNNING" and "worker" in t.user_attrs and t.user_attrs.get("epochs", 0) >= 2:
                return t
        time.sleep(0.2)
    pytest.fail("no trial started running")


def file_study(folder, name):
    return lambda: study_of(folder, name) if (folder / name / "study.journal").is_file() else None


def search_process(study, trials, data, folder, workers=1, extra=(), env=None):
    """`python -m tools.search` as a process of its own session (its own process group, as a terminal's job),
    its studies in `folder`."""
    env = dict(env or os.environ, PYTHONPATH=str(ROOT))
    argv = ["search", "--trials", str(trials), "--workers", str(workers), "--study", study, "--data-dir", str(data),
            *LONG_TRIALS, *extra]
    # Ctrl-C as from a terminal, even where the test runner was started with SIGINT ignored (make test &)
    code = (f"import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
            f"from pathlib import Path; from tools import places; from tools.search import cli; "
            f"places.RUNS = Path({str(folder.parent)!r}); "
            f"sys.argv = {argv!r}; cli.main()")
    return subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def test_a_killed_worker_then_a_killed_command_leave_their_trials_failed_and_the_same_command_goes_on(searches,
                                                                                                    tiny_dir):
    """A worker killed mid-trial: its command fails that trial and starts another worker. Then the whole command
    killed mid-trial (SIGKILL of its group: a crash of every process): the next command fails what was left
    running, and finishes the rest. Each finished trial is counted once."""
    process = search_process("k", 3, tiny_dir, searches)
    first = wait_for_running(file_study(searches, "k"))
    os.kill(int(first.user_attrs["worker"].rsplit(":", 1)[1]), signal.SIGKILL)
    second = wait_for_running(lambda: (lambda study: study if any(
        t.state.name == "RUNNING" and t.number != first.number for t in study.trials) else None)(
        study_of(searches, "k")))
    assert second.number != first.number
    os.killpg(process.pid, signal.SIGKILL)
    out, _ = process.communicate(timeout=60)
    assert f"its trial {first.number} is FAILED; a new worker takes its place" in out
    again = search_process("k", 3, tiny_dir, searches)
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    assert f"trials {second.number} were left running by a command that is gone" in out
    states = {t.number: t.state.name for t in study_of(searches, "k").trials}
    assert states[first.number] == states[second.number] == "FAIL"
    assert sorted(state for n, state in states.items() if n not in (first.number, second.number)) == ["COMPLETE"] * 3


def test_ctrl_c_ends_the_running_trial_failed_and_says_the_same_command_goes_on(searches, tiny_dir):
    """Ctrl-C reaches every process of the terminal's group."""
    process = search_process("c", 2, tiny_dir, searches)
    running = wait_for_running(file_study(searches, "c"))
    os.killpg(process.pid, signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 1 and "the same command goes on from here" in err + out
    states = {t.number: t.state.name for t in study_of(searches, "c").trials}
    assert states[running.number] == "FAIL" and "RUNNING" not in states.values()


def test_the_best_setting_becomes_an_experiment_of_the_lab_s_form(searches, tiny_dir, lab, monkeypatch):
    shutil.copy(ROOT / "01_base.py", lab / "01_base.py")
    code, _, err = run_program("tools.search.cli", "--trials", 3, "--epochs", 1, "--workers", 1, "--study", "01_base",
                               "--range", "lr=0.01:0.1:log", "--range", "batch_size=16,32", "--data-dir", tiny_dir)
    assert code == 0, err
    setup = studies.as_made(studies.configure(cli.parser().parse_args(["--study", "01_base"])))  # as --final
    study = studies.open_study(setup)
    text = followups.script_text(setup, study)
    best = space.changes_of(study.best_trial.params)
    lr = float(f"{best['lr']:.3g}")
    assert f"common.main(__file__, lr={lr!r}, batch_size={best['batch_size']!r})" in text
    namespace = {}
    exec(compile(text, "09_searched.py", "exec"), namespace)  # it is Python, and its docstring says what it found
    assert "held-out accuracy" in namespace["__doc__"]


SHORT = '''"""A student's shorter base: lr 0.01, 5 epochs."""
import common

if __name__ == "__main__":
    common.main(__file__, epochs=5, lr=0.01, threads=2)
'''


def test_a_student_s_search_of_a_script_that_sets_what_the_search_fixes_is_the_student_s(searches, tiny_dir, lab,
                                                                                           monkeypatch):
    """A script may set epochs, threads, device or validation itself: the trials fix them over the script's own (they
    once met them twice: "got multiple values for keyword argument 'epochs'"), and --final and --ablation build on
    the same reading of the script. A study that is not the lab's lives under runs/, reports only its own runs, and
    its --final writes a new script named after it, trained into the study's folder: the lab is left as it was."""
    (lab / "09_short.py").write_text(SHORT)
    monkeypatch.setenv("FASHION_MNIST_DIR", str(tiny_dir))  # for the trainings --final and --ablation start
    monkeypatch.setattr(places, "LAB_SEEDS", (0,))  # --final's seeds: one is enough to show it trains
    lab_script = (lab / "09_searched.py").read_bytes()
    study = ("--experiment", "09_short", "--study", "prueba")
    code, out, err = run_program("tools.search.cli", *study, "--trials", 1, "--epochs", 1, "--workers", 1, "--range",
                                 "lr=1e-3:1e-1:log")
    assert code == 0, err
    [trial] = study_of(searches, "prueba").trials
    assert trial.state.name == "COMPLETE" and trial.user_attrs["epochs"] == 1
    assert not studies.FOLDER.exists()  # nothing under the lab's tools/searches/
    code, out, err = run_program("tools.search.cli", *study, "--final")
    assert code == 0, err
    written = (lab / "09_prueba_searched.py").read_text()
    assert "epochs=5" in written and "threads=2" in written and "here trained as every experiment is: 5 epochs" in written
    assert (lab / "09_searched.py").read_bytes() == lab_script and not (lab / "results").exists()
    final = json.loads((searches / "prueba" / "final" / "results" / "09_prueba_searched.json").read_text())
    assert [len(run["history"]["val_acc"]) for run in final["runs"]] == [5]
    code, out, err = run_program("tools.search.cli", *study, "--ablation")
    assert code == 0, err
    ablated = {path.parent.parent.name for path in (searches / "prueba" / "ablation").glob("*/results/*.json")}
    assert ablated == {"best", "lr"}  # lr was the one knob: putting all back is putting it back
    document = (searches / "prueba" / search_report.DOCUMENT).read_text()
    assert "| lr back to 0.01 |" in document and "`09_prueba_searched.py`" in document
    assert "08_final_sgd" not in document and "09_searched" not in document  # its own runs, no committed result


def test_the_dashboard_serves_the_committed_study_from_a_copy_and_stops(tmp_path):
    """make dashboard: optuna-dashboard on a free loopback port finds the lab's study and all its trials through its
    API, and the committed journal is the same bytes after (it serves a copy)."""
    import optuna
    import urllib.request
    journal = ROOT / "tools" / "searches" / "01_base" / "study.journal"
    before = journal.read_bytes()
    trials = len(optuna.load_study(study_name="01_base", storage=optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(journal)))).trials)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen([sys.executable, "-m", "tools.search", "--dashboard", "--port", str(port)], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline, studies = time.monotonic() + 60, None
        while studies is None and time.monotonic() < deadline and process.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/studies", timeout=5) as answer:
                    studies = json.load(answer)["study_summaries"]
            except OSError:
                time.sleep(0.3)
        assert studies is not None, process.stdout.read() if process.poll() is not None else "no answer"
        [study] = studies
        assert study["study_name"] == "01_base"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/studies/{study['study_id']}", timeout=10) as answer:
            detail = json.load(answer)
        assert len(detail["trials"]) == trials and detail["objective_names"] == ["held-out accuracy"]
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert journal.read_bytes() == before


def test_a_study_on_a_server_is_never_the_lab_s_own_whatever_its_name(searches, monkeypatch):
    """The README's shared search keeps the default name, 01_base: its report must not rewrite the lab's committed
    tools/searches/01_base/ from the server's trials."""
    lab_s = studies.configure(cli.parser().parse_args([]))
    assert lab_s.is_the_labs and lab_s.folder == studies.FOLDER / "01_base"
    shared = studies.configure(cli.parser().parse_args(["--storage", "postgresql://lab@localhost:5432/lab"]))
    assert not shared.is_the_labs and shared.folder == searches / "01_base"
    monkeypatch.setenv("SEARCH_STORAGE", "postgresql://lab@localhost:5432/lab")
    assert not studies.configure(cli.parser().parse_args([])).is_the_labs


def test_a_search_of_pieces_walks_its_path_step_by_step_and_writes_its_best_with_the_pieces_in_it(searches, tiny_dir,
                                                                                                lab, monkeypatch):
    """Pieces chosen by the search end in the final script written out, with their searched keywords set; the path
    forwards reaches the best setting one change at a time, each step keeping the change that gains most, and each of
    its settings is trained as a trial is: the best trial's own settings give its very value again."""
    monkeypatch.setenv("FASHION_MNIST_DIR", str(tiny_dir))
    monkeypatch.setattr(places, "LAB_SEEDS", (0,))
    study = ("--study", "prueba", "--workers", 1)
    code, _, err = run_program("tools.search.cli", *study, "--trials", 3, "--epochs", 2, "--pruner", "hyperband",
                               "--range", "make_optimizer=adamw", "--range", "adamw.weight_decay=1e-4:0.1:log",
                               "--range", "lr=0.003:0.03:log", "--range", "step=augmented")
    assert code == 0, err
    setup = studies.as_made(studies.configure(cli.parser().parse_args(["--study", "prueba"])))
    found = studies.open_study(setup)
    (setup.folder / steps.FOLDER).mkdir()  # as --steps leaves it when stopped before its first setting trained
    assert "Not trained yet: " in search_report.document(setup, found, search_report.rows(found))
    cli.main([*map(str, study), "--steps"])
    best = dict(found.best_trial.params)
    path, back, needed = steps.walk(setup, found, steps.results(setup, found))
    assert not needed and [p["kept"] for p in path][1:] and path[-1]["params"] == best
    assert {p["kept"] for p in path[1:]} == {"make_optimizer", "lr", "step"} == set(back)
    for before, step in zip(path, path[1:]):  # each step kept what gained most among what it tried
        assert step["value"] == max(step["tried"].values())
        assert set(step["tried"]) == {k for k in ("make_optimizer", "lr", "step")} - {
            p["kept"] for p in path[1:path.index(step)]}
    assert steps.trained(setup, best)["value"] == found.best_value  # as a trial trains
    cli.main([*map(str, study), "--final"])
    written = (lab / "01_prueba_searched.py").read_text()
    decay = float(f"{best['adamw.weight_decay']:.3g}")
    assert f"def adamw(parameters, config, weight_decay={decay!r}):" in written and "def augmented(" in written
    assert "make_optimizer=adamw" in written and "step=augmented" in written
    final = json.loads((searches / "prueba" / "final" / "results" / "01_prueba_searched.json").read_text())
    assert final["optimizer"].startswith("AdamW") and "Augmented" in final["step"]
    document = (searches / "prueba" / search_report.DOCUMENT).read_text()
    assert "## Forwards, step by step (paso a paso)" in document and "## Backwards" in document
    for k, v in back.items():  # each change taken back, against the best trial's own score
        assert f"| {v:.4f} | {v - found.best_value:+.4f} |" in document
    assert (searches / "prueba" / "path.png").is_file()
