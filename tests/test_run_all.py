"""tools/run_all.py, the parallel runner behind make all: same numbers whatever the workers, the longest runs first,
progress with the time to go, and nothing half-done. The first and the last tests start whole processes: the
process boundary (workers, signals) is what they test."""
import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT, run_program
from tools import places, run_all


def run(*command, timeout=300):
    return subprocess.run([sys.executable, *map(str, command)], capture_output=True, text=True, timeout=timeout,
                          cwd=ROOT)


def numbers(path):
    """What a results file says that must not depend on how the runs were scheduled (all but their seconds)."""
    record = json.loads(path.read_text())
    for run_ in record["runs"]:
        del run_["seconds"], run_["history"]["epoch_seconds"]
        run_.pop("weights", None)  # named only where they are kept: not by run_all --out
    return record


def test_the_same_numbers_alone_or_beside_others_whatever_the_workers(tiny_dir, tmp_path):
    """Three seeds of one experiment in one process, one after another; then as run_all's separate processes, two at
    once: the same numbers."""
    flags = ["--seeds", "3", "--quick", "--data-dir", tiny_dir, "--device", "cpu"]
    alone = run(ROOT / "02_adam.py", *flags, "--out", tmp_path / "alone")
    two = run("-m", "tools.run_all", "02_adam", *flags, "--jobs", "2", "--out", tmp_path / "two")
    assert alone.returncode == two.returncode == 0, (alone.stderr, two.stderr)
    assert numbers(tmp_path / "alone" / places.RESULTS) == numbers(tmp_path / "two" / "results" / "02_adam.json")
    assert (tmp_path / "two" / "figures" / "02_adam.png").read_bytes().startswith(b"\x89PNG")
    progress = [line for line in two.stdout.splitlines() if line.startswith("[")]
    assert len(progress) == 3 and progress[-1].startswith("[3/3 done, ")
    assert all(re.match(r"\[\d/3 done, \d+s, about (\d+s|\d+ min) to go\] ", line) for line in progress[:-1]), progress
    assert sorted(os.listdir(tmp_path / "two" / "logs")) == [f"02_adam-seed{seed}.log" for seed in (0, 1, 2)]


def test_the_longest_runs_start_first(monkeypatch):
    seconds = {"01_base": 10.0, "02_adam": 30.0, "09_new": 0.0}  # 09_new never ran: last
    monkeypatch.setattr(run_all, "expected_seconds", seconds.get)
    order = [(r.name, r.seed) for r in run_all.plan(["01_base", "02_adam", "09_new"], [0, 1], None, ())]
    assert order == [("02_adam", 0), ("02_adam", 1), ("01_base", 0), ("01_base", 1), ("09_new", 0), ("09_new", 1)]


def test_progress_says_runs_done_and_the_time_to_go(monkeypatch):
    monkeypatch.setattr(run_all, "expected_seconds", {"a": 100.0, "b": 0.0}.get)
    plan = [run_all.Run("a", 0), run_all.Run("a", 1), run_all.Run("b", 0), run_all.Run("b", 1)]
    now = time.monotonic()
    took = {plan[0]: 90.0}  # b never ran: guessed at what the runs here took on average
    line = run_all.progress(plan, took, waiting=[plan[3]], running={plan[1]: (None, None, None, now - 40),
                                                                   plan[2]: (None, None, None, now - 10)},
                            jobs=2, started=now - 95)
    # left: b's 90 waiting, a's 100 - 40, b's 90 - 10: 230 s on 2 workers
    assert line == "[1/4 done, 95s, about 2 min to go]"
    assert run_all.clock(80) == "80s" and run_all.clock(115) == "2 min" and run_all.clock(600) == "10 min" and run_all.clock(7260) == "2h01m"


def test_a_failing_run_stops_the_rest_with_one_line_and_writes_nothing_of_its_experiment(tiny_dir, tmp_path):
    code, _, err = run_program("tools.run_all", "05_lr01", "--lr", "1e8", "--quick", "--data-dir", tiny_dir, "--out",
                               tmp_path)
    assert code == 1 and err.count("\n") == 1 and "Traceback" not in err
    # Seeds 0-2 run two at a time and all diverge: whichever ends first is the one named.
    assert re.search(r"05_lr01 seed [012] failed: 05_lr01: error: training diverged", err)
    assert not list(tmp_path.rglob("*.json")) and not list(tmp_path.rglob("*.png"))


def test_an_unknown_experiment_is_refused(tmp_path):
    code, _, err = run_program("tools.run_all", "09_nothing", "--out", tmp_path)
    assert code == 1 and "no experiment named 09_nothing" in err


def touch(path, when):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("made")
    os.utime(path, (when, when))


def test_an_experiment_is_out_of_date_when_an_output_is_missing_or_older_than_its_sources(lab):
    newest_source = max((ROOT / f).stat().st_mtime for f in ("01_base.py", "common.py"))
    figure, results = places.lab_files("01_base")
    touch(figure, newest_source + 10)
    touch(results, newest_source + 10)
    assert not run_all.out_of_date("01_base", [0, 1, 2])
    assert run_all.out_of_date("01_base", [0])  # make all SEEDS=1: its own run's folder, not yet made
    results.unlink()  # its figure still there: make all must still retrain it
    assert run_all.out_of_date("01_base", [0, 1, 2])
    touch(results, newest_source - 10)
    assert run_all.out_of_date("01_base", [0, 1, 2])
    one_seed = lab / "runs" / "01_base" / "seed=0"
    touch(one_seed / places.FIGURE, newest_source + 10)
    touch(one_seed / places.RESULTS, newest_source + 10)
    assert not run_all.out_of_date("01_base", [0])


def test_merged_seeds_are_the_record_the_script_writes():
    records = [{"experiment": "x", "config": {"seed": seed}, "seeds": 1, "runs": [{"seed": seed}]} for seed in (4, 3)]
    assert run_all.merge(records) == {"experiment": "x", "config": {"seed": 3}, "seeds": 2,
                                      "runs": [{"seed": 3}, {"seed": 4}]}


def test_seeds_added_later_make_the_record_all_seeds_at_once_make(tiny_dir, tmp_path, lab):
    flags = ("--quick", "--data-dir", str(tiny_dir), "--device", "cpu")
    code, _, err = run_program(ROOT / "01_base.py", "--seeds", "2", *flags, "--out", tmp_path / "at_once")
    assert code == 0, err
    out = tmp_path / "later"
    assert run_all.run([run_all.Run("01_base", 0, out, flags)], 1, tmp_path / "scratch0") is None
    first = json.loads((out / "results" / "01_base.json").read_text())
    assert run_all.run([run_all.Run("01_base", 1, out, flags)], 1, tmp_path / "scratch1",
                       earlier={("01_base", out): [first]}) is None
    assert numbers(out / "results" / "01_base.json") == numbers(tmp_path / "at_once" / places.RESULTS)


def test_one_seed_of_the_lab_goes_to_its_run_s_folder_and_leaves_the_lab_s_files(tiny_dir, tmp_path, lab,
                                                                                monkeypatch):
    """make all SEEDS=1: each experiment's one-seed record in runs/NAME/seed=0/, figures/ and results/ untouched;
    the lab's own seeds (and the whole data set, here the tiny one) write there too."""
    monkeypatch.setattr(places, "FULL_DATA", dict(train_size=300, val_size=100))
    flags = ("--data-dir", str(tiny_dir), "--epochs", "1")
    assert run_all.run([run_all.Run("01_base", 0, None, flags)], 1, tmp_path / "scratch") is None
    assert (lab / "runs" / "01_base" / "epochs=1,seed=0" / places.RESULTS).is_file()
    assert not (lab / "results").exists() and not (lab / "figures").exists()


def stat_of(pid):
    """/proc/PID/stat's fields after the command's name (state, parent's pid, ...), or None once it is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def children_of(pid):
    return [int(path.name) for path in Path("/proc").iterdir()
            if path.name.isdigit() and (fields := stat_of(path.name)) and int(fields[1]) == pid]


def alive(pid):
    fields = stat_of(pid)
    return fields is not None and fields[0] != "Z"


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="finds the trainings through /proc")
def test_kill_stops_the_trainings_it_started_and_says_so(tiny_dir, tmp_path):
    command = [sys.executable, "-m", "tools.run_all", "01_base", "--seeds", "2", "--epochs", "10000", "--quick",
               "--data-dir", tiny_dir, "--device", "cpu", "--out", tmp_path]
    parent = subprocess.Popen(list(map(str, command)), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              cwd=ROOT)
    deadline = time.monotonic() + 60
    while len(trainings := children_of(parent.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    try:
        assert len(trainings) == 2
        parent.terminate()
        _, error = parent.communicate(timeout=60)
        assert not [pid for pid in trainings if alive(pid)]
        assert parent.returncode == 1 and "interrupted" in error and "Traceback" not in error
    finally:
        for pid in trainings:
            if alive(pid):
                os.kill(pid, 15)


def test_the_scripts_flags_keep_their_values_and_the_names_stay_names():
    """`run_all --epochs 3 01_base` once took 3 for an experiment's name ("no experiment named 3")."""
    parser = argparse.ArgumentParser()
    parser.add_argument("names", nargs="*")
    parser.add_argument("--seeds", type=int)
    parser.add_argument("--force", action="store_true")
    ours, theirs = run_all.split_flags(parser, ["--force", "--epochs", "3", "--hidden", "512", "256", "01_base",
                                                "--seeds", "1", "--lr=0.1", "--quick", "02_adam"])
    assert ours == ["--force", "01_base", "--seeds", "1", "02_adam"]
    assert theirs == ["--epochs", "3", "--hidden", "512", "256", "--lr=0.1", "--quick"]
