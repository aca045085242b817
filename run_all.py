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
from typing import NamedTuple

import common


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="experiments to run (default: every one that is out of date)")
    parser.add_argument("--seeds", type=common.positive(int), default=3)
    parser.add_argument("--seed", type=int, default=0, help="the first seed")
    parser.add_argument("--jobs", type=common.positive(int), default=cores(),
                        help="trainings at once (default: one per core)")
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
    seeds = range(args.seed, args.seed + args.seeds)
    flags = tuple(script_flags + ["--quick"] * args.quick)
    runs = sorted((Run(name, seed, out, flags) for name in names for seed in seeds),
                  key=lambda r: -expected_seconds(r.name))
    print(f"run_all: {len(runs)} runs ({', '.join(names)}; seeds {seeds[0]}-{seeds[-1]}) on {args.jobs} "
          f"workers; each run's output in {out / 'logs'}", flush=True)
    with tempfile.TemporaryDirectory(prefix="run_all-") as scratch:
        failed = run(runs, args.jobs, Path(scratch))
    if failed:
        sys.exit(f"run_all: {failed}")


def cores() -> int:
    """The cores this process may use (fewer than the machine's under a container's or taskset's limit)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


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


class Run(NamedTuple):
    """One training: an experiment's script at one seed, with its flags; its experiment is written under `out`."""
    name: str
    seed: int
    out: Path
    flags: tuple = ()
    tag: str = ""  # said before its name in the progress lines, where several runs share a name

    def __str__(self):
        return f"{self.tag}{self.name} seed {self.seed}"


def run(runs: list[Run], jobs: int, scratch: Path, earlier: dict | None = None) -> str | None:
    """Run `jobs` at a time, in the order given; write each experiment once all its seeds are done, merged with
    `earlier`'s single-seed records of it ({(name, out): [record, ...]}), if any. On a failure or Ctrl-C, stop the
    others and say so; experiments finished by then stay written."""
    waiting, running = list(runs), {}
    finished = {key: list(records) for key, records in (earlier or {}).items()}
    seeds_of = {(r.name, r.out): len(finished.get((r.name, r.out), ()))
                + sum(1 for o in runs if (o.name, o.out) == (r.name, r.out)) for r in runs}
    started = time.perf_counter()
    # kill's SIGTERM, like Ctrl-C, must stop the trainings started here rather than leave them running on.
    on_sigterm = signal.signal(signal.SIGTERM, stopped)
    try:
        while waiting or running:
            while waiting and len(running) < jobs:
                r = waiting.pop(0)
                folder = scratch / str(len(waiting))
                (r.out / "logs").mkdir(parents=True, exist_ok=True)
                log = open(r.out / "logs" / f"{r.name}-seed{r.seed}.log", "w")
                command = [sys.executable, str(common.ROOT / f"{r.name}.py"), "--seed", str(r.seed), "--seeds", "1",
                           "--out", str(folder), *r.flags]
                running[r] = (subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT), log, folder)
            time.sleep(0.05)
            for r, (process, log, folder) in list(running.items()):
                if process.poll() is None:
                    continue
                del running[r]
                log.close()
                if process.returncode != 0:
                    last = Path(log.name).read_text().strip().splitlines() or ["(no output)"]
                    return f"{r} failed: {last[-1]} (whole output: {log.name})"
                record = json.loads((folder / "results" / f"{r.name}.json").read_text())
                experiment = finished.setdefault((r.name, r.out), [])
                experiment.append(record)
                done = len(runs) - len(waiting) - len(running)
                print(f"[{done}/{len(runs)}, {time.perf_counter() - started:.0f}s] {r}: "
                      f"{common.summary(record['runs'][0])}", flush=True)
                if len(experiment) == seeds_of[(r.name, r.out)]:
                    files = common.outputs(merge(experiment), r.out)
                    common.write_together(files)
                    print(f"{r.name}: wrote {' and '.join(map(str, files))}", flush=True)
        return None
    except KeyboardInterrupt:
        return ("interrupted; the experiments finished before were written, no other: "
                + (", ".join(name for (name, out), records in finished.items() if len(records) == seeds_of.get((name, out)))
                   or "none"))
    finally:
        signal.signal(signal.SIGTERM, on_sigterm)
        for process, log, _ in running.values():
            process.terminate()  # not SIGINT: a script started in the background ignores it
        for process, log, _ in running.values():
            process.wait()
            log.close()


def stopped(signum, frame):
    raise KeyboardInterrupt


def merge(records: list[dict]) -> dict:
    """One experiment's single-seed records as the one record its script writes with --seeds N."""
    records = sorted(records, key=lambda record: record["runs"][0]["seed"])
    merged = dict(records[0], seeds=len(records), runs=[record["runs"][0] for record in records])
    return merged


if __name__ == "__main__":
    main()
