"""Experiments side by side: their validation loss and accuracy on one pair of axes, each with its seeds' band.

    python -m tools.compare 05_lr01 09_lr01_cosine                 writes runs/compare/05_lr01-vs-09_lr01_cosine.png
    python -m tools.compare 01_base runs/01_base/lr=0.01,seed=0 --out mine.png

Each is an experiment's name (the lab's results/NAME.json if there is one, else its newest full run in runs/NAME/,
never a --quick one) or a run's folder (or its results.json), a quick one too; a line for each says which it chose.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from tools import places, records, runs, words
from tools.drawing import band
from tools.files import UserError, one_line_errors, png_bytes, pyplot, write_together


def compare(chosen: list[tuple[str, dict]]):
    fig, axes = pyplot().subplots(1, 2, figsize=(12, 5.4), layout="constrained")
    for i, (label, record) in enumerate(chosen):
        for ax, key in zip(axes, ("val_loss", "val_acc")):
            band(ax, [run["history"][key] for run in record["runs"]], color=f"C{i % 10}", lw=1.8,
                 label=f"{label}: {record['model']}; {records.what_ran(record, words.say)} "
                       f"({records.how_made(record, words.say)})")
    axes[0].set(xlabel=words.say("epoch"), ylabel=words.say("validation cross-entropy loss (the test set unless said)"))
    axes[1].set(xlabel=words.say("epoch"), ylabel=words.say("validation accuracy"))
    for ax in axes:
        ax.grid(alpha=0.3)
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncol=1, fontsize=8.5,
               title=words.say("mean of each one's seeds; band: lowest to highest seed"), title_fontsize=8.5)
    fig.suptitle(" vs ".join(label for label, _ in chosen))
    return fig


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tools.compare", description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", help="experiments' names or runs' folders")
    parser.add_argument("--out", type=Path, help="the figure's file (default: runs/compare/A-vs-B.png)")
    parser.add_argument("--lang", help=words.FLAG_HELP)
    args = parser.parse_args(argv)
    with one_line_errors("compare"), words.speaking(args.lang):
        if len(args.runs) < 2:
            raise UserError("name two or more experiments or runs to compare")
        found = [runs.find(what) for what in args.runs]
        chosen = [(runs.label(results), records.read(results)) for results in found]
        for results, (_, record) in zip(found, chosen):
            print(f"compare: {runs.chosen(results, record)}")
        out = args.out or places.RUNS / "compare" / ("-vs-".join(label.split(" ")[0].replace("/", "_")
                                                                 for label, _ in chosen) + ".png")
        write_together({out: png_bytes(compare(chosen))})
    print(f"compare: wrote {places.shown_path(out)}")


if __name__ == "__main__":
    main()
