"""The report's quantitative claims, how each is measured from the runs' curves, and the rules that judge it.

Used by the report (REPRODUCTION.md, from results/) and by the calibration (on each cell of its grid) alike.
The thresholds were fixed before the runs they judge were looked at.
"""
from __future__ import annotations

import statistics
from pathlib import Path

from tools import records
from tools.files import UserError
from tools.places import REPORT_EXPERIMENTS

CLAIMED = ("train_loss", "train_acc", "val_loss", "val_acc")  # the history the claims read
HOLDS, FAILS, NOISE = "holds", "does not hold", "within noise"
NEAR = 0.03          # "near x" means within 0.03 of x
SIMILAR = 0.10       # "about the same" loss means within 10% of the base's
MARGINAL = 0.02      # a "marginal" or "slight" accuracy gain is above zero and at most 0.02
REPORT_EPOCHS = 30   # the report's runs: its claims read epochs 5 and 30, and "final" is epoch 30


def curves(record: dict, key: str) -> list[list[float]]:
    return [run["history"][key] for run in record["runs"]]


def final(record: dict, key: str) -> list[float]:
    return [curve[-1] for curve in curves(record, key)]


def spread(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.3f} (1 seed)"
    return (f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f} "
            f"[{min(values):.3f}, {max(values):.3f}], {len(values)} seeds")


def each_seed(passed: list[bool]) -> str:
    """A statement about one configuration: it holds if every seed satisfies it, fails if none does."""
    return HOLDS if all(passed) else FAILS if not any(passed) else NOISE


def paired(differences: list[float], sign: int = 1) -> str:
    """A comparison of two configurations, seed by seed (same seed: same first weights and batches).
    Holds when every difference has the claimed sign and the mean is more than two standard deviations
    of the differences away from zero; fails when the same is true with the opposite sign."""
    mean = statistics.mean(differences)
    noise = 2 * statistics.stdev(differences) if len(differences) > 1 else 0.0
    if all(d * sign > 0 for d in differences) and abs(mean) > noise:
        return HOLDS
    if all(d * sign < 0 for d in differences) and abs(mean) > noise:
        return FAILS
    return NOISE


def slight_gain(differences: list[float]) -> str:
    """A gain the report calls slight or marginal: it must be there, and be no larger than MARGINAL."""
    verdict = paired(differences)
    return FAILS if verdict == HOLDS and statistics.mean(differences) > MARGINAL else verdict


def first_epoch_reaching(curve: list[float], level: float) -> int | None:
    return next((epoch for epoch, value in enumerate(curve, 1) if value >= level), None)


def falls(curve: list[float], start: int = 6) -> list[float]:
    """Sizes of the epoch-to-epoch drops of an accuracy curve from epoch `start` on."""
    return [a - b for a, b in zip(curve[start - 2:], curve[start - 1:]) if b < a]


def claims(r: dict) -> list[dict]:
    """One row per quantitative statement: what the report says, how it is measured here, and the verdict."""
    rows = []

    def row(number, statement, measure, values, verdict, note=""):
        rows.append(dict(number=number, statement=statement, measure=measure, measured=spread(values),
                         verdict=verdict, note=note))

    base, adam, nodrop, big, fast, wide, fadam, fsgd = (r[name] for name in REPORT_EXPERIMENTS)
    loss = curves(base, "train_loss")
    share = [(c[0] - c[4]) / (c[0] - c[-1]) for c in loss]
    row("1a", "Base: the loss falls sharply in the first 5 epochs, then levels off.",
        "share of the training-loss drop from epoch 1 to 30 that happens by epoch 5; holds if at least 0.6",
        share, each_seed([s >= 0.6 for s in share]))
    at5 = [c[4] for c in curves(base, "val_acc")]
    row("1b", "Base: accuracy passes 0.7 at epoch 5.", "validation accuracy at epoch 5 > 0.7", at5,
        each_seed([a > 0.7 for a in at5]),
        "epoch at which it passes 0.7: " + ", ".join(str(first_epoch_reaching(c, 0.7)) for c in curves(base, "val_acc")))
    end = final(base, "val_acc")
    row("1c", "Base: accuracy ends near 0.8.", f"validation accuracy at the last epoch within {NEAR} of 0.8", end,
        each_seed([abs(a - 0.8) <= NEAR for a in end]))

    adam_acc = curves(adam, "val_acc")
    low = [min(c[4:]) for c in adam_acc]
    high = [max(c[4:]) for c in adam_acc]
    row("2a", "Adam: accuracy between 0.85 and 0.95 from the fifth epoch on.",
        "lowest and highest validation accuracy over epochs 5 to the last; holds if all within [0.85, 0.95]; "
        "measured: the lowest", low, each_seed([lo >= 0.85 and hi <= 0.95 for lo, hi in zip(low, high)]),
        f"highest: {spread(high)}")
    adam_loss = final(adam, "train_loss")
    row("2b", "Adam: training loss below 0.2.", "training loss at the last epoch < 0.2", adam_loss,
        each_seed([v < 0.2 for v in adam_loss]))
    reach = lambda record: [first_epoch_reaching(c, 0.8) or len(c) + 1 for c in curves(record, "val_acc")]  # noqa: E731
    faster = [b - a for a, b in zip(reach(adam), reach(base))]
    row("2c", "Adam converges faster than SGD.",
        "epochs the base needs to reach 0.8 validation accuracy minus the epochs Adam needs (never: last + 1); "
        "holds if positive", faster, paired(faster))

    def small_change_from_base(record, numbers, accuracy_statement, loss_statement):
        """The report's verdict on dropout and on width alike: a slight accuracy gain, the loss about the same."""
        gain = [a - b for a, b in zip(final(record, "val_acc"), final(base, "val_acc"))]
        row(numbers[0], accuracy_statement, "final validation accuracy minus the base's, seed by seed; holds if "
            f"above zero and at most {MARGINAL}", gain, slight_gain(gain))
        ratio = [a / b - 1 for a, b in zip(final(record, "val_loss"), final(base, "val_loss"))]
        row(numbers[1], loss_statement, f"final validation loss relative to the base's, minus 1; holds if within "
            f"±{SIMILAR}", ratio, each_seed([abs(x) <= SIMILAR for x in ratio]))

    small_change_from_base(nodrop, ("3a", "3b"), "Without dropout: slightly higher accuracy than the base.",
                           "Without dropout: the loss about the same as the base.")

    big_loss = [min(c) for c in curves(big, "train_loss")]
    row("4a", "Batch 1000: the loss stays above 1.6 through epoch 30.", "lowest training loss over all epochs > 1.6",
        big_loss, each_seed([v > 1.6 for v in big_loss]))
    big_acc = [max(c) for c in curves(big, "val_acc")]
    row("4b", "Batch 1000: accuracy below 0.6 through epoch 30.", "highest validation accuracy over all epochs < 0.6",
        big_acc, each_seed([a < 0.6 for a in big_acc]))
    slower = [a - b for a, b in zip(final(base, "val_acc"), final(big, "val_acc"))]
    row("4c", "Batch 1000 learns slower than the base.", "base's final validation accuracy minus batch 1000's; "
        "holds if positive", slower, paired(slower))

    target = final(base, "val_acc")
    sooner = [len(c) - (first_epoch_reaching(c, t) or len(c) + 1) for c, t in zip(curves(fast, "val_acc"), target)]
    lower = [b - a for a, b in zip(final(fast, "val_loss"), final(base, "val_loss"))]
    row("5a", "lr 0.1: higher accuracy in fewer epochs than the base.",
        "epochs saved: 30 minus the first epoch at which lr 0.1 reaches the base's final validation accuracy; "
        "holds if positive", sooner, paired(sooner))
    row("5b", "lr 0.1: lower loss than the base.", "base's final validation loss minus lr 0.1's; holds if positive",
        lower, paired(lower))
    drops = [len(falls(c)) for c in curves(fast, "val_acc")]
    largest = [max(falls(c), default=0.0) for c in curves(fast, "val_acc")]
    base_drops = [len(falls(c)) for c in curves(base, "val_acc")]
    row("5c", "lr 0.1: the curves oscillate considerably.",
        "oscillation: epochs from 6 on in which validation accuracy falls; holds if at least 5 falls and the "
        "largest is at least 0.01", drops, each_seed([n >= 5 and big_fall >= 0.01 for n, big_fall in zip(drops, largest)]),
        f"largest fall: {spread(largest)}; falls of the base's validation accuracy from epoch 6 on: "
        f"{spread(base_drops)}")

    small_change_from_base(wide, ("6a", "6b"), "Wider hidden layers: a marginal accuracy gain.",
                           "Wider hidden layers: the loss similar to the base.")

    fails = final(fadam, "val_acc")
    row("7", "Adam + lr 0.1 + wide + dropout fails.",
        "final validation accuracy; holds if below 0.5 and below the base's", fails,
        each_seed([a < 0.5 and a < b for a, b in zip(fails, final(base, "val_acc"))]))

    best = {name: statistics.mean(final(r[name], "val_acc")) for name in REPORT_EXPERIMENTS}
    margin = [a - max(final(r[name], "val_acc")[i] for name in REPORT_EXPERIMENTS if name != "08_final_sgd")
              for i, a in enumerate(final(fsgd, "val_acc"))]
    row("8a", "SGD + lr 0.1 + wide + dropout is the best experiment.",
        "its final validation accuracy minus the best other experiment's, seed by seed; holds if positive",
        margin, paired(margin), "runner-up by mean: " + max((n for n in best if n != "08_final_sgd"), key=best.get))
    fsgd_loss = final(fsgd, "train_loss")
    row("8b", "Final SGD: loss below 0.15.", "training loss at the last epoch < 0.15", fsgd_loss,
        each_seed([v < 0.15 for v in fsgd_loss]), f"validation loss: {spread(final(fsgd, 'val_loss'))}")
    fsgd_acc = final(fsgd, "train_acc")
    row("8c", "Final SGD: accuracy near 0.95.", f"training accuracy at the last epoch within {NEAR} of 0.95",
        fsgd_acc, each_seed([abs(a - 0.95) <= NEAR for a in fsgd_acc]),
        f"validation accuracy: {spread(final(fsgd, 'val_acc'))}")
    return rows


def load(folder: Path) -> dict:
    """Every experiment's results in `folder`, by name, each read as records.read checks it; the report's eight must
    be there, 30 epochs each."""
    paths = sorted(folder.glob("[0-9][0-9]_*.json"))
    missing = [name for name in REPORT_EXPERIMENTS if folder / f"{name}.json" not in paths]
    if missing:
        raise UserError(f"{folder} lacks the results of {', '.join(missing)}; run make all first")
    return {path.stem: records.read(path, REPORT_EPOCHS if path.stem in REPORT_EXPERIMENTS else None,
                                    remedy=f"remake it with make all (or: python {path.stem}.py --seeds 3)")
            for path in paths}


METHOD = [
    "## How the claims are read",
    "",
    "- **Which accuracy.** The report says *precisión* without saying on which set. Claims about a "
    "configuration's accuracy are read on the validation set (the 10,000 test images), the one that says "
    "how the model generalises; the statements the report makes about training (Adam's loss below 0.2 *en "
    "entrenamiento*, the final SGD model's loss and accuracy) are read on the training set, measured correctly: "
    "the whole set re-evaluated in eval mode after the epoch. The incorrect running curve is never used.",
    "- **Which epoch.** *Ends*, *final* and unqualified figures mean the last epoch (30); *from epoch 5 on* means "
    "epochs 5 to 30; *through epoch 30* means every epoch.",
    f"- **Near, slight, similar.** *Near x*: within {NEAR} of x. *Slightly higher* and *marginal gain*: above "
    f"zero and at most {MARGINAL}. *About the same* or *similar* loss: within {SIMILAR:.0%} of the base's.",
    "- **Oscillation.** The number of epochs from 6 on in which validation accuracy falls below the epoch "
    "before; *considerable* means at least 5 such falls, the largest at least 0.01.",
    "- **Verdicts.** A statement about one configuration *holds* when every seed satisfies it, *does not hold* "
    "when none does, and is *within noise* when the seeds disagree. A comparison between two configurations is "
    "made seed by seed (the same seed gives both the same first weights and, at the same batch size, the "
    "same batches): it *holds* when every difference has the claimed sign and their mean is more than twice "
    "their standard deviation from zero, *does not hold* when the same is true of the opposite sign, and is "
    "*within noise* otherwise. With one seed there is no noise to measure, and the verdicts say only what that "
    "one run shows.",
    "- **Configurations** are the report's, never tuned to make a claim hold; the batch size (32) is the one "
    "thing the report does not state.",
]


