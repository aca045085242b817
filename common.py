"""What the report's eight experiments share, top to bottom as the course teaches it: the configuration, the
model and its optimizer, the training step, one epoch and its evaluation, the training loop, the figure, and
`run`, which runs an experiment (`main` for a script, `common.run("my_lr01", lr=0.1)` from a notebook).
An experiment changes fields of `Config` and may bring its own model, optimizer, schedule, loss or step: see the
README's "A new experiment". What a run records and where it writes is in tools/, below this lesson.
"""
from __future__ import annotations

import math
import sys
import textwrap
import time
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from tools import board, config as flags, records, runs, words
from tools.data import CLASSES, VALIDATION, Data, load_data  # noqa: F401 (Data, load_data: notebooks and tests)
from tools.drawing import band, seeds_legend
from tools.files import Diverged, UserError, one_line_errors, pyplot


# ---------------------------------------------------------------- configuration

@dataclass(frozen=True)
class Config:
    """One training run: the report's base. A script changes some fields; flags change any (--batch-size 100)."""
    optimizer: str = "sgd"       # what make_optimizer builds: "sgd" (plain, no momentum) or "adam"
    lr: float = 1e-3             # learning rate
    batch_size: int = 32         # the report gives none; 32 fits its curves (the course guide used 100)
    hidden: tuple = (128, 64)    # sizes of the MLP's hidden layers
    dropout: float = 0.2         # dropout after each hidden layer, at least 0 and below 1
    epochs: int = 30             # passes over the training set
    inputs: str = "unit"         # pixels in [0, 1] as the report says; "symmetric" [-1, 1]; "standard" mean 0, sd 1
    seed: int = 0                # sets the first weights, the dropout masks and the batch order
    threads: int = 1             # CPU threads; the lab runs one training per core rather than more threads
    device: str = "auto"         # "auto" (cuda, then mps, then cpu), "cpu", "cuda" or "mps"
    validation: str = "test"     # "test" images, as the report; "heldout": 10,000 training images set aside


# ---------------------------------------------------------------- model, optimizer, schedule

def make_model(config: Config) -> nn.Module:
    """The report's MLP: 784 pixels in, ReLU hidden layers of `config.hidden` units, dropout after each, 10 out."""
    layers, width = [], 784
    for size in config.hidden:
        layers += [nn.Linear(width, size), nn.ReLU()] + ([nn.Dropout(config.dropout)] if config.dropout else [])
        width = size
    return nn.Sequential(*layers, nn.Linear(width, 10))


def make_optimizer(parameters, config: Config) -> torch.optim.Optimizer:
    """The report's optimizers: plain SGD (no momentum) or Adam, at `config.lr`."""
    parameters = list(parameters)
    if config.optimizer == "sgd":
        return torch.optim.SGD(parameters, lr=config.lr)
    if config.optimizer == "adam":
        # Fused: Adam's arithmetic in one kernel per tensor, faster (tools/bench/STEP.md); CPU and CUDA only.
        return torch.optim.Adam(parameters, lr=config.lr, fused=parameters[0].device.type in ("cpu", "cuda"))
    raise UserError(f"unknown optimizer {config.optimizer!r}; use sgd or adam, or pass your own make_optimizer")


def no_schedule(optimizer, config: Config):
    """No schedule: the learning rate stays config.lr, as in the report. A schedule of one's own returns a
    torch.optim.lr_scheduler object, which `train` steps once at the end of each epoch (never per batch)."""
    return None


# ---------------------------------------------------------------- loss and training step

def cross_entropy(logits, targets):
    """Cross-entropy, the report's loss."""
    return F.cross_entropy(logits, targets)


def train_step(model, optimizer, inputs, targets, loss=cross_entropy):
    """One batch: forward, loss, backward, one optimizer step.
    Returns the logits and the loss, for the running figures."""
    logits = model(inputs)
    value = loss(logits, targets)
    optimizer.zero_grad(set_to_none=True)
    value.backward()
    optimizer.step()
    return logits, value


# ---------------------------------------------------------------- training and evaluation

def train_epoch(model, optimizer, x, y, batch_size: int, generator: torch.Generator, loss=cross_entropy,
                step=train_step) -> tuple[float, float]:
    """One pass over (x, y) in a fresh random order, one `step` per batch. Returns the mean loss and accuracy of
    the batches as they were trained on: the *incorrect* training figures the course warns about (dropout on,
    weights moving), kept on purpose to be drawn next to the correct ones (`evaluate`, after the epoch)."""
    model.train()
    order = torch.randperm(len(x), generator=generator).to(x.device)
    loss_sum = torch.zeros((), device=x.device)
    correct = torch.zeros((), dtype=torch.long, device=x.device)
    for start in range(0, len(x), batch_size):
        batch = order[start:start + batch_size]
        inputs, targets = x[batch], y[batch]
        logits, value = step(model, optimizer, inputs, targets, loss)
        # Summed on the device, read once per epoch: a .item() per step would stall a GPU every step.
        loss_sum += value.detach() * len(batch)
        correct += (logits.argmax(1) == targets).sum()
    return loss_sum.item() / len(x), correct.item() / len(x)


@torch.inference_mode()
def logits_in_chunks(model, x, chunk: int = 10_000):
    """The model's outputs over all of x, in eval mode (no dropout), a chunk of rows at a time to bound memory."""
    model.eval()
    for start in range(0, len(x), chunk):
        yield slice(start, start + chunk), model(x[start:start + chunk])


@torch.inference_mode()
def evaluate(model, x, y, chunk: int = 10_000) -> tuple[float, float]:
    """Mean loss and accuracy over all of (x, y), in eval mode, weights fixed: the correct figures."""
    loss_sum = torch.zeros((), device=x.device)
    correct = torch.zeros((), dtype=torch.long, device=x.device)
    for rows, logits in logits_in_chunks(model, x, chunk):
        loss_sum += F.cross_entropy(logits, y[rows], reduction="sum")
        correct += (logits.argmax(1) == y[rows]).sum()
    return loss_sum.item() / len(x), correct.item() / len(x)


def train(config: Config, data: Data, make_model=make_model, make_optimizer=make_optimizer,
          make_schedule=no_schedule, loss=cross_entropy, step=train_step, on_epoch=None,
          log=partial(print, flush=True)):
    """Train one model from `config.seed`: the model, its optimizer and the history of every per-epoch figure.
    After each epoch, `on_epoch(epoch, figures)` sees that epoch's figures (the search stops a trial there)."""
    torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)  # the one place randomness is seeded: first weights and dropout masks
    shuffle = torch.Generator().manual_seed(config.seed)  # own stream: the same batches whatever the model draws
    model = make_model(config).to(data.train_x.device)
    optimizer = make_optimizer(model.parameters(), config)
    schedule = make_schedule(optimizer, config)
    history = {}  # each figure's value per epoch: the record's history (tools/records.py)
    for epoch in range(1, config.epochs + 1):
        started = time.perf_counter()
        lr = optimizer.param_groups[0]["lr"]  # this epoch's: a schedule changes it between epochs
        running_loss, running_acc = train_epoch(model, optimizer, data.train_x, data.train_y, config.batch_size,
                                                shuffle, loss, step)
        train_loss, train_acc = evaluate(model, data.train_x, data.train_y)
        val_loss, val_acc = evaluate(model, data.val_x, data.val_y)
        epoch_seconds = time.perf_counter() - started  # evaluate's .item() has waited for the device
        if isinstance(schedule, torch.optim.lr_scheduler.ReduceLROnPlateau):
            schedule.step(val_loss)  # the one schedule that needs a figure: it lowers lr when val_loss stalls
        elif schedule is not None:
            schedule.step()
        figures = dict(train_loss=train_loss, train_acc=train_acc, val_loss=val_loss, val_acc=val_acc,
                       running_loss=running_loss, running_acc=running_acc, epoch_seconds=epoch_seconds, lr=lr)
        if not all(map(math.isfinite, figures.values())):
            raise Diverged(f"training diverged: the loss is not finite at epoch {epoch} (lr {lr:g}); "
                           f"try a smaller --lr")
        for key, value in figures.items():
            history.setdefault(key, []).append(value)
        log(f"epoch {epoch:3d}/{config.epochs}  train loss {train_loss:.4f} acc {train_acc:.4f}  "
            f"val loss {val_loss:.4f} acc {val_acc:.4f}  (running {running_loss:.4f} {running_acc:.4f})  "
            f"{epoch_seconds:.1f}s")
        if on_epoch is not None:
            on_epoch(epoch, figures)
    return model, optimizer, history


def probabilities(model, x) -> torch.Tensor:
    """The model's class probabilities for each image of x, in eval mode."""
    return torch.cat([logits.softmax(1) for _, logits in logits_in_chunks(model, x)])


def confusion_matrix(model, x, y) -> list[list[int]]:
    """Counts of (true class, predicted class) over (x, y), in eval mode."""
    predicted = torch.cat([logits.argmax(1) for _, logits in logits_in_chunks(model, x)])
    return torch.bincount(y * 10 + predicted, minlength=10 * len(CLASSES)).reshape(10, 10).tolist()


# ---------------------------------------------------------------- the figure

CURVES = (  # history key prefix, legend (in English, and words.say's language), line style
    ("train", "training (whole set, eval mode, after the epoch)", dict(color="C0", lw=2)),
    ("val", "validation ({split})", dict(color="C1", lw=2)),
    ("running", "INCORRECT training: running mean over the epoch's batches\n(dropout on, weights moving)",
     dict(color="0.45", lw=1.2, ls="--", marker="x", ms=4)),
)


def draw(record: dict):
    """Loss and accuracy per epoch, three curves each, titled with what ran and how long, in words.say's language."""
    runs_, config, say = record["runs"], record["config"], words.say
    loss = "cross-entropy loss (running: {loss})" if record["loss"] in record["differs"] else "cross-entropy loss"
    fig, axes = pyplot().subplots(1, 2, figsize=(11, 5.2), layout="constrained")
    for ax, metric, label in zip(axes, ("loss", "acc"), (say(loss, loss=record["loss"]), say("accuracy"))):
        for prefix, legend, style in CURVES:
            band(ax, [run["history"][f"{prefix}_{metric}"] for run in runs_],
                 label=say(legend, split=say(VALIDATION[config["validation"]])), **style)
        ax.set(xlabel=say("epoch"), ylabel=textwrap.fill(label, 55))  # a long loss name wraps, not overflows
        ax.grid(alpha=0.3)
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncol=3, fontsize=8.5,
               title=seeds_legend(len(runs_)), title_fontsize=8.5)
    what = (say("{experiment}: {model} ({parameters:,} parameters)", **record),
            f"{records.what_ran(record, say)}; {records.how_made(record, say)}")
    fig.suptitle("\n".join(textwrap.fill(line, 110) for line in what), fontsize=11)  # long ones wrap, not overflow
    return fig


# ---------------------------------------------------------------- one experiment: from a notebook, from a script

def run(name: str, make_model=make_model, make_optimizer=make_optimizer, make_schedule=no_schedule,
        loss=cross_entropy, step=train_step, argv=None, description: str | None = None, script=None, **changes):
    """Train the experiment `name`: Config with `changes` (and the options seeds=3, quick=True, data_dir, out), for
    each seed, with these pieces; write its figure, results and weights in a folder of its own under runs/. Returns
    the record and the last seed's model. A script's main passes its command line's flags as `argv`."""
    config, options = flags.configure(name, Config(), changes, description, argv)
    for ignored in flags.unread(config, options.given, make_model, make_optimizer, make_schedule):
        print(f"{name}: {ignored} is not read by this experiment's model, optimizer or schedule: it changes nothing")
    data = load_data(options.data_dir, config.device, config.inputs, validation=config.validation,
                     sizes=(flags.QUICK["train_size"], flags.QUICK["val_size"]) if options.quick else None)
    pieces, lessons = dict(schedule=make_schedule, loss=loss, step=step), dict(schedule=no_schedule, loss=cross_entropy,
                                                                                step=train_step)
    record, weights, boards = records.new_record(name, config, options, data, pieces, lessons, script), {}, {}
    where = runs.place(record, runs.built(make_model, make_optimizer, config), options.out)  # its own, claimed
    print(f"{name}: {' '.join(f'{k}={v}' for k, v in config.__dict__.items())} seeds={options.seeds}")
    print(f"data: {data.source} ({len(data.train_x)} training, {len(data.val_x)} validation images, "
          f"{VALIDATION[data.validation]})", flush=True)
    for seed in range(config.seed, config.seed + options.seeds):
        started = time.perf_counter()
        model, optimizer, history = train(replace(config, seed=seed), data, make_model, make_optimizer,
                                          make_schedule, loss, step)
        seconds, chances = time.perf_counter() - started, probabilities(model, data.val_x)
        records.add_run(record, seed, seconds, model, optimizer, history,
                        confusion_matrix(model, data.val_x, data.val_y), records.predictions(chances, data))
        weights[seed] = records.weights_bytes(model)
        boards[seed] = board.write(where.folder / board.STAGING, record, model, data, chances, CLASSES)
        print(f"{name}: seed {seed}: {records.summary(record['runs'][-1])}", flush=True)
    with words.speaking(options.lang):  # the figure's language: English unless --lang or $LAB_LANG says
        print(f"{name}: wrote {runs.save(record, draw, where, weights, boards)}")
    return record, model


def main(script: str, **keywords) -> None:
    """`run` for a script: its file names the run, its docstring describes it, flags change it, errors are a line."""
    name = Path(script).stem
    with one_line_errors(name):
        run(name, argv=sys.argv[1:], description=sys.modules["__main__"].__doc__, script=Path(script), **keywords)
