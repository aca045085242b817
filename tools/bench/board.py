"""What a run's TensorBoard events cost it: for the lab's shortest and its base experiment, one seed trained as a
script trains it (30 epochs on the whole data, one thread), each in a fresh process, timing the training and the
writing of its events (tools/board.py, with tensorboard's import, which the first write pays; not matplotlib's,
which the run's own figure pays with or without events: it is imported before). Nothing else may train meanwhile.

    python -m tools.bench.board [--data-dir DIR]        writes tools/bench/BOARD.md
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import torch

import common
from tools import board, experiments
from tools.data import DATA_DIR_HELP
from tools.files import one_line_errors, pyplot, update_section

HERE = Path(__file__).resolve().parent
DOCUMENT = HERE / "BOARD.md"
MEASURED = ("04_batch1000", "01_base")  # the shortest of the report's trainings, and the base
BUDGET = 0.02  # of a run's time, at most


def one(name: str, data_dir: str | None) -> dict:
    """In this (fresh) process: `name`'s settings trained once, its events written; the seconds of each."""
    spent = []
    write = board.write

    def timed(*args, **keywords):
        started = time.perf_counter()
        folder = write(*args, **keywords)
        spent.append(time.perf_counter() - started)
        return folder
    board.write = timed
    pyplot().close(pyplot().figure())  # matplotlib's import, which the run's own figure pays anyway: not counted
    try:
        with tempfile.TemporaryDirectory(prefix="bench-board-") as scratch:
            record, _ = common.run(f"bench_{name}", **experiments.of(name).keywords, data_dir=data_dir,
                                   out=Path(scratch) / "run")
    finally:
        board.write = write
    return dict(train=record["runs"][0]["seconds"], write=spent[0])


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tools.bench.board", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", help=DATA_DIR_HELP)
    parser.add_argument("--one", help=argparse.SUPPRESS)  # the measuring process's own
    args = parser.parse_args(argv)
    with one_line_errors("bench.board"):
        if args.one:
            print(json.dumps(one(args.one, args.data_dir)))
            return
        rows = []
        for name in MEASURED:
            command = [sys.executable, "-m", "tools.bench.board", "--one", name,
                       *(["--data-dir", args.data_dir] if args.data_dir else [])]
            done = subprocess.run(command, capture_output=True, text=True, check=True)
            rows.append(dict(name=name, **json.loads(done.stdout.strip().splitlines()[-1])))
            print(f"bench.board: {name}: trained {rows[-1]['train']:.1f} s, its events written in "
                  f"{rows[-1]['write']:.2f} s", flush=True)
        lines = [f"Written by `python -m tools.bench.board` on {date.today()}: torch {torch.__version__}, one seed "
                 f"of each, one thread, in a fresh process each (so the first write pays tensorboard's import, and "
                 f"not matplotlib's, which the run's own figure pays with or without events):", "",
                 "| experiment | training | writing its events | share of the run | within the 2% budget |",
                 "|---|---|---|---|---|",
                 *(f"| {r['name']} | {r['train']:.1f} s | {r['write']:.2f} s | {r['write'] / r['train']:.1%} | "
                   f"{'yes' if r['write'] / r['train'] <= BUDGET else 'no'} |" for r in rows)]
        if not update_section(DOCUMENT, "board", lines):
            raise SystemExit(f"{DOCUMENT} has no board section")
    print(f"bench.board: wrote {DOCUMENT}")


if __name__ == "__main__":
    main()
