"""Trainings side by side, as make all runs them: whole processes, each at the lab's default of one thread.

    python -m tools.bench.parallel [--pairs 3] [--epochs 3]        (or: make bench)
    python -m tools.bench.parallel --lab JOBS [--seeds 3] [--out FOLDER]

The first form times `01_base.py --epochs E` alone and two copies started at once, alternating alone and
side by side so that a machine whose speed drifts affects both alike; each figure is a whole process's wall
time, start-up included, to its own end. `--lab JOBS` times `python -m tools.run_all` over every experiment
(what `make clean all` trains) with JOBS workers, writing figures/ and results/ as make all does (or under
--out), against the sum of the experiments' limits (bench.py's floating-point work at this machine's matmul
rate), as one row of a table that keeps the other rows. Each writes its section of tools/bench/PARALLEL.md and
of tools/bench/SPEED.md.
"""
import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from tools.bench import bench
from tools.config import positive, resolve_device
from tools.files import update_section
from tools.places import ROOT, experiment_names
from tools.runs import own_files

HERE = Path(__file__).resolve().parent
REPORT, SPEED = HERE / "PARALLEL.md", HERE / "SPEED.md"


def started(epochs: int, out: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(ROOT / "01_base.py"), "--epochs", str(epochs), "--out", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def timed(processes: list[subprocess.Popen], since: float) -> list[float]:
    """Each process's own seconds from `since` to its end: all are waited on at once, each by a thread of its
    own that also reads its stderr (so that none blocks on a full pipe), and each end is noted as it comes,
    not when the processes before it in the list are done."""
    seconds, errors = [0.0] * len(processes), [""] * len(processes)

    def wait(i: int, process: subprocess.Popen) -> None:
        _, errors[i] = process.communicate()
        seconds[i] = time.perf_counter() - since

    waiters = [threading.Thread(target=wait, args=(i, p), daemon=True) for i, p in enumerate(processes)]
    for waiter in waiters:
        waiter.start()
    for waiter in waiters:
        waiter.join()
    for process, error in zip(processes, errors):
        if process.returncode != 0:
            last = (error or "").strip().splitlines()[-1:] or [f"exit status {process.returncode}"]
            sys.exit(f"parallel: a training failed: {last[0]}")
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
    return [f"Written by `python -m tools.bench.parallel` on {time.strftime('%Y-%m-%d')}: `01_base.py --epochs {epochs}` as a "
            f"whole process (start-up, data loading, {epochs} epochs, figure), one thread each, {pairs} pairs; "
            "alone and side by side alternate.", "",
            "| pair | alone | two side by side (each) | slower of the two : alone |", "|---|---|---|---|",
            *(f"| {i + 1} | {alone:.1f} s | {both[0]:.1f} s, {both[1]:.1f} s | {max(both) / alone:.2f} |"
              for i, (alone, both) in enumerate(rows)), "",
            f"Median ratio {statistics.median(ratios):.2f} (range {min(ratios):.2f}-{max(ratios):.2f}); the target "
            "is at most 1.2."]


def whole_lab(jobs: int, seeds: int, out: Path | None) -> dict:
    out = out.resolve() if out else None  # run_all runs from the project's root, wherever this was started
    rate = bench.matmul_rate(resolve_device("cpu"))  # before the trainings, on an idle machine
    now = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "tools.run_all", "--force", "--seeds", str(seeds), "--jobs",
                           str(jobs), *(["--out", str(out)] if out else [])], cwd=ROOT)
    wall = time.perf_counter() - now
    print(f"parallel: run_all took {wall:.0f} s", flush=True)
    if done.returncode != 0:
        sys.exit("parallel: run_all failed")
    return lab_row(jobs, seeds, wall, rate, out)


def results_file(name: str, seeds: int, out: Path | None) -> Path:
    """Where `python -m tools.run_all --seeds SEEDS [--out OUT]` writes an experiment's record: OUT/results/ with
    --out; without it, the lab's results/ for the lab's seeds, and the run's folder under runs/ for others."""
    return own_files(name, list(range(seeds)), out)[1]


def lab_row(jobs: int, seeds: int, wall: float, rate: float, out: Path | None) -> dict:
    limits = own = 0.0
    for name in experiment_names():
        record = json.loads(results_file(name, seeds, out).read_text())
        train_size, val_size = record["data"]["train_size"], record["data"]["val_size"]
        for run in record["runs"]:
            own += run["seconds"]
            if record.get("model", "MLP").startswith("MLP"):  # the limit's formula knows only the MLP
                hidden = tuple(record["config"]["hidden"])
                limits += len(run["history"]["val_acc"]) * bench.epoch_flops(hidden, train_size, val_size) / rate
    return dict(date=time.strftime("%Y-%m-%d"), workers=jobs, seeds=seeds, experiments=len(experiment_names()),
                wall=round(wall), own=round(own), limits=round(limits), rate=round(rate / 1e9))


LAB_COLUMNS = ("date", "experiments", "seeds", "workers", "wall", "own", "limits", "rate")
LAB_HEADER = ("| date | experiments | seeds each | workers | wall time | the runs' own seconds, added up "
              "| the limits, added up | matmul rate | wall : limits |")


def lab_section(rows: list[dict]) -> list[str]:
    """The whole-lab table: one row per (experiments, seeds, workers), the latest of each, fewest workers first."""
    return ["Written by `python -m tools.bench.parallel --lab JOBS`: `python -m tools.run_all` over every experiment "
            "from nothing (what `make clean all` trains), JOBS trainings at once. The runs' own seconds, added up, are what one worker "
            "would take if a run alone were as fast as a run beside another; the limits are the MLP experiments' "
            "floating-point work at this machine's dense matmul rate, measured before the trainings. Machines "
            "differ: compare rows of one date.", "",
            LAB_HEADER, "|---" * LAB_HEADER.count(" | ") + "|---|",
            *(f"| {r['date']} | {r['experiments']} | {r['seeds']} | {r['workers']} | **{r['wall']} s** | {r['own']} s "
              f"| {r['limits']} s | {r['rate']} GFLOP/s | **{r['wall'] / r['limits']:.1f}x** |"
              for r in sorted(rows, key=lambda r: (r["date"], r["seeds"], r["workers"])))]


def with_row(rows: list[dict], row: dict) -> list[dict]:
    """`rows` with `row` in place of any earlier one of the same experiments, seeds and workers."""
    key = ("experiments", "seeds", "workers")
    return [r for r in rows if [r[k] for k in key] != [row[k] for k in key]] + [row]


def lab_rows(path: Path) -> list[dict]:
    """The rows of the whole-lab table in `path`, as lab_section wrote them."""
    rows = []
    for line in (path.read_text() if path.is_file() else "").splitlines():
        cells = [cell.strip(" *sGFLOP/x") for cell in line.strip("|").split("|")]
        if line.startswith("| 20") and len(cells) == len(LAB_COLUMNS) + 1:
            rows.append(dict(zip(LAB_COLUMNS, [cells[0], *map(int, cells[1:len(LAB_COLUMNS)])])))
    return rows


def main():
    parser = argparse.ArgumentParser(prog="python -m tools.bench.parallel", description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=positive(int), default=3)
    parser.add_argument("--epochs", type=positive(int), default=3)
    parser.add_argument("--lab", type=positive(int), metavar="JOBS", help="time the whole lab instead")
    parser.add_argument("--seeds", type=positive(int), default=3)
    parser.add_argument("--out", type=Path, help="with --lab: where run_all writes OUT/figures/ and OUT/results/ "
                        "(default: as make clean all does, runs/ and, for the lab's seeds, the project's figures/ "
                        "and results/)")
    args = parser.parse_args()
    section = "whole lab" if args.lab else "side by side"
    if args.lab:
        lines = lab_section(with_row(lab_rows(REPORT), whole_lab(args.lab, args.seeds, args.out)))
    else:
        lines = side_by_side(args.pairs, args.epochs)
    if not REPORT.is_file():
        REPORT.write_text("# Benchmark: trainings side by side\n\n## Two trainings against one\n\n"
                          "<!-- side by side: written by python -m tools.bench.parallel -->\n"
                          "<!-- end of side by side -->\n\n## The whole lab\n\n"
                          "<!-- whole lab: written by python -m tools.bench.parallel --lab -->\n"
                          "<!-- end of whole lab -->\n")
    update_section(REPORT, section, lines)
    update_section(SPEED, section, lines)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
