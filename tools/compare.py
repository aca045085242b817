"""Experiments side by side: their validation loss and accuracy on one pair of axes, each with its seeds' band.

    python -m tools.compare 05_lr01 09_lr01_cosine                 writes runs/compare/05_lr01-vs-09_lr01_cosine.png
    python -m tools.compare 01_base runs/01_base/lr=0.01,seed=0 --out mine.png

Each is an experiment's name (the lab's results/NAME.json if there is one, else its newest run in runs/NAME/) or
a run's folder (or its results.json).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tools import runs as places
from tools.drawing import band
from tools.files import UserError, png_bytes, pyplot, write_together


def find_record(what: str) -> tuple[str, dict]:
    """(a label, the record) of an experiment's name or a run's folder."""
    path = Path(what)
    if path.name == places.RESULTS:
        path = path.parent
    name = path.stem if path.suffix == ".py" else what
    lab = places.lab_files(name)[1]
    if (path / places.RESULTS).is_file():
        results, label = path / places.RESULTS, f"{path.parent.name}/{path.name}"
    elif lab.is_file():
        results, label = lab, f"{name} (the lab's)"
    else:
        made = sorted((places.RUNS / name).glob(f"*/{places.RESULTS}"), key=lambda p: p.stat().st_mtime)
        if not made:
            raise UserError(f"{what}: no results in results/ nor in {places.shown_path(places.RUNS / name)}/; "
                            f"run the experiment first (python {name}.py), or name a run's folder")
        results, label = made[-1], f"{name}/{made[-1].parent.name}"
    try:
        return label, json.loads(results.read_text())
    except (OSError, ValueError) as e:
        raise UserError(f"{places.shown_path(results)} is not readable JSON ({e}); run the experiment again") from None


def compare(records: list[tuple[str, dict]]):
    from common import DEFAULTS  # what the report ran: a legend names only what differs
    fig, axes = pyplot().subplots(1, 2, figsize=(12, 5.4), layout="constrained")
    for i, (label, record) in enumerate(records):
        what = ", ".join([f"{label}: {record['model']}; {record['optimizer']}", *(record[key] for key in DEFAULTS
                                                               if record.get(key, DEFAULTS[key]) != DEFAULTS[key])])
        what += " (held-out validation)" if record["config"].get("validation", "test") != "test" else ""
        for ax, key in zip(axes, ("val_loss", "val_acc")):
            band(ax, [run["history"][key] for run in record["runs"]], color=f"C{i % 10}", lw=1.8,
                 label=f"{what} ({len(record['runs'])} seed{'s' * (len(record['runs']) > 1)})")
    axes[0].set(xlabel="epoch", ylabel="validation cross-entropy loss (the test set unless said)")
    axes[1].set(xlabel="epoch", ylabel="validation accuracy")
    for ax in axes:
        ax.grid(alpha=0.3)
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncol=2, fontsize=8.5,
               title="mean of each one's seeds; band: lowest to highest seed", title_fontsize=8.5)
    fig.suptitle(" vs ".join(label for label, _ in records))
    return fig


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tools.compare", description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", help="experiments' names or runs' folders")
    parser.add_argument("--out", type=Path, help="the figure's file (default: runs/compare/A-vs-B.png)")
    args = parser.parse_args(argv)
    try:
        if len(args.runs) < 2:
            raise UserError("name two or more experiments or runs to compare")
        records = [find_record(what) for what in args.runs]
        out = args.out or places.RUNS / "compare" / ("-vs-".join(label.split(" ")[0].replace("/", "_")
                                                               for label, _ in records) + ".png")
        write_together({out: png_bytes(compare(records))})
    except UserError as e:
        sys.exit(f"compare: error: {e}")
    print(f"compare: wrote {places.shown_path(out)}")


if __name__ == "__main__":
    main()
