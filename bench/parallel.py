"""Trainings side by side, as make all runs them: whole processes, each at the lab's default of one thread.

    .venv/bin/python bench/parallel.py [--pairs 3] [--epochs 3]        (or: make bench)
    .venv/bin/python bench/parallel.py --lab JOBS [--seeds 3]

The first form times `01_base.py --epochs E` alone and two copies started at once, alternating alone and
side by side so that a machine whose speed drifts affects both alike; each figure is a whole process's wall
time, start-up included. `--lab JOBS` times run_all.py over every experiment (what `make clean all` trains)
with JOBS workers, writing figures/ and results/ as make all does, against the sum of the experiments' limits
(bench.py's floating-point work at this machine's matmul rate). Each writes its section of bench/PARALLEL.md
and of the README.
"""
import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
import bench  # noqa: E402
import common  # noqa: E402

REPORT = ROOT / "bench" / "PARALLEL.md"


def started(epochs: int, out: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(ROOT / "01_base.py"), "--epochs", str(epochs), "--out", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def timed(processes: list[subprocess.Popen], since: float) -> list[float]:
    seconds = []
    for process in processes:
        _, error = process.communicate()
        if process.returncode != 0:
            sys.exit(f"parallel: a training failed: {error.strip().splitlines()[-1]}")
        seconds.append(time.perf_counter() - since)
    return seconds


def side_by_side(pairs: int, epochs: int) -> list[str]:
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for i in range(pairs):
            now = time.perf_counter()
            [alone] = timed([started(epochs, Path(scratch) / "alone")], now)
            now = time.perf_counter()
            both = timed([started(epochs, Path(scratch) / f"side{k}") for k in (0, 1)], now)
            rows.append((alone, both))
            print(f"pair {i + 1}: alone {alone:.1f}s, side by side {both[0]:.1f}s and {both[1]:.1f}s", flush=True)
    ratios = [max(both) / alone for alone, both in rows]
    return [f"Written by `bench/parallel.py` on {time.strftime('%Y-%m-%d')}: `01_base.py --epochs {epochs}` as a "
            f"whole process (start-up, data loading, {epochs} epochs, figure), one thread each, {pairs} pairs; "
            "alone and side by side alternate.", "",
            "| pair | alone | two side by side (each) | slower of the two : alone |", "|---|---|---|---|",
            *(f"| {i + 1} | {alone:.1f} s | {both[0]:.1f} s, {both[1]:.1f} s | {max(both) / alone:.2f} |"
              for i, (alone, both) in enumerate(rows)), "",
            f"Median ratio {statistics.median(ratios):.2f} (range {min(ratios):.2f}-{max(ratios):.2f}); the target "
            "is at most 1.2."]


def whole_lab(jobs: int, seeds: int) -> list[str]:
    rate = bench.matmul_rate(common.resolve_device("cpu"))  # before the trainings, on an idle machine
    now = time.perf_counter()
    done = subprocess.run([sys.executable, str(ROOT / "run_all.py"), "--force", "--seeds", str(seeds), "--jobs",
                           str(jobs)])
    wall = time.perf_counter() - now
    print(f"parallel: run_all took {wall:.0f} s", flush=True)
    if done.returncode != 0:
        sys.exit("parallel: run_all failed")
    return lab_summary(jobs, seeds, wall, rate)


def lab_summary(jobs: int, seeds: int, wall: float, rate: float) -> list[str]:
    limits = own = 0.0
    for name in common.experiment_names():
        record = json.loads((ROOT / "results" / f"{name}.json").read_text())
        train_size, val_size = record["data"]["train_size"], record["data"]["val_size"]
        for run in record["runs"]:
            own += run["seconds"]
            if record.get("model", "MLP").startswith("MLP"):  # the limit's formula knows only the MLP
                hidden = tuple(record["config"]["hidden"])
                limits += len(run["history"]["val_acc"]) * bench.epoch_flops(hidden, train_size, val_size) / rate
    return [f"Written by `bench/parallel.py --lab {jobs}` on {time.strftime('%Y-%m-%d')}: run_all.py over all "
            f"{len(common.experiment_names())} experiments, {seeds} seeds each, {jobs} workers, from nothing "
            "(what `make clean all` trains).", "",
            f"- wall time: **{wall:.0f} s**;",
            f"- the runs' own seconds added up: {own:.0f} s (what one worker would take, if a run alone were as "
            "fast as a run beside another);",
            f"- the sum of the MLP experiments' limits (their floating-point work at this machine's "
            f"{rate / 1e9:.0f} GFLOP/s): {limits:.0f} s, so the wall time is **{wall / limits:.1f}x** the limits."]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=common.positive(int), default=3)
    parser.add_argument("--epochs", type=common.positive(int), default=3)
    parser.add_argument("--lab", type=common.positive(int), metavar="JOBS", help="time the whole lab instead")
    parser.add_argument("--seeds", type=common.positive(int), default=3)
    args = parser.parse_args()
    section = "whole lab" if args.lab else "side by side"
    lines = whole_lab(args.lab, args.seeds) if args.lab else side_by_side(args.pairs, args.epochs)
    if not REPORT.is_file():
        REPORT.write_text("# Benchmark: trainings side by side\n\n## Two trainings against one\n\n"
                          "<!-- side by side: written by bench/parallel.py -->\n<!-- end of side by side -->\n\n"
                          "## The whole lab\n\n<!-- whole lab: written by bench/parallel.py --lab -->\n"
                          "<!-- end of whole lab -->\n")
    common.update_section(REPORT, section, lines)
    common.update_section(ROOT / "README.md", section, lines)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
