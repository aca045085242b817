"""A run's TensorBoard events, so that `tensorboard --logdir runs` shows every run (PyTorch's own tutorial on
Fashion-MNIST writes to runs/ too). For each seed, in the run's folder under tensorboard/seed=N/:

- per epoch: the three loss and the three accuracy curves (the running one named INCORRECT, as in the figures),
  overlaid in Custom Scalars, and the learning rate;
- at the end: the predictions against the truth over the first validation images, a precision-recall curve for
  each class, the settings with the final figures (HParams, one table for all runs), the model's graph, and a
  projector of the last hidden layer's outputs for the first validation images, with class names and thumbnails.

Written once the seed has trained, from its record (the training loop is untouched), into a staging folder that
`put_in_place` moves into the run's folder when the run is saved: a seed's events are there whole, or not at all.
"""
from __future__ import annotations

import importlib.util
import shutil
import time
import warnings
from pathlib import Path

import torch
import torch.nn as nn

from tools import words
from tools.drawing import image_grid
from tools.files import UserError

FOLDER = "tensorboard"  # in a run's folder
STAGING = ".tensorboard-staging"  # beside it, while the run trains
PROJECTED = 1000  # validation images in the projector
SHOWN = 8  # images in the predictions figure
CURVES = (("train", "training"), ("val", "validation"), ("running", "INCORRECT running (dropout on, weights moving)"))


def check_installed() -> None:
    """Before a run trains: tensorboard is there to write its events (found, not imported: that is slow)."""
    if importlib.util.find_spec("tensorboard") is None:
        raise UserError("tensorboard is not installed, and every run writes its events; install the lab's packages: "
                        ".venv/bin/pip install -r requirements.txt")


def last_hidden(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """What the model's last Linear layer reads: the last hidden layer's outputs (the pixels, for a model that is
    one Linear layer)."""
    last = [m for m in model.modules() if isinstance(m, nn.Linear)][-1]
    seen = []
    handle = last.register_forward_pre_hook(lambda module, inputs: seen.append(inputs[0].detach()))
    try:
        model.eval()
        with torch.inference_mode():
            model(x)
    finally:
        handle.remove()
    return seen[0].flatten(1).cpu()


def hparams(record: dict) -> dict:
    """The run's settings as TensorBoard's HParams table shows them: numbers and words."""
    config = record["config"]
    return {"experiment": record["experiment"], "optimizer": record["optimizer"], "lr": config["lr"],
            "batch_size": config["batch_size"], "hidden": "x".join(map(str, config["hidden"])),
            "dropout": config["dropout"], "epochs": config["epochs"], "inputs": config["inputs"],
            "validation": config["validation"], "schedule": record["schedule"], "loss": record["loss"],
            "step": record["step"], "quick": record["quick"], "train_size": record["data"]["train_size"]}


FINAL = {"final/validation accuracy": "val_acc", "final/validation loss": "val_loss",
         "final/training accuracy": "train_acc", "final/training loss": "train_loss"}


def write(staging: Path, record: dict, model: nn.Module, data, probabilities: torch.Tensor, classes) -> Path:
    """The last seed of `record` (trained as `model`) as event files in staging/seed=N/; returns that folder."""
    from torch.utils.tensorboard import SummaryWriter  # tensorboard is slow to import: only once a seed has trained
    from torch.utils.tensorboard.summary import hparams as hparams_summary

    run = record["runs"][-1]
    history, epochs = run["history"], len(run["history"]["val_acc"])
    folder = staging / f"seed={run['seed']}"
    shutil.rmtree(folder, ignore_errors=True)
    began = time.time() - sum(history["epoch_seconds"])  # each epoch's events at the time it ended
    ended = [began + sum(history["epoch_seconds"][:epoch]) for epoch in range(1, epochs + 1)]
    with SummaryWriter(str(folder)) as writer:
        for epoch in range(1, epochs + 1):
            for metric, name in (("loss", "loss"), ("acc", "accuracy")):
                for prefix, curve in CURVES:
                    writer.add_scalar(f"{name}/{curve}", history[f"{prefix}_{metric}"][epoch - 1], epoch,
                                      walltime=ended[epoch - 1])
            writer.add_scalar("learning rate", history["lr"][epoch - 1], epoch, walltime=ended[epoch - 1])
        writer.add_custom_scalars({"the three curves": {
            "loss": ["Multiline", [f"loss/{curve}" for _, curve in CURVES]],
            "accuracy": ["Multiline", [f"accuracy/{curve}" for _, curve in CURVES]]}})
        for tag, key in FINAL.items():
            writer.add_scalar(tag, history[key][-1], epochs, walltime=ended[-1])
        for summary in hparams_summary(hparams(record), {tag: history[key][-1] for tag, key in FINAL.items()}):
            writer.file_writer.add_summary(summary)
        images = data.val_x[:SHOWN].cpu().numpy()
        shown = dict(record, runs=[dict(run, shown={k: v[:SHOWN] for k, v in run["shown"].items()})])
        with words.in_english():  # TensorBoard's tags and pages are English
            figure = image_grid(shown, "shown", images, classes, 4, 0.75, layout=None)  # fixed margins: quicker
        writer.add_figure("predictions against the truth", figure, epochs, walltime=ended[-1])
        truth = data.val_y.cpu()
        for index, name in enumerate(classes):
            writer.add_pr_curve(f"precision-recall/{name}", truth == index, probabilities[:, index], epochs,
                                walltime=ended[-1])
        example = data.val_x[:1]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)  # torch.jit.trace, which add_graph uses, is deprecated
                writer.add_graph(model.eval(), example)
        except Exception:  # noqa: BLE001: a model torch.jit cannot trace has no graph; the rest stands
            pass
        rows = slice(0, min(PROJECTED, len(data.val_x)))
        writer.add_embedding(last_hidden(model, data.val_x[rows]), [classes[c] for c in data.val_y[rows].tolist()],
                             data.val_x[rows].cpu().reshape(-1, 1, 28, 28), epochs, tag="last hidden layer")
    return folder


def put_in_place(folder: Path, staged: dict[int, Path]) -> None:
    """Each seed's staged events into folder/tensorboard/seed=N/, replacing that seed's earlier ones."""
    for seed, source in staged.items():
        target = folder / FOLDER / f"seed={seed}"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(target, ignore_errors=True)
        shutil.move(str(source), str(target))
    shutil.rmtree(folder / STAGING, ignore_errors=True)
