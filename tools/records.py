"""What a run records: results.json, one format for every run (the lab's results/ and runs/ alike), with its
version in `format`. A record holds the configuration, what differs from the lesson, the data it saw, the model,
optimizer, schedule, loss and step in words, and for each seed its history per epoch, confusion matrix,
predictions, seconds and its weights' file and checksum. Here too: the one reader that checks a record, and the
words every figure, table and legend uses for what ran.
"""
from __future__ import annotations

import functools
import hashlib
import inspect
import io
import json
import statistics
from dataclasses import asdict
from pathlib import Path

import torch
import torch.nn as nn

from tools import places, words
from tools.data import INPUTS
from tools.files import UserError

RECORD_FORMAT = 1  # raised whenever a field is added, renamed or dropped; readers refuse any other
HISTORY_KEYS = ("train_loss", "train_acc", "val_loss", "val_acc", "running_loss", "running_acc", "epoch_seconds",
                "lr")  # one value per epoch each
SHOWN = 15  # the first validation images, whose predictions every run records (and the report draws)
MISTAKES = 15  # the most confident wrong predictions a run records


# ---------------------------------------------------------------- making a record

def new_record(name: str, config, options, data, pieces: dict, lessons: dict, script: Path | None = None) -> dict:
    """A run's record before its seeds train. `pieces` are the schedule, loss and step it trains with, `lessons` the
    lesson's own (common's): those that differ are named in `differs`, which titles and tables show."""
    described = dict(schedule=describe_schedule(pieces["schedule"], config), loss=describe_function(pieces["loss"]),
                     step=describe_function(pieces["step"]))
    return dict(format=RECORD_FORMAT, experiment=name,
                script=digest(script.read_bytes()) if script else None, config=asdict(config), changed=options.changed,
                quick=options.quick, seeds=options.seeds, torch=torch.__version__,
                data=dict(source=str(data.source), train_size=len(data.train_x), val_size=len(data.val_x),
                          validation=data.validation, scaling=list(data.scaling)),
                **described, differs=[words for key, words in described.items() if pieces[key] is not lessons[key]],
                runs=[])


def add_run(record: dict, seed: int, seconds: float, model, optimizer, history: dict, confusion,
            predictions: dict) -> None:
    record["runs"].append(dict(seed=seed, seconds=round(seconds, 2), history=history, confusion=confusion,
                               **predictions, weights=dict(file=weights_file(seed), checksum=checksum(model.state_dict()))))
    record.update(model=describe_model(model), parameters=sum(p.numel() for p in model.parameters()),
                  layers=str(model), optimizer=describe_optimizer(optimizer))


def predictions(probabilities: torch.Tensor, data) -> dict:
    """What the model says of the first SHOWN validation images, and its MISTAKES most confident mistakes: for each,
    its place in its file (the test set's, or the training set's for held-out validation), the predicted class, its
    probability and the true class. `probabilities` are the model's for every validation image."""
    confidence, predicted = probabilities.max(1)
    wrong = (predicted != data.val_y).nonzero().squeeze(1)
    worst = wrong[confidence[wrong].argsort(descending=True, stable=True)][:MISTAKES]

    def described(rows):
        rows = rows.tolist()
        place = [data.val_index[i] for i in rows] if data.val_index is not None else rows
        return dict(index=place, predicted=predicted[rows].tolist(),
                    probability=[round(v, 4) for v in confidence[rows].tolist()], true=data.val_y[rows].tolist())
    return dict(shown=described(torch.arange(min(SHOWN, len(probabilities)))), mistakes=described(worst))


def weights_file(seed: int) -> str:
    return f"seed={seed}.pt"


def weights_bytes(model: nn.Module) -> bytes:
    buffer = io.BytesIO()
    torch.save({key: value.detach().cpu() for key, value in model.state_dict().items()}, buffer)
    return buffer.getvalue()


def checksum(state: dict) -> str:
    """A digest of the tensors themselves (names, dtypes, shapes, values), the same on every machine: the bytes
    torch.save writes differ between machines and versions, the tensors do not."""
    h = hashlib.sha256()
    for key, value in state.items():
        value = value.detach().cpu().contiguous().reshape(-1)  # 1-d: a 0-d tensor (BatchNorm's count) has no view
        h.update(f"{key}:{value.dtype}:{tuple(value.shape)}".encode())
        h.update(value.view(torch.uint8).numpy().tobytes() if value.numel() else b"")
    return h.hexdigest()[:16]


def json_bytes(record: dict) -> bytes:
    return (json.dumps(record, indent=1) + "\n").encode()


def digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()[:16]


# ---------------------------------------------------------------- reading one

def read(path: Path, epochs: int | None = None, remedy: str | None = None, keys: tuple = HISTORY_KEYS,
         any_format: bool = False) -> dict:
    """A record of this format, checked, so that a damaged or older file is named in one line, not a traceback;
    with `epochs`, its runs must be exactly that long. A reader of histories alone (the calibration's cells, made
    before the format) names the `keys` it needs, and `any_format`."""
    name = path.parent.parent.name if path.name == places.RESULTS else path.stem  # a run's, or the lab's NAME.json
    remedy = remedy or f"remake it (python {name}.py, or make all for the lab's)"
    try:
        record = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise UserError(f"{places.shown_path(path)} is not readable JSON ({e}); {remedy}") from None
    problem = record_problem(record, epochs, keys)
    if not problem and not any_format and record.get("format") != RECORD_FORMAT:
        problem = f"has record format {record.get('format')}, and this lab reads format {RECORD_FORMAT}"
    if problem:
        raise UserError(f"{places.shown_path(path)} {problem}; {remedy}")
    return record


def record_problem(record, epochs: int | None, keys: tuple = HISTORY_KEYS) -> str | None:
    """What is wrong with a results record, in words, or None."""
    if not isinstance(record, dict):
        return "does not hold a results record"
    absent = [key for key in ("experiment", "config", "model", "optimizer", "runs") if key not in record]
    if absent:
        return f"lacks {', '.join(absent)}"
    if not isinstance(record["runs"], list) or not record["runs"]:
        return "holds no runs"
    for run in record["runs"]:
        history = run.get("history") if isinstance(run, dict) else None
        if not isinstance(history, dict) or "seconds" not in run or "confusion" not in run:
            return "has a run without its history, seconds or confusion matrix"
        absent = [key for key in keys if not isinstance(history.get(key), list)]
        if absent:
            return f"has a run whose history lacks {', '.join(absent)}"
        lengths = {len(history[key]) for key in keys}
        if len(lengths) > 1:
            return "has a run whose curves have different lengths"
        if epochs is not None and lengths.pop() != epochs:
            return f"has a run of {len(history[keys[0]])} epochs, where exactly {epochs} are read"
        if not all(isinstance(v, (int, float)) for key in keys for v in history[key]):
            return "has a run whose curves hold something other than numbers"
    return None


def seeds_of(record: dict) -> list[int]:
    """The seeds a record's runs have, or will have before they train: from its first seed on, as many as it asks."""
    return list(range(record["config"]["seed"], record["config"]["seed"] + record["seeds"]))


def mean_seconds(record: dict) -> float:
    return statistics.mean(run["seconds"] for run in record["runs"])


def is_the_labs(record: dict) -> bool:
    """The record `make all` makes: an experiment script's own settings, the lab's seeds, the whole data set."""
    return not record["changed"] and tuple(seeds_of(record)) == places.LAB_SEEDS and on_the_whole_data(record) \
        and places.script(record["experiment"]).is_file()


def on_the_whole_data(record: dict) -> bool:
    """Whether a run trained on the whole training set (less the held-out images, if it validated on those), as a
    result does, and not --quick: the one rule for the lab's record, for what a name may choose, and for titles."""
    data, held_out = record["data"], record["config"]["validation"] != "test"
    return not record["quick"] and data["train_size"] + data["val_size"] * held_out >= places.FULL_DATA["train_size"] \
        and data["val_size"] >= places.FULL_DATA["val_size"]


def summary(run: dict) -> str:
    history = run["history"]
    best = max(range(len(history["val_acc"])), key=history["val_acc"].__getitem__)
    return (f"final validation accuracy {history['val_acc'][-1]:.4f} (best {history['val_acc'][best]:.4f} at epoch "
            f"{best + 1}), training loss {history['train_loss'][-1]:.4f}, {run['seconds']:.1f}s")


# ---------------------------------------------------------------- what ran, in words

def what_ran(record: dict, say=words.english) -> str:
    """The optimizer and everything that differs from the report's setup, in the words of every figure's title,
    the results table and compare's legend: "SGD lr 0.1, CosineAnnealingLR T_max 30, per epoch, batch 32"; a
    figure's in its language (`say`)."""
    config = record["config"]
    return ", ".join([record["optimizer"], *record["differs"], say("batch {size}", size=config["batch_size"]),
                      *([INPUTS[config["inputs"]]] if config["inputs"] != "unit" else []),
                      *([say("validated on held-out training images")] if config["validation"] != "test" else [])])


def how_made(record: dict, say=words.english) -> str:
    """How long and on how much it trained: "30 epochs, 3 seeds", and in capitals when not on the whole data."""
    config, data, seeds = record["config"], record["data"], len(record["runs"])
    said = (say("{epochs} epoch" + "s" * (config["epochs"] != 1), epochs=config["epochs"]) + ", "
            + say("{seeds} seed" + "s" * (seeds != 1), seeds=seeds))
    images = f"{data['train_size']:,}"
    if record["quick"]:
        said += "; " + say("QUICK RUN, {images} training images: not a result", images=images)
    elif not on_the_whole_data(record):
        said += "; " + say("ONLY {images} training images", images=images)
    return said


def describe_model(model: nn.Module) -> str:
    """One line: "MLP 784-128-64-10, ReLU, dropout 0.2" for the report's kind of model, else its layers in order."""
    layers = [m for m in model.modules() if not list(m.children())]
    linear = [m for m in layers if isinstance(m, nn.Linear)]
    if linear and all(isinstance(m, (nn.Linear, nn.ReLU, nn.Dropout, nn.Flatten)) for m in layers):
        widths = "-".join(map(str, [linear[0].in_features] + [m.out_features for m in linear]))
        rates = sorted({m.p for m in layers if isinstance(m, nn.Dropout)})
        return f"MLP {widths}, ReLU, " + (f"dropout {', '.join(f'{p:g}' for p in rates)}" if rates else "no dropout")

    def layer(m):
        if isinstance(m, nn.Linear):
            return f"Linear {m.in_features}→{m.out_features}"
        if isinstance(m, nn.Conv2d):
            return f"Conv2d {m.in_channels}→{m.out_channels} {'x'.join(map(str, m.kernel_size))}"
        if isinstance(m, nn.modules.dropout._DropoutNd):
            return f"{type(m).__name__} {m.p:g}"
        return type(m).__name__
    return ", ".join(map(layer, layers))


IMPLEMENTATION_CHOICES = {"foreach", "fused", "capturable", "differentiable"}  # same arithmetic, other kernels


def describe_optimizer(optimizer: torch.optim.Optimizer) -> str:
    """One line: the class, its lr, and every setting that differs from the class's default ("SGD lr 0.01, momentum 0.9")."""
    signature = inspect.signature(type(optimizer).__init__).parameters
    settings = [f"lr {float(optimizer.defaults['lr']):g}"] + [
        f"{key.replace('_', ' ')} {value:g}" if isinstance(value, float) else f"{key.replace('_', ' ')} {value}"
        for key, value in optimizer.defaults.items()
        if key != "lr" and key not in IMPLEMENTATION_CHOICES and key in signature and value != signature[key].default]
    return f"{type(optimizer).__name__} " + ", ".join(settings)


def describe_schedule(make_schedule, config) -> str:
    """One line: "no schedule", or the class of the scheduler `make_schedule` makes and every setting that differs
    from its default, stepped per epoch ("CosineAnnealingLR T_max 30, per epoch")."""
    schedule = make_schedule(torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=config.lr), config)
    if schedule is None:
        return "no schedule"
    signature = inspect.signature(type(schedule).__init__).parameters
    settings = [f"{key} {value:g}" if isinstance(value, float) else f"{key} {value}" for key, value in vars(schedule).items()
                if key in signature and key not in ("optimizer", "verbose", "last_epoch") and isinstance(value, (int, float, str))
                and value != signature[key].default]
    return f"{type(schedule).__name__} {', '.join(settings + ['per epoch'])}"


def describe_function(function) -> str:
    """A loss or a training step in words: the first line of its docstring, without the full stop ("Cross-entropy,
    the report's loss"), or its name; functools.partial(F.cross_entropy, label_smoothing=0.1) and a module such as
    nn.CrossEntropyLoss(label_smoothing=0.1) by what they are, with their settings."""
    if isinstance(function, functools.partial):
        settings = [*map(repr, function.args), *(f"{k}={v!r}" for k, v in function.keywords.items())]
        return f"{getattr(function.func, '__name__', repr(function.func))}({', '.join(settings)})"
    if isinstance(function, nn.Module):
        signature = inspect.signature(type(function).__init__).parameters
        settings = [f"{k}={v!r}" for k, v in vars(function).items() if k in signature and v != signature[k].default]
        return f"{type(function).__name__}({', '.join(settings)})"
    doc = (function.__doc__ or "").strip().split("\n")[0].rstrip(".")
    return doc or getattr(function, "__name__", repr(function))
