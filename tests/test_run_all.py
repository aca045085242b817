"""run_all.py, the parallel runner behind make all: same numbers whatever the workers, and nothing half-done."""
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT))
import run_all  # noqa: E402


def run(*command, timeout=600):
    return subprocess.run([sys.executable, *map(str, command)], capture_output=True, text=True, timeout=timeout)


def numbers(path):
    """What a results file says that must not depend on how the runs were scheduled (all but their seconds)."""
    record = json.loads(path.read_text())
    for run_ in record["runs"]:
        del run_["seconds"], run_["history"]["epoch_seconds"]
    return record


def test_the_same_numbers_alone_or_beside_others_whatever_the_workers(tiny_dir, tmp_path):
    flags = ["--seeds", "2", "--quick", "--data-dir", tiny_dir, "--device", "cpu"]
    alone = [run(ROOT / f"{name}.py", *flags, "--out", tmp_path / "alone") for name in ("01_base", "02_adam")]
    one = run(ROOT / "run_all.py", "01_base", "02_adam", *flags, "--jobs", "1", "--out", tmp_path / "one")
    four = run(ROOT / "run_all.py", "01_base", "02_adam", *flags, "--jobs", "4", "--out", tmp_path / "four")
    assert all(done.returncode == 0 for done in alone + [one, four]), [d.stderr for d in alone + [one, four]]
    for name in ("01_base", "02_adam"):
        path = f"results/{name}.json"
        assert numbers(tmp_path / "alone" / path) == numbers(tmp_path / "one" / path) == numbers(tmp_path / "four" / path)
        assert (tmp_path / "four" / "figures" / f"{name}.png").read_bytes().startswith(b"\x89PNG")
    progress = four.stdout.splitlines()
    assert [line.split("] ", 1)[1].split(":")[0] for line in progress if line.startswith("[")] == sorted(
        [f"{name} seed {seed}" for name in ("01_base", "02_adam") for seed in (0, 1)],
        key=[line.split("] ", 1)[1].split(":")[0] for line in progress if line.startswith("[")].index)
    assert len([line for line in progress if line.startswith("[")]) == 4
    assert sorted(os.listdir(tmp_path / "four" / "logs")) == sorted(
        f"{name}-seed{seed}.log" for name in ("01_base", "02_adam") for seed in (0, 1))


def test_a_failing_run_stops_the_rest_with_one_line_and_writes_nothing_of_its_experiment(tiny_dir, tmp_path):
    done = run(ROOT / "run_all.py", "05_lr01", "--lr", "1e8", "--quick", "--data-dir", tiny_dir, "--out", tmp_path)
    assert done.returncode == 1 and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    # Seeds 0-2 run two at a time and all diverge: whichever ends first is the one named.
    assert re.search(r"05_lr01 seed [012] failed: 05_lr01: error: training diverged", done.stderr)
    assert not list(tmp_path.rglob("*.json")) and not list(tmp_path.rglob("*.png"))


def test_an_unknown_experiment_is_refused(tmp_path):
    done = run(ROOT / "run_all.py", "09_nothing", "--out", tmp_path)
    assert done.returncode == 1 and "no experiment named 09_nothing" in done.stderr


def touch(path, when):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("made")
    os.utime(path, (when, when))


def test_an_experiment_is_out_of_date_when_an_output_is_missing_or_older_than_its_sources(tmp_path):
    newest_source = max((ROOT / f).stat().st_mtime for f in ("01_base.py", "common.py"))
    figure, results = tmp_path / "figures" / "01_base.png", tmp_path / "results" / "01_base.json"
    touch(figure, newest_source + 10)
    touch(results, newest_source + 10)
    assert not run_all.out_of_date("01_base", tmp_path)
    results.unlink()  # its figure still there: make all must still retrain it
    assert run_all.out_of_date("01_base", tmp_path)
    touch(results, newest_source - 10)
    assert run_all.out_of_date("01_base", tmp_path)


def test_merged_seeds_are_the_record_the_script_writes(tmp_path):
    records = [{"experiment": "x", "config": {"seed": seed}, "seeds": 1, "runs": [{"seed": seed}]} for seed in (4, 3)]
    assert run_all.merge(records) == {"experiment": "x", "config": {"seed": 3}, "seeds": 2,
                                      "runs": [{"seed": 3}, {"seed": 4}]}


def test_seeds_added_later_make_the_record_all_seeds_at_once_make(tiny_dir, tmp_path):
    flags = ("--quick", "--data-dir", str(tiny_dir), "--device", "cpu")
    at_once = run(ROOT / "01_base.py", "--seeds", "2", *flags, "--out", tmp_path / "at_once")
    assert at_once.returncode == 0, at_once.stderr
    out = tmp_path / "later"
    assert run_all.run([run_all.Run("01_base", 0, out, flags)], 1, tmp_path / "scratch0") is None
    first = json.loads((out / "results" / "01_base.json").read_text())
    assert run_all.run([run_all.Run("01_base", 1, out, flags)], 1, tmp_path / "scratch1",
                       earlier={("01_base", out): [first]}) is None
    assert numbers(out / "results" / "01_base.json") == numbers(tmp_path / "at_once" / "results" / "01_base.json")


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
    command = [sys.executable, ROOT / "run_all.py", "01_base", "--seeds", "2", "--epochs", "10000", "--quick",
               "--data-dir", tiny_dir, "--device", "cpu", "--out", tmp_path]
    parent = subprocess.Popen(list(map(str, command)), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
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
