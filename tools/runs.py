"""Where a run writes, and what it records.

Every run has a folder of its own, runs/EXPERIMENT/WHAT-CHANGED/, named after the settings that differ from
its script's, and its seeds: `python 02_adam.py --epochs 1` writes runs/02_adam/epochs=1,seed=0/. Nothing a run
does touches another's folder. The lab's figures/ and results/ hold what `make all` makes, each script's own
settings over the lab's seeds on the whole data set; a run that makes that same record (its numbers aside)
writes there too, and no other run ever does.
"""
from __future__ import annotations

import functools
import hashlib
import inspect
import json
import statistics
from dataclasses import asdict
from pathlib import Path

import torch
import torch.nn as nn

from tools.files import png_bytes, write_together

ROOT = Path(__file__).resolve().parent.parent
RUNS = ROOT / "runs"
LAB_SEEDS = (0, 1, 2)  # make all's: the committed figures and results are means over these
FULL_DATA = dict(train_size=60_000, val_size=10_000)
FIGURE, RESULTS = "figure.png", "results.json"


def experiment_names(folder: Path = ROOT) -> list[str]:
    """Every experiment here: each file named like 01_base.py is one, the report's eight and any added."""
    return sorted(path.stem for path in folder.glob("[0-9][0-9]_*.py"))


def variant(changed: dict, seeds: list[int], quick: bool = False) -> str:
    """A run's folder name under runs/EXPERIMENT/: what differs from the script, then the seeds."""
    def shown(value):
        return "x".join(map(str, value)) if isinstance(value, (list, tuple)) else f"{value:g}" if isinstance(
            value, float) else str(value)
    parts = [f"{key}={shown(value)}" for key, value in changed.items()] + ["quick"] * quick
    parts.append(f"seed={seeds[0]}" if len(seeds) == 1 else f"seeds={seeds[0]}-{seeds[-1]}")
    return ",".join(parts)


def run_folder(record: dict) -> Path:
    return RUNS / record["experiment"] / variant(record.get("changed", {}), seeds_of(record), record.get("quick"))


def seeds_of(record: dict) -> list[int]:
    return [run["seed"] for run in record["runs"]]


def is_the_labs(record: dict) -> bool:
    """The record `make all` makes: an experiment script's own settings, the lab's seeds, the whole data set."""
    data = {key: record["data"][key] for key in FULL_DATA}
    return not record.get("changed") and not record.get("quick") and tuple(seeds_of(record)) == LAB_SEEDS \
        and data == FULL_DATA and (ROOT / f"{record['experiment']}.py").is_file()


def lab_files(name: str, root: Path | None = None) -> tuple[Path, Path]:
    """An experiment's figure and results in the lab's figures/ and results/ (or under `root`)."""
    root = root or ROOT
    return root / "figures" / f"{name}.png", root / "results" / f"{name}.json"


def targets(name: str, changed: dict, seeds: list[int], quick: bool, out: Path | None) -> list[Path]:
    """The folders a run will write, known before it trains, so that an unwritable one is refused first."""
    folder = out or RUNS / name / variant(changed, seeds, quick)
    lab = [] if out or changed or quick or tuple(seeds) != LAB_SEEDS or not (ROOT / f"{name}.py").is_file() \
        else [p.parent for p in lab_files(name)]
    return [folder, *lab]


RECORD_FORMAT = 1  # results.json's layout: raised whenever a field is added, renamed or dropped


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
            predictions: dict | None = None) -> None:
    from tools.trained import checksum, weights_file
    record["runs"].append(dict(seed=seed, seconds=round(seconds, 2), history=history, confusion=confusion,
                               **dict(predictions or {}),
                               weights=dict(file=weights_file(seed), checksum=checksum(model.state_dict()))))
    record.update(model=describe_model(model), parameters=sum(p.numel() for p in model.parameters()),
                  layers=str(model), optimizer=describe_optimizer(optimizer))
    print(f"{record['experiment']}: seed {seed}: {summary(record['runs'][-1])}", flush=True)


def save(record: dict, figure, out: Path | None = None, weights: dict[int, bytes] | None = None) -> str:
    """The run's figure, results and each seed's weights in its folder (`out`, or its place under runs/), and the
    figure and results in the lab's figures/ and results/ when it is the lab's own record: all whole, or none.
    Returns where, in words."""
    from tools.trained import weights_file
    folder = out or run_folder(record)
    content = json_bytes(record)
    image = png_bytes(figure, source=digest(content))
    files = {folder / FIGURE: image, folder / RESULTS: content,
             **{folder / weights_file(seed): data for seed, data in (weights or {}).items()}}
    if out is None and is_the_labs(record):
        figure_path, results_path = lab_files(record["experiment"])
        files.update({figure_path: image, results_path: content})
    try:
        write_together(files)
    except KeyboardInterrupt:
        if all(path.is_file() and path.read_bytes() == data for path, data in files.items()):
            raise KeyboardInterrupt(f"it had written {shown_path(folder)}/") from None
        raise
    lab = [shown_path(p) for p in files if p.parent != folder]
    kept = "".join(f", {weights_file(seed)}" for seed in weights or {})
    return f"{shown_path(folder)}/ ({FIGURE}, {RESULTS}{kept})" + (f", and the lab's {' and '.join(lab)}" if lab else "")


def shown_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def json_bytes(record: dict) -> bytes:
    return (json.dumps(record, indent=1) + "\n").encode()


def digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()[:16]


def summary(run: dict) -> str:
    history = run["history"]
    best = max(range(len(history["val_acc"])), key=history["val_acc"].__getitem__)
    return (f"final validation accuracy {history['val_acc'][-1]:.4f} (best {history['val_acc'][best]:.4f} at epoch "
            f"{best + 1}), training loss {history['train_loss'][-1]:.4f}, {run['seconds']:.1f}s")


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


def mean_seconds(record: dict) -> float:
    return statistics.mean(run["seconds"] for run in record["runs"])
