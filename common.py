"""What the experiments share: configuration, model, training, evaluation, figure and results, command line, data.

An experiment script is its docstring and one call, `common.main(__file__, <what it changes>)`: see 01_base.py.
It changes fields of `Config` (`lr=0.1`), and may bring its own model or optimizer
(`make_model=small_cnn`, `make_optimizer=sgd_with_momentum`): see the README's "A new experiment".
Run `python common.py` to locate (or download) the data and print where it is.
"""
from __future__ import annotations

import argparse
import gzip
import inspect
import io
import json
import math
import os
import signal
import struct
import sys
import threading
import time
import zlib
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields, replace
from functools import partial
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parent
CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")


class UserError(Exception):
    """A problem the user can fix; printed as one line, without a traceback."""


# ---------------------------------------------------------------- configuration

def positive(kind):
    """An argparse type: a finite number above zero."""
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not value > 0 or not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
        return value
    return parse


def fraction(text):
    """An argparse type: a number in [0, 1)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 0 and below 1, got {text}")
    return value


INPUTS = {"unit": "pixels in [0, 1]", "symmetric": "pixels in [-1, 1]", "standard": "pixels standardised"}


def flag(default, help, **argparse_options):
    """A field of Config that is also a command-line flag (batch_size: --batch-size)."""
    return field(default=default, metadata=dict(help=help, **argparse_options))


@dataclass(frozen=True)
class Config:
    """One training run. A script changes some fields from these defaults, the report's base; flags change any."""
    optimizer: str = flag("sgd", "what the default make_optimizer builds: plain SGD (no momentum) or Adam",
                          choices=("sgd", "adam"))
    lr: float = flag(1e-3, "learning rate", type=positive(float))
    batch_size: int = flag(32, "the report gives none; 32 fits its curves, the course guide used 100",
                           type=positive(int))
    hidden: tuple = flag((128, 64), "sizes of the MLP's hidden layers", type=positive(int), nargs="+")
    dropout: float = flag(0.2, "dropout after each hidden layer", type=fraction)
    epochs: int = flag(30, "passes over the training set", type=positive(int))
    inputs: str = flag("unit", "pixel scaling: unit is [0, 1] (ToTensor, as the report says), symmetric is [-1, 1] "
                       "(Normalize((0.5,), (0.5,)), as most tutorials do), standard is the training set's mean 0, "
                       "sd 1", choices=tuple(INPUTS))
    seed: int = flag(0, "sets the first weights, the dropout masks and the batch order", type=int)
    threads: int = flag(1, "CPU threads for this training. A batch-32 MLP gains little from more, so the lab "
                        "runs one training per core instead; the count changes the last digits of the results",
                        type=positive(int))
    device: str = flag("auto", "auto: cuda, then mps, then cpu", choices=("auto", "cpu", "cuda", "mps"))


# ---------------------------------------------------------------- model and optimizer

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
        # Fused: all of Adam's arithmetic for a tensor in one kernel instead of a dozen operators, faster on
        # the CPU (bench/STEP.md). PyTorch has the fused kernel for CPU and CUDA only.
        return torch.optim.Adam(parameters, lr=config.lr, fused=parameters[0].device.type in ("cpu", "cuda"))
    raise UserError(f"unknown optimizer {config.optimizer!r}; use sgd or adam, or pass your own make_optimizer")


# ---------------------------------------------------------------- training and evaluation

HISTORY_KEYS = ("train_loss", "train_acc", "val_loss", "val_acc", "running_loss", "running_acc", "epoch_seconds")


def train(config: Config, data: Data, make_model=make_model, make_optimizer=make_optimizer,
          log=partial(print, flush=True)):
    """Train one model from `config.seed`: the model, its optimizer and the history of every per-epoch figure."""
    torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)  # the one place randomness is seeded: first weights and dropout masks
    shuffle = torch.Generator().manual_seed(config.seed)  # own stream: the same batches whatever the model draws
    model = make_model(config).to(data.train_x.device)
    optimizer = make_optimizer(model.parameters(), config)
    history = {key: [] for key in HISTORY_KEYS}
    for epoch in range(1, config.epochs + 1):
        started = time.perf_counter()
        running_loss, running_acc = train_epoch(model, optimizer, data.train_x, data.train_y, config.batch_size,
                                                shuffle)
        train_loss, train_acc = evaluate(model, data.train_x, data.train_y)
        val_loss, val_acc = evaluate(model, data.val_x, data.val_y)
        epoch_seconds = time.perf_counter() - started  # evaluate's .item() has waited for the device
        figures = dict(train_loss=train_loss, train_acc=train_acc, val_loss=val_loss, val_acc=val_acc,
                       running_loss=running_loss, running_acc=running_acc, epoch_seconds=epoch_seconds)
        if not all(map(math.isfinite, figures.values())):
            raise UserError(f"training diverged: the loss is not finite at epoch {epoch} (lr {config.lr:g}); "
                            f"try a smaller --lr")
        for key, value in figures.items():
            history[key].append(value)
        log(f"epoch {epoch:3d}/{config.epochs}  train loss {train_loss:.4f} acc {train_acc:.4f}  "
            f"val loss {val_loss:.4f} acc {val_acc:.4f}  (running {running_loss:.4f} {running_acc:.4f})  "
            f"{epoch_seconds:.1f}s")
    return model, optimizer, history


def train_epoch(model, optimizer, x, y, batch_size: int, generator: torch.Generator) -> tuple[float, float]:
    """One pass over (x, y) in a fresh random order.

    Returns the mean loss and accuracy of the batches as they were trained on: the *incorrect* training
    figures the course warns about, since dropout is on and the weights move during the epoch. They are
    kept on purpose, to be drawn next to the correct ones (`evaluate` after the epoch).
    """
    model.train()
    order = torch.randperm(len(x), generator=generator).to(x.device)
    loss_sum = torch.zeros((), device=x.device)
    correct = torch.zeros((), dtype=torch.long, device=x.device)
    for start in range(0, len(x), batch_size):
        batch = order[start:start + batch_size]
        inputs, targets = x[batch], y[batch]
        logits = model(inputs)
        loss = F.cross_entropy(logits, targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        # Summed on the device, read once per epoch: a .item() per step would stall a GPU every step.
        loss_sum += loss.detach() * len(batch)
        correct += (logits.argmax(1) == targets).sum()
    return loss_sum.item() / len(x), correct.item() / len(x)


@torch.inference_mode()
def logits_in_chunks(model, x, chunk: int = 10_000):
    """The model's outputs over all of x, in eval mode (no dropout), a chunk at a time to bound memory."""
    model.eval()
    for start in range(0, len(x), chunk):
        yield x[start:start + chunk], model(x[start:start + chunk])


@torch.inference_mode()
def evaluate(model, x, y, chunk: int = 10_000) -> tuple[float, float]:
    """Mean loss and accuracy over all of (x, y), in eval mode, weights fixed: the correct figures."""
    loss_sum = torch.zeros((), device=x.device)
    correct = torch.zeros((), dtype=torch.long, device=x.device)
    start = 0
    for inputs, logits in logits_in_chunks(model, x, chunk):
        targets = y[start:start + len(inputs)]
        start += len(inputs)
        loss_sum += F.cross_entropy(logits, targets, reduction="sum")
        correct += (logits.argmax(1) == targets).sum()
    return loss_sum.item() / len(x), correct.item() / len(x)


def confusion_matrix(model, x, y) -> list[list[int]]:
    """Counts of (true class, predicted class) over (x, y), in eval mode."""
    predicted = torch.cat([logits.argmax(1) for _, logits in logits_in_chunks(model, x)])
    return torch.bincount(y * 10 + predicted, minlength=100).reshape(10, 10).tolist()


# ---------------------------------------------------------------- one experiment, from the command line

QUICK = dict(epochs=2, train_size=2000, val_size=1000)


def experiment_names(folder: Path = ROOT) -> list[str]:
    """Every experiment here: each file named like 01_base.py is one, the report's eight and any added."""
    return sorted(path.stem for path in folder.glob("[0-9][0-9]_*.py"))


def main(script: str, make_model=make_model, make_optimizer=make_optimizer, **changes) -> None:
    """Run the experiment of `script`: its file name names the run, its docstring describes it, and it
    trains Config with `changes`, flags on top, using `make_model(config)` and `make_optimizer(parameters, config)`."""
    name = Path(script).stem
    description = sys.modules["__main__"].__doc__
    try:
        config = replace(Config(), **changes)
    except TypeError:
        unknown = sorted(set(changes) - {f.name for f in fields(Config)})
        sys.exit(f"{name}: error: main() got {', '.join(unknown)}, which Config does not have; it has "
                 f"{', '.join(f.name for f in fields(Config))}")
    config, options = parse_args(name, config, description)
    files = {}
    try:
        record, out = run_experiment(name, config, options, make_model, make_optimizer)
        files = outputs(record, out)
        write_together(files)
    except UserError as e:
        sys.exit(f"{name}: error: {e}")
    except KeyboardInterrupt:
        written = files and all(path.is_file() and path.read_bytes() == content for path, content in files.items())
        sys.exit(f"{name}: interrupted; " + (f"it had written {' and '.join(map(str, files))}" if written else
                                              "nothing was written"))
    print(f"{name}: wrote {' and '.join(map(str, files))}")


def parse_args(name: str, config: Config, description: str | None, argv=None) -> tuple[Config, argparse.Namespace]:
    """Config's fields as flags, defaulting to `config`; returns the config they make and the other options."""
    p = argparse.ArgumentParser(prog=f"{name}.py", description=description,
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    for f in fields(Config):
        p.add_argument("--" + f.name.replace("_", "-"), default=getattr(config, f.name), **f.metadata)
    p.add_argument("--seeds", type=positive(int), default=1,
                   help="independent runs, from seeds seed, seed+1, ...; figures show their mean and range")
    p.add_argument("--data-dir", help=DATA_DIR_HELP)
    p.add_argument("--out", type=Path, default=None,
                   help="folder for figures/ and results/ (default: the project, or scratch/ with --quick)")
    p.add_argument("--quick", action="store_true",
                   help=f"smoke run: at most {QUICK['epochs']} epochs on {QUICK['train_size']} training and "
                        f"{QUICK['val_size']} validation images, written under scratch/")
    args = p.parse_args(argv)
    config = replace(config, **{f.name: as_field(getattr(args, f.name)) for f in fields(Config)})
    if args.quick:
        config = replace(config, epochs=min(config.epochs, QUICK["epochs"]))
    return config, args


def as_field(value):
    return tuple(value) if isinstance(value, list) else value  # argparse's nargs gives lists; Config holds tuples


def run_experiment(name: str, config: Config, options: argparse.Namespace, make_model=make_model,
                   make_optimizer=make_optimizer) -> tuple[dict, Path]:
    """Every check that can fail before training, then the trainings: the results record and the output folder."""
    device = resolve_device(config.device)
    config = replace(config, device=device.type)
    out = options.out or (ROOT / "scratch" if options.quick else ROOT)
    check_writable(out / "figures", out / "results")
    data = load_data(options.data_dir, device, config.inputs)
    if options.quick:
        data = replace(data, train_x=data.train_x[:QUICK["train_size"]], train_y=data.train_y[:QUICK["train_size"]],
                       val_x=data.val_x[:QUICK["val_size"]], val_y=data.val_y[:QUICK["val_size"]])
    print(f"{name}: {' '.join(f'{k}={v}' for k, v in asdict(config).items())} seeds={options.seeds}")
    print(f"data: {data.source} ({len(data.train_x)} training, {len(data.val_x)} validation images)", flush=True)
    record = dict(experiment=name, config=asdict(config), seeds=options.seeds, torch=torch.__version__,
                  data=dict(source=str(data.source), train_size=len(data.train_x), val_size=len(data.val_x)), runs=[])
    for seed in range(config.seed, config.seed + options.seeds):
        if options.seeds > 1:
            print(f"seed {seed}")
        started = time.perf_counter()
        model, optimizer, history = train(replace(config, seed=seed), data, make_model, make_optimizer)
        record["runs"].append(dict(seed=seed, seconds=round(time.perf_counter() - started, 2), history=history,
                                   confusion=confusion_matrix(model, data.val_x, data.val_y)))
        record.update(model=describe_model(model), parameters=sum(p.numel() for p in model.parameters()),
                      layers=str(model), optimizer=describe_optimizer(optimizer))
        print(f"{name}: seed {seed}: {summary(record['runs'][-1])}")
    return record, out


def summary(run: dict) -> str:
    history = run["history"]
    best = max(range(len(history["val_acc"])), key=history["val_acc"].__getitem__)
    return (f"final validation accuracy {history['val_acc'][-1]:.4f} (best {history['val_acc'][best]:.4f} at epoch "
            f"{best + 1}), training loss {history['train_loss'][-1]:.4f}, {run['seconds']:.1f}s")


def resolve_device(name: str) -> torch.device:
    cuda, mps = torch.cuda.is_available(), torch.backends.mps.is_available()
    if name == "auto":
        name = "cuda" if cuda else "mps" if mps else "cpu"
    if (name == "cuda" and not cuda) or (name == "mps" and not mps):
        raise UserError(f"--device {name}: no {name.upper()} device is available here; use --device cpu or auto")
    return torch.device(name)


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


# ---------------------------------------------------------------- figure and results

CURVES = (  # history key prefix, legend, line style
    ("train", "training (whole set, eval mode, after the epoch)", dict(color="C0", lw=2)),
    ("val", "validation (test set)", dict(color="C1", lw=2)),
    ("running", "INCORRECT training: running mean over the epoch's batches\n(dropout on, weights moving)",
     dict(color="0.45", lw=1.2, ls="--", marker="x", ms=4)),
)


def pyplot():
    import matplotlib
    matplotlib.use("Agg")  # files only, no window: the same on a laptop, a server and CI
    import matplotlib.pyplot as plt
    return plt


def band(ax, curves: list[list[float]], **style) -> None:
    """The mean of several runs' curves, and with more than one run a band from the lowest to the highest."""
    values = torch.tensor(curves, dtype=torch.float64)
    epochs = range(1, values.shape[1] + 1)
    if len(epochs) == 1:
        style = {"marker": "o", **style}  # a one-epoch run is a point, invisible as a line
    ax.plot(epochs, values.mean(0), **style)
    if len(curves) > 1:
        ax.fill_between(epochs, values.min(0).values, values.max(0).values, color=style["color"], alpha=0.2, lw=0)


def seeds_legend(runs: int) -> str | None:
    return f"mean of {runs} seeds, band: lowest to highest seed" if runs > 1 else None


def draw(record: dict):
    """Loss and accuracy per epoch, three curves each, titled with what ran."""
    runs, config = record["runs"], record["config"]
    fig, axes = pyplot().subplots(1, 2, figsize=(11, 5.2), layout="constrained")
    for ax, metric, label in zip(axes, ("loss", "acc"), ("cross-entropy loss", "accuracy")):
        for prefix, legend, style in CURVES:
            band(ax, [run["history"][f"{prefix}_{metric}"] for run in runs], label=legend, **style)
        ax.set(xlabel="epoch", ylabel=label)
        ax.grid(alpha=0.3)
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncol=3, fontsize=8.5,
               title=seeds_legend(len(runs)), title_fontsize=8.5)
    fig.suptitle(f"{record['experiment']}: {record['model']} ({record['parameters']:,} parameters)\n"
                 f"{record['optimizer']}, batch {config['batch_size']}, {INPUTS[config['inputs']]}", fontsize=11)
    return fig


def figure_bytes(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=150)
    pyplot().close(fig)
    return buffer.getvalue()


def json_bytes(record: dict) -> bytes:
    return (json.dumps(record, indent=1) + "\n").encode()


def outputs(record: dict, out: Path) -> dict[Path, bytes]:
    """An experiment's figure and results, to be written together (`write_together`): both new, or both old."""
    name = record["experiment"]
    return {out / "figures" / f"{name}.png": figure_bytes(draw(record)),
            out / "results" / f"{name}.json": json_bytes(record)}


def write_together(files: dict[Path, bytes]) -> None:
    """Write every file whole or leave every one as it was: each goes to a temporary file beside it first,
    then all are moved into place at once, with Ctrl-C held back for those few microseconds."""
    temporaries = {path: path.with_name(f".{path.name}.{os.getpid()}.tmp") for path in files}
    try:
        for path, content in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            temporaries[path].write_bytes(content)
        with interrupts_held():
            for path, temporary in temporaries.items():
                os.replace(temporary, path)
    finally:
        for temporary in temporaries.values():
            temporary.unlink(missing_ok=True)


def update_section(path: Path, name: str, lines: list[str]) -> bool:
    """Rewrite the lines between `<!-- NAME: ... -->` and `<!-- end of NAME -->` in a Markdown file, so that no
    number in the README is typed by hand. False if the file or its markers are not there."""
    text = path.read_text() if path.is_file() else ""
    begin, end = f"<!-- {name}: ", f"<!-- end of {name} -->"
    if begin not in text or end not in text.split(begin, 1)[1]:
        return False
    head, rest = text.split(begin, 1)
    marker, tail = rest.split("\n", 1)[0], rest.split(end, 1)[1]
    write_together({path: "\n".join([head + begin + marker, *lines, end + tail]).encode()})
    return True


def save_figure(fig, path: Path) -> None:
    write_together({path: figure_bytes(fig)})


@contextmanager
def interrupts_held():
    """Ctrl-C (and a polite kill) wait until the block is done, so it is never left half-way; then they act."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signals reach the main thread only
        return
    caught = []
    previous = {number: signal.signal(number, lambda number, frame: caught.append(number))
                for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        for number in caught[:1]:
            signal.raise_signal(number)


def check_writable(*folders: Path) -> None:
    """Refuse now, before any training, an output folder that cannot be written; leave no trace of the check."""
    for folder in folders:
        created = [p for p in (folder, *folder.parents) if not p.exists()]  # deepest first
        probe = folder / f".write-check.{os.getpid()}"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as e:
            raise UserError(f"cannot write to {folder} ({e.strerror or e}); choose another --out") from None
        finally:
            for path in created:
                try:
                    path.rmdir()
                except OSError:
                    break


# ---------------------------------------------------------------- data

PROJECT_DATA_DIR = ROOT / "data"
DEBIAN_DATA_DIR = Path("/usr/share/datasets/fashion-mnist")
SPLIT_FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
               "val": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
DATA_DIR_HELP = (f"folder with the four Fashion-MNIST files; when not given: $FASHION_MNIST_DIR, then "
                 f"{PROJECT_DATA_DIR}, then {DEBIAN_DATA_DIR}")
HOW_TO_GET_DATA = ("install Debian's package (sudo apt-get install dataset-fashion-mnist) "
                   "or run once with internet access, which downloads it into data/")


@dataclass
class Data:
    train_x: torch.Tensor  # float32 [N, 784], scaled as Config.inputs says
    train_y: torch.Tensor  # int64 [N] in 0..9
    val_x: torch.Tensor
    val_y: torch.Tensor
    source: Path


def load_data(data_dir: str | None = None, device: str | torch.device = "cpu", inputs: str = "unit") -> Data:
    """Both splits, each held whole as one tensor on `device` so that batches are drawn by index."""
    files = locate_data(data_dir)
    (train_x, train_y), (val_x, val_y) = [load_split(*(files[name] for name in SPLIT_FILES[split]))
                                          for split in ("train", "val")]
    if inputs == "symmetric":
        shift, scale = 0.5, 0.5  # torchvision's Normalize((0.5,), (0.5,)): subtract, then divide
    elif inputs == "standard":
        shift, scale = train_x.mean().item(), train_x.std().item()  # the training set's, for both splits
    elif inputs != "unit":
        raise UserError(f"unknown inputs {inputs!r}; use {', '.join(INPUTS)}")
    if inputs != "unit":
        train_x, val_x = train_x.sub_(shift).div_(scale), val_x.sub_(shift).div_(scale)
    return Data(train_x.to(device), train_y.to(device), val_x.to(device), val_y.to(device),
                files["train-images-idx3-ubyte"].parent)


def load_split(images_path: Path, labels_path: Path) -> tuple[torch.Tensor, torch.Tensor]:
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.dim() != 3 or images.shape[1:] != (28, 28):
        raise UserError(f"{images_path} holds {tuple(images.shape)}, not 28x28 images; "
                        f"delete it and get the data again: {HOW_TO_GET_DATA}")
    if labels.dim() != 1 or len(labels) != len(images):
        raise UserError(f"{labels_path} holds {tuple(labels.shape)} labels for {len(images)} images; "
                        f"delete it and get the data again: {HOW_TO_GET_DATA}")
    if labels.max() > 9:
        raise UserError(f"{labels_path} holds label {labels.max().item()}, and Fashion-MNIST has classes 0-9; "
                        f"delete it and get the data again: {HOW_TO_GET_DATA}")
    return images.reshape(len(images), 784).float().div_(255), labels.long()


def locate_data(data_dir: str | None = None) -> dict[str, Path]:
    """The four files: from the folder the user named (--data-dir, else $FASHION_MNIST_DIR), which is used or
    refused, never passed over; else from data/ or Debian's folder; else downloaded into data/."""
    named = [(data_dir, "--data-dir")] if data_dir else []
    named += [(os.environ["FASHION_MNIST_DIR"], "FASHION_MNIST_DIR")] if os.environ.get("FASHION_MNIST_DIR") else []
    for folder, who in named[:1]:
        folder = Path(folder).expanduser()
        if not folder.is_dir():
            raise UserError(f"{who} names {folder}, which is not a folder; point it at the folder that holds "
                            f"the four Fashion-MNIST files, or leave it out to use data/")
        files = find_files(folder)
        if not files:
            raise UserError(f"{who} names {folder}, which holds none of the four Fashion-MNIST files "
                            f"({', '.join(sum(SPLIT_FILES.values(), ()))}, gzipped or not); put them there, "
                            f"or leave it out to use data/")
        return files
    places = [PROJECT_DATA_DIR, DEBIAN_DATA_DIR]
    for place in places:
        files = find_files(place)
        if files:
            return files
    print(f"Fashion-MNIST is in none of {', '.join(map(str, places))}; downloading it into {PROJECT_DATA_DIR}",
          file=sys.stderr)
    try:
        download(PROJECT_DATA_DIR)
    except Exception as e:  # noqa: BLE001: any failure here has the same remedy
        reason = str(e).strip().splitlines()[-1] if str(e).strip() else type(e).__name__  # torchvision: cause last
        raise UserError(f"Fashion-MNIST was not found in {', '.join(map(str, places))} and the download failed "
                        f"({reason}); {HOW_TO_GET_DATA}, or point --data-dir or FASHION_MNIST_DIR "
                        f"at a folder that holds the four files") from None
    return find_files(PROJECT_DATA_DIR)


def find_files(folder: Path) -> dict[str, Path] | None:
    """The four Fashion-MNIST files in `folder` (flat or torchvision's FashionMNIST/raw/, gzipped or not)."""
    found = {}
    for name in sum(SPLIT_FILES.values(), ()):
        for candidate in (folder / sub / (name + ext) for sub in ("", "FashionMNIST/raw") for ext in ("", ".gz")):
            if candidate.is_file():
                found[name] = candidate
                break
    if not found:
        return None
    missing = [name for name in sum(SPLIT_FILES.values(), ()) if name not in found]
    if missing:
        raise UserError(f"{folder} holds only some of the Fashion-MNIST files (missing {', '.join(missing)}); "
                        f"add them or remove that folder's files so the data can be fetched again")
    return found


def download(folder: Path) -> None:
    from torchvision.datasets import FashionMNIST  # only here: importing torchvision costs a second
    FashionMNIST(root=str(folder), train=True, download=True)


def read_idx(path: Path) -> torch.Tensor:
    """An IDX file of unsigned bytes (the format Fashion-MNIST ships in), gzipped or not, as a uint8 tensor."""
    try:
        raw = path.read_bytes()
        if path.suffix == ".gz":
            raw = gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as e:
        raise UserError(f"{path} is damaged ({e}); delete it and get the data again: {HOW_TO_GET_DATA}") from None
    ndim = raw[3] if len(raw) >= 4 else 0
    if raw[:3] != b"\x00\x00\x08" or not 1 <= ndim <= 3:
        raise UserError(f"{path} is not an IDX file of bytes; delete it and get the data again: {HOW_TO_GET_DATA}")
    start = 4 + 4 * ndim
    shape = struct.unpack(f">{ndim}I", raw[4:start]) if len(raw) >= start else ()
    if len(raw) != start + math.prod(shape) or not shape:
        raise UserError(f"{path} is truncated or corrupt: {len(raw)} bytes where its header promises "
                        f"{start + math.prod(shape) if shape else 'more'}; delete it and get the data again: "
                        f"{HOW_TO_GET_DATA}")
    return torch.frombuffer(bytearray(raw), dtype=torch.uint8, offset=start).view(shape)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Locate Fashion-MNIST (or download it into data/) and print "
                                                 "the folder that holds it.")
    parser.add_argument("--data-dir", help=DATA_DIR_HELP)
    try:
        files = locate_data(parser.parse_args().data_dir)
    except UserError as e:
        sys.exit(f"error: {e}")
    print(files["train-images-idx3-ubyte"].parent)
