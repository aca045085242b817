"""What the lab's figures share: a band over seeds, and its legend."""
from __future__ import annotations

import textwrap

import torch

from tools.files import pyplot
from tools.words import classes as named, say


def band(ax, curves: list[list[float]], **style) -> None:
    """The mean of several runs' curves, and with more than one run a band from the lowest to the highest."""
    values = torch.tensor(curves, dtype=torch.float64)
    epochs = range(1, values.shape[1] + 1)
    if len(epochs) == 1:
        style = {"marker": "o", **style}  # a one-epoch run is a point, invisible as a line
    ax.plot(epochs, values.mean(0), **style)
    if len(curves) > 1:
        ax.fill_between(epochs, values.min(0).values, values.max(0).values, color=style["color"], alpha=0.2, lw=0)
    ax.xaxis.get_major_locator().set_params(integer=True)  # epochs are whole numbers: no tick at 1.5


def seeds_legend(seeds: int) -> str | None:
    return say("mean of {seeds} seeds, band: lowest to highest seed", seeds=seeds) if seeds > 1 else None


def image_grid(record: dict, which: str, images, classes, columns: int = 5, scale: float = 1.0,
               layout: str | None = "constrained"):
    """A run's recorded predictions (`which`: "shown", the first validation images, or "mistakes", its most
    confident wrong ones) drawn over their images: predicted class and probability, true class, wrong ones in red.
    `images` are the recorded images' pixels (784 each, in [0, 1]), in the record's order; `scale` its size (its
    words stay as large); `layout` None places the panels by fixed margins, faster than matplotlib's layouts."""
    run, classes = record["runs"][0], named(classes)
    said = run[which]
    rows = max(1, -(-len(said["index"]) // columns))  # a row, if only to say there were no mistakes
    fig, axes = pyplot().subplots(rows, columns, figsize=(scale * 2.1 * columns, scale * (2.5 * rows + 0.6)),
                                  layout=layout, squeeze=False)
    if layout is None:
        fig.subplots_adjust(left=0.01, right=0.99, bottom=0.01, top=0.8, wspace=0.05, hspace=0.45)
    for ax in axes.flat:
        ax.axis("off")
    for ax, pixels, index, predicted, probability, true in zip(axes.flat, images, said["index"], said["predicted"],
                                                               said["probability"], said["true"]):
        ax.imshow(torch.as_tensor(pixels).reshape(28, 28).numpy(), cmap="binary")
        right = predicted == true
        ax.set_title(f"#{index}: {classes[predicted]} {probability:.1%}\n" + ("" if right else say("WRONG, "))
                     + say("true: {name}", name=classes[true]), fontsize=8.5, color="C2" if right else "C3")
    split = say("test" if record["config"].get("validation", "test") == "test" else "held-out")
    title = (say("the first {count} {split} images", count=len(said["index"]), split=split) if which == "shown" else
             say("its {count} most confident mistakes on the {split} images", count=len(said["index"]), split=split))
    if not said["index"]:
        axes.flat[0].text(0, 0.5, say("no mistakes"), fontsize=12)
    said = say("{experiment} (seed {seed}, after epoch {epoch}): {title}; #: the image's index in its file",
               experiment=record["experiment"], seed=run["seed"], epoch=len(run["history"]["val_acc"]), title=title)
    fig.suptitle(textwrap.fill(said, int(fig.get_figwidth() * 12)), fontsize=10)  # a narrow grid's title wraps
    return fig
