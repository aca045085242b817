"""Runs every experiment (each NN_*.py here) whose figure or results are missing or older than its script or
common.py, with every core busy: each (experiment, seed) is a process of its own at one thread, the longest
first. An experiment's figure and results are written when all its seeds are done: the same files, with the
same numbers, as `python NN_name.py --seeds N` writes, whatever the number of workers.

    .venv/bin/python run_all.py [--seeds 3] [--jobs N] [--force] [NAME ...]     (or: make all [JOBS=N])

Flags it does not know (--epochs 5, --device cpu, --data-dir ...) go to every script. Each run's own output
goes to logs/NAME-seedS.log; here, one line as each run ends.
"""
import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import common


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="experiments to run (default: every one that is out of date)")
    parser.add_argument("--seeds", type=common.positive(int), default=3)
    parser.add_argument("--seed", type=int, default=0, help="the first seed")
    parser.add_argument("--jobs", type=common.positive(int), default=len(os.sched_getaffinity(0))
                        if hasattr(os, "sched_getaffinity") else os.cpu_count(), help="trainings at once (default: "
                        "one per core)")
    parser.add_argument("--force", action="store_true", help="run them even if up to date")
    parser.add_argument("--quick", action="store_true", help="each script's --quick; written under scratch/")
    parser.add_argument("--out", type=Path, help="folder for figures/, results/ and logs/ (default: the project)")
    args, script_flags = parser.parse_known_args()
    out = args.out or (common.ROOT / "scratch" if args.quick else common.ROOT)
    unknown = sorted(set(args.names) - set(common.experiment_names()))
    if unknown:
        sys.exit(f"run_all: error: no experiment named {', '.join(unknown)}; there are "
                 f"{', '.join(common.experiment_names())}")
    names = [name for name in args.names or common.experiment_names() if args.force or args.names
             or out_of_date(name, out)]
    if not names:
        print("run_all: every experiment's figure and results are up to date")
        return
    try:
        common.check_writable(out / "figures", out / "results", out / "logs")
    except common.UserError as e:
        sys.exit(f"run_all: error: {e}")
    (out / "logs").mkdir(parents=True, exist_ok=True)
    seeds = range(args.seed, args.seed + args.seeds)
    units = sorted(((name, seed) for name in names for seed in seeds), key=lambda unit: -expected_seconds(unit[0]))
    print(f"run_all: {len(units)} runs ({', '.join(names)}; seeds {seeds[0]}-{seeds[-1]}) on {args.jobs} "
          f"workers; each run's output in {out / 'logs'}", flush=True)
    flags = script_flags + ["--quick"] * args.quick
    with tempfile.TemporaryDirectory(prefix="run_all-") as scratch:
        failed = run(units, args.jobs, flags, Path(scratch), out)
    if failed:
        sys.exit(f"run_all: {failed}")


def out_of_date(name: str, out: Path) -> bool:
    made = [out / "figures" / f"{name}.png", out / "results" / f"{name}.json"]
    if not all(path.is_file() for path in made):
        return True
    sources = [common.ROOT / f"{name}.py", common.ROOT / "common.py"]
    return min(path.stat().st_mtime for path in made) < max(path.stat().st_mtime for path in sources)


def expected_seconds(name: str) -> float:
    """A run's seconds last time, so that the longest start first and no worker is left with a long tail."""
    try:
        return statistics.mean(run["seconds"] for run in json.loads(
            (common.ROOT / "results" / f"{name}.json").read_text())["runs"])
    except (OSError, ValueError, KeyError, TypeError, statistics.StatisticsError):
        return 0.0


def run(units, jobs: int, flags: list[str], scratch: Path, out: Path) -> str | None:
    """Run the units, `jobs` at a time; write each experiment once all its seeds are done. On a failure or
    Ctrl-C, stop the others and say so; experiments finished by then stay written."""
    waiting, running, finished = list(units), {}, {}
    seeds_of = {name: sum(1 for n, _ in units if n == name) for name, _ in units}
    started = time.perf_counter()
    try:
        while waiting or running:
            while waiting and len(running) < jobs:
                name, seed = waiting.pop(0)
                folder = scratch / f"{name}-seed{seed}"
                log = open(out / "logs" / f"{name}-seed{seed}.log", "w")
                command = [sys.executable, str(common.ROOT / f"{name}.py"), "--seed", str(seed), "--seeds", "1",
                           "--out", str(folder), *flags]
                running[(name, seed)] = (subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT), log)
            time.sleep(0.05)
            for (name, seed), (process, log) in list(running.items()):
                if process.poll() is None:
                    continue
                del running[(name, seed)]
                log.close()
                if process.returncode != 0:
                    last = Path(log.name).read_text().strip().splitlines() or ["(no output)"]
                    return f"{name} seed {seed} failed: {last[-1]} (whole output: {log.name})"
                record = json.loads((scratch / f"{name}-seed{seed}" / "results" / f"{name}.json").read_text())
                finished.setdefault(name, []).append(record)
                done = sum(map(len, finished.values()))
                print(f"[{done}/{len(units)}, {time.perf_counter() - started:.0f}s] {name} seed {seed}: "
                      f"{common.summary(record['runs'][0])}", flush=True)
                if len(finished[name]) == seeds_of[name]:
                    files = common.outputs(merge(finished[name]), out)
                    common.write_together(files)
                    print(f"{name}: wrote {' and '.join(map(str, files))}", flush=True)
        return None
    except KeyboardInterrupt:
        return ("interrupted; the experiments finished before were written, no other: "
                + (", ".join(name for name in finished if len(finished[name]) == seeds_of[name]) or "none"))
    finally:
        for process, log in running.values():
            process.send_signal(signal.SIGINT)
        for process, log in running.values():
            process.wait()
            log.close()


def merge(records: list[dict]) -> dict:
    """One experiment's single-seed records as the one record its script writes with --seeds N."""
    records = sorted(records, key=lambda record: record["runs"][0]["seed"])
    merged = dict(records[0], seeds=len(records), runs=[record["runs"][0] for record in records])
    return merged


if __name__ == "__main__":
    main()
