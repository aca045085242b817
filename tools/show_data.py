"""A look at the data before any training: a 4x4 mosaic of training images titled with their class names,
as the course guide asks. Writes figures/data.png.

    python -m tools.show_data [--data-dir DIR]
"""
from __future__ import annotations

import argparse
from pathlib import Path

import torch

from common import load_data
from tools import places, words
from tools.data import DATA_DIR_HELP
from tools.files import one_line_errors, png_bytes, pyplot, write_together


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tools.show_data", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", help=DATA_DIR_HELP)
    parser.add_argument("--out", type=Path, default=None, help="the folder whose figures/ gets data.png (default: the lab's)")
    parser.add_argument("--seed", type=int, default=0, help="which images are shown")
    parser.add_argument("--lang", help=words.FLAG_HELP + "; the lab's own figures/data.png stays English")
    args = parser.parse_args(argv)
    with one_line_errors("show_data"), words.speaking(args.lang), words.in_english(lab=args.out is None):
        data = load_data(args.data_dir)
        path = (args.out or places.ROOT) / "figures" / "data.png"
        write_together({path: png_bytes(mosaic(data, args.seed))})
    print(f"wrote {path}")


def mosaic(data, seed: int):
    picks = torch.randperm(len(data.train_x), generator=torch.Generator().manual_seed(seed))[:16]
    fig, axes = pyplot().subplots(4, 4, figsize=(6.4, 7), constrained_layout=True)
    for ax, i in zip(axes.flat, picks.tolist()):
        ax.imshow(data.train_x[i].reshape(28, 28).numpy(), cmap="gray_r", vmin=0, vmax=1)
        ax.set_title(words.classes()[data.train_y[i]], fontsize=9)
        ax.axis("off")
    fig.suptitle(words.say("Fashion-MNIST: 16 of the {count} training images", count=f"{len(data.train_x):,}"))
    return fig


if __name__ == "__main__":
    main()
