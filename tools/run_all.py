"""What `make all` runs: every experiment (each NN_*.py at the root) whose figure or results are missing or
older than its script or common.py, with every core busy: each (experiment, seed) is a process of its own at
one thread, the longest first. An experiment's record is written when all its seeds are done, to the same
place, with the same numbers, as `python NN_name.py --seeds N` writes it, whatever the number of workers.

    python -m tools.run_all [--seeds 3] [--jobs N] [--force] [NAME ...]     (or: make all [SEEDS=N] [JOBS=N])

Flags it does not know (--epochs 5, --device cpu, --data-dir ...) go to every script. Each run's own output goes
to runs/logs/NAME-seedS.log; here, one line as each run ends, with the runs left and the time to go.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

import common
from tools import board, places, records, runs as folders, words
from tools.config import positive, refuse_the_labs_folders
from tools.files import UserError, check_writable, one_line_errors, png_bytes, write_together


LESSON = Path(common.__file__).resolve()


def main():
    parser = argparse.ArgumentParser(prog="python -m tools.run_all", description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="experiments to run (default: every one that is out of date)")
    parser.add_argument("--seeds", type=positive(int), default=len(places.LAB_SEEDS))
    parser.add_argument("--seed", type=int, default=0, help="the first seed")
    parser.add_argument("--jobs", type=positive(int), default=cores(),
                        help="trainings at once (default: one per core)")
    parser.add_argument("--force", action="store_true", help="run them even if up to date")
    parser.add_argument("--out", type=Path, help="write each experiment as OUT/figures/NAME.png and "
                        "OUT/results/NAME.json instead of in its run's folder (and the lab's)")
    parser.add_argument("--mine", action="store_true", help="your own experiments (every NN_*.py that is not one of "
                        "the lab's), each --quick at one seed, each run whatever becomes of the others (make mine)")
    parser.add_argument("--lang", help=words.FLAG_HELP + "; the lab's own figures/ stay English")
    ours, script_flags = split_flags(parser, sys.argv[1:])
    args = parser.parse_args(ours)
    names_here = places.experiment_names()
    with one_line_errors("run_all", interrupted="the experiments finished before were written"), \
            words.speaking(args.lang):
        refuse_the_labs_folders(args.out)
        unknown = sorted(set(args.names) - set(names_here))
        if unknown:
            raise UserError(f"no experiment named {', '.join(unknown)}; there are {', '.join(names_here)}")
        run_names(args, names_here, script_flags)


def run_names(args, names_here: list[str], script_flags: list[str]) -> None:
    if args.mine:
        args.names = [name for name in names_here if name not in places.LAB_EXPERIMENTS]
        if not args.names:
            print("run_all: no experiment of your own yet: copy a script to 10_something.py")
            return
        args.seeds, script_flags = 1, ["--quick", *script_flags]
    seeds = list(range(args.seed, args.seed + args.seeds))
    chosen = args.force or args.names or script_flags  # what was asked for by name or flag is run, not judged
    names = [name for name in args.names or names_here if chosen or out_of_date(name, seeds, args.out)]
    if not names:
        print("run_all: every experiment's figure and results are up to date")
        return
    logs = (args.out or places.RUNS) / "logs"
    check_writable(logs, *([args.out / "figures", args.out / "results"] if args.out else []))
    runs = plan(names, seeds, args.out, tuple(script_flags))
    print(f"run_all: {len(runs)} runs ({', '.join(names)}; seeds {seeds[0]}-{seeds[-1]}) on {args.jobs} "
          f"workers; each run's output in {places.shown_path(logs)}", flush=True)
    with tempfile.TemporaryDirectory(prefix="run_all-") as scratch:
        failed = run(runs, args.jobs, Path(scratch), keep_going=args.mine)
    if failed:
        sys.exit(f"run_all: {failed}")


NAME = re.compile(r"\d\d_\w+")


def split_flags(parser: argparse.ArgumentParser, argv: list[str]) -> tuple[list[str], list[str]]:
    """run_all's own flags and the experiments' names, and the flags it passes on to every script, each with its
    values: `--epochs 5 01_base` passes on `--epochs 5` (argparse alone would take 5 for an experiment's name)."""
    ours, theirs, i = [], [], 0
    while i < len(argv):
        token = argv[i]
        action = parser._option_string_actions.get(token.split("=")[0])
        taken = 1 + (action is not None and action.nargs != 0 and "=" not in token)
        if action is None and token.startswith("-"):
            taken = 1
            while "=" not in token and i + taken < len(argv) and not argv[i + taken].startswith("-") \
                    and not NAME.fullmatch(argv[i + taken]):
                taken += 1  # the script's flag's values (--hidden 512 256)
            theirs += argv[i:i + taken]
        else:
            ours += argv[i:i + taken]
        i += taken
    return ours, theirs


def cores() -> int:
    """The cores this process may use (fewer than the machine's under a container's or taskset's limit)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def out_of_date(name: str, seeds: list[int], out: Path | None = None) -> bool:
    """Whether the files the script's own settings at `seeds` make are missing or older than its sources."""
    made = folders.own_files(name, seeds, out)
    if not all(path.is_file() for path in made):
        return True
    sources = [places.script(name), LESSON]
    return min(path.stat().st_mtime for path in made) < max(path.stat().st_mtime for path in sources)


def plan(names: list[str], seeds: list[int], out: Path | None, flags: tuple) -> list["Run"]:
    """Every (experiment, seed), the longest first, so that no worker is left with a long run at the end."""
    return sorted((Run(name, seed, out, flags) for name in names for seed in seeds),
                  key=lambda r: -expected_seconds(r.name))


def expected_seconds(name: str) -> float:
    """A run's seconds last time, so that the longest start first and no worker is left with a long tail."""
    try:
        return records.mean_seconds(json.loads(places.lab_files(name)[1].read_text()))
    except (OSError, ValueError, KeyError, TypeError, statistics.StatisticsError):
        return 0.0


class Run(NamedTuple):
    """One training: an experiment's script at one seed, with its flags. Its experiment's record goes to its run's
    folder (and the lab's, if it is the lab's record), or with `out` to out/figures and out/results."""
    name: str
    seed: int
    out: Path | None = None
    flags: tuple = ()
    tag: str = ""  # said before its name in the progress lines, where several runs share a name

    def __str__(self):
        return f"{self.tag}{self.name} seed {self.seed}"


def run(runs: list[Run], jobs: int, scratch: Path, earlier: dict | None = None, keep_going: bool = False) -> str | None:
    """Run `jobs` at a time, in the order given; write each experiment once all its seeds are done, merged with
    `earlier`'s single-seed records of it ({(name, out): [record, ...]}), if any. On a failure or Ctrl-C, stop the
    others and say so; experiments finished by then stay written."""
    waiting, running = list(runs), {}
    finished = {key: list(records) for key, records in (earlier or {}).items()}
    seeds_of = {(r.name, r.out): len(finished.get((r.name, r.out), ()))
                + sum(1 for o in runs if (o.name, o.out) == (r.name, r.out)) for r in runs}
    started, took, weights, boards, failures = time.monotonic(), {}, {}, {}, []
    # kill's SIGTERM, like Ctrl-C, must stop the trainings started here rather than leave them running on.
    on_sigterm = signal.signal(signal.SIGTERM, stopped)
    try:
        while waiting or running:
            while waiting and len(running) < jobs:
                r = waiting.pop(0)
                folder = scratch / str(len(waiting))
                logs = (r.out or places.RUNS) / "logs"
                logs.mkdir(parents=True, exist_ok=True)
                log = open(logs / f"{r.tag.strip() + '-' if r.tag else ''}{r.name}-seed{r.seed}.log", "w")
                command = [sys.executable, str(places.script(r.name)), "--seed", str(r.seed), "--seeds", "1",
                           "--out", str(folder), *r.flags]
                running[r] = (subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=training_env()), log,
                              folder, time.monotonic())
            time.sleep(0.05)
            for r, (process, log, folder, since) in list(running.items()):
                if process.poll() is None:
                    continue
                del running[r]
                log.close()
                if process.returncode != 0:
                    last = Path(log.name).read_text().strip().splitlines() or ["(no output)"]
                    said = f"{r} failed: {last[-1]} (whole output: {places.shown_path(Path(log.name))})"
                    if not keep_going:
                        return said
                    failures.append(r)
                    print(f"run_all: {said}", flush=True)
                    continue
                took[r] = time.monotonic() - since
                record = json.loads((folder / places.RESULTS).read_text())
                kept = folder / records.weights_file(r.seed)
                if kept.is_file():
                    weights.setdefault((r.name, r.out), {})[r.seed] = kept.read_bytes()
                events = folder / board.FOLDER / f"seed={r.seed}"
                if events.is_dir():
                    boards.setdefault((r.name, r.out), {})[r.seed] = events
                experiment = finished.setdefault((r.name, r.out), [])
                experiment.append(record)
                print(f"{progress(runs, took, waiting, running, jobs, started)} {r}: "
                      f"{records.summary(record['runs'][0])}", flush=True)
                if len(experiment) == seeds_of[(r.name, r.out)]:
                    key = (r.name, r.out)
                    said = write(merge(experiment), r.out, weights.pop(key, {}), boards.pop(key, {}))
                    print(f"{r.tag}{r.name}: wrote {said}", flush=True)
        return f"{len(failures)} of {len(runs)} runs failed: {', '.join(map(str, failures))}" if failures else None
    except KeyboardInterrupt:
        return ("interrupted; the experiments finished before were written, no other: "
                + (", ".join(name for (name, out), records in finished.items() if len(records) == seeds_of.get((name, out)))
                   or "none"))
    finally:
        signal.signal(signal.SIGTERM, on_sigterm)
        for process, *_ in running.values():
            process.terminate()  # not SIGINT: a script started in the background ignores it
        for process, log, *_ in running.values():
            process.wait()
            log.close()


def training_env() -> dict:
    """This process's environment, with the lesson it imported first on the path: each training imports the very
    common.py and tools/ that started it, wherever its script is."""
    return dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(LESSON.parent), os.environ.get("PYTHONPATH")])))


def progress(runs: list[Run], took: dict, waiting: list[Run], running: dict, jobs: int, started: float) -> str:
    """[done/all, elapsed, about T to go]: the runs left, each expected to take what it took last time (or, never
    run, what the runs here have taken on average), shared among the workers."""
    mean = statistics.mean(took.values())
    # The lab's own seconds fit only a run of the script's own settings (not --quick, not a calibration cell).
    guess = lambda r: (not r.flags and r.out is None and expected_seconds(r.name)) or mean  # noqa: E731
    now = time.monotonic()
    left = sum(map(guess, waiting)) + sum(max(0.0, guess(r) - (now - since)) for r, (*_, since) in running.items())
    return (f"[{len(took)}/{len(runs)} done, {now - started:.0f}s, about {clock(left / jobs)} to go]"
            if waiting or running else f"[{len(took)}/{len(runs)} done, {now - started:.0f}s]")


def clock(seconds: float) -> str:
    minutes = round(seconds / 60)
    return f"{round(seconds)}s" if seconds < 90 else f"{minutes // 60}h{minutes % 60:02d}m" if minutes >= 60 else \
        f"{minutes} min"


def write(record: dict, out: Path | None, weights: dict[int, bytes], boards: dict[int, Path] | None = None) -> str:
    """The experiment's record and figure, and its seeds' weights and TensorBoard events when it goes to its run's
    folder (with --out, only the figure and the record are kept)."""
    if out is None:
        return folders.save(record, common.draw, folders.place(record, folders.built_by(record)), weights, boards)
    record = dict(record, runs=[{k: v for k, v in run.items() if k != "weights"} for run in record["runs"]])
    content = records.json_bytes(record)  # without weights: none are kept with --out, and none are named
    figure, results = places.lab_files(record["experiment"], out)
    write_together({figure: png_bytes(common.draw(record), words.marked(records.digest(content))), results: content})
    return f"{places.shown_path(figure)} and {places.shown_path(results)}"


def stopped(signum, frame):
    raise KeyboardInterrupt


def merge(records: list[dict]) -> dict:
    """One experiment's single-seed records as the one record its script writes with --seeds N."""
    records = sorted(records, key=lambda record: record["runs"][0]["seed"])
    return dict(records[0], seeds=len(records), runs=[record["runs"][0] for record in records])


if __name__ == "__main__":
    main()
