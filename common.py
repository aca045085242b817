"""What the experiments share: data, model, training, evaluation, figure, results, command line.

An experiment script is its docstring plus one call, `main(__file__, <what it changes from BASE>)`;
see 01_base.py. Run `python common.py` to locate (or download) the data and print where it is.
"""
from __future__ import annotations

import argparse
import ast
import gzip
import json
import math
import os
import struct
import sys
import time
import zlib
from dataclasses import asdict, dataclass, replace
from functools import partial
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parent
PROJECT_DATA_DIR = ROOT / "data"
DEBIAN_DATA_DIR = Path("/usr/share/datasets/fashion-mnist")
CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
SPLIT_FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
               "val": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
HOW_TO_GET_DATA = ("install Debian's package (sudo apt-get install dataset-fashion-mnist) "
                   "or run once with internet access, which downloads it into data/")


@dataclass(frozen=True)
class Config:
    optimizer: str = "sgd"
    lr: float = 1e-3
    batch_size: int = 32          # the report gives none; 32 reproduces its curves, the course guide used 100
    hidden: tuple = (128, 64)
    dropout: float = 0.2
    epochs: int = 30
    seed: int = 0
    device: str = "auto"


BASE = Config()


class UserError(Exception):
    """A problem the user can fix; printed as one line, without a traceback."""


# ---------------------------------------------------------------- data

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


def data_places(data_dir: str | None) -> list[Path]:
    places = [Path(data_dir)] if data_dir else []
    if os.environ.get("FASHION_MNIST_DIR"):
        places.append(Path(os.environ["FASHION_MNIST_DIR"]))
    return places + [PROJECT_DATA_DIR, DEBIAN_DATA_DIR]


def download(folder: Path) -> None:
    from torchvision.datasets import FashionMNIST  # only here: importing torchvision costs a second
    FashionMNIST(root=str(folder), train=True, download=True)


def locate_data(data_dir: str | None = None) -> dict[str, Path]:
    """The first place that holds the data; a download into data/ when none does."""
    places = data_places(data_dir)
    for place in places:
        files = find_files(place.expanduser())
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


@dataclass
class Data:
    train_x: torch.Tensor  # float32 [N, 784] in [0, 1]
    train_y: torch.Tensor  # int64 [N] in 0..9
    val_x: torch.Tensor
    val_y: torch.Tensor
    source: Path


def load_split(images_path: Path, labels_path: Path) -> tuple[torch.Tensor, torch.Tensor]:
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.dim() != 3 or images.shape[1:] != (28, 28):
        raise UserError(f"{images_path} holds {tuple(images.shape)}, not 28x28 images")
    if labels.dim() != 1 or len(labels) != len(images):
        raise UserError(f"{labels_path} holds {tuple(labels.shape)} labels for {len(images)} images")
    if labels.max() > 9:
        raise UserError(f"{labels_path} holds label {labels.max().item()}; Fashion-MNIST has classes 0-9")
    return images.reshape(len(images), 784).float().div_(255), labels.long()


def load_data(data_dir: str | None = None, device: str | torch.device = "cpu") -> Data:
    """Both splits, each held whole as one tensor on `device` so that batches are drawn by index."""
    files = locate_data(data_dir)
    splits = [load_split(*(files[name] for name in SPLIT_FILES[split])) for split in ("train", "val")]
    (train_x, train_y), (val_x, val_y) = [(x.to(device), y.to(device)) for x, y in splits]
    return Data(train_x, train_y, val_x, val_y, files["train-images-idx3-ubyte"].parent)


# ---------------------------------------------------------------- model, training, evaluation

def make_model(hidden=BASE.hidden, dropout=BASE.dropout) -> nn.Sequential:
    layers, width = [], 784
    for size in hidden:
        layers += [nn.Linear(width, size), nn.ReLU()] + ([nn.Dropout(dropout)] if dropout else [])
        width = size
    return nn.Sequential(*layers, nn.Linear(width, 10))


def make_optimizer(name: str, params, lr: float) -> torch.optim.Optimizer:
    params = list(params)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr)  # plain SGD, no momentum, as in the report
    if name == "adam":
        # Fused: one pass over each tensor per step instead of a dozen; 16-27% faster epochs on a 2-core CPU
        # (bench/RESULTS.md). PyTorch has the fused kernel for CPU and CUDA only.
        return torch.optim.Adam(params, lr=lr, fused=params[0].device.type in ("cpu", "cuda"))
    raise UserError(f"unknown optimizer {name!r}; use sgd or adam")


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
def evaluate(model, x, y, chunk: int = 10_000) -> tuple[float, float]:
    """Mean loss and accuracy over all of (x, y), in eval mode (no dropout), weights fixed."""
    model.eval()
    loss_sum = torch.zeros((), device=x.device)
    correct = torch.zeros((), dtype=torch.long, device=x.device)
    for start in range(0, len(x), chunk):
        logits = model(x[start:start + chunk])
        targets = y[start:start + chunk]
        loss_sum += F.cross_entropy(logits, targets, reduction="sum")
        correct += (logits.argmax(1) == targets).sum()
    return loss_sum.item() / len(x), correct.item() / len(x)


HISTORY_KEYS = ("train_loss", "train_acc", "val_loss", "val_acc", "running_loss", "running_acc", "epoch_seconds")


def confusion_matrix(model, x, y) -> list[list[int]]:
    """Counts of (true class, predicted class) over (x, y), in eval mode."""
    model.eval()
    with torch.inference_mode():
        predicted = torch.cat([model(x[start:start + 10_000]).argmax(1) for start in range(0, len(x), 10_000)])
    return torch.bincount(y * 10 + predicted, minlength=100).reshape(10, 10).tolist()


def train(config: Config, data: Data, seed: int, log=partial(print, flush=True)) -> tuple[nn.Module, dict]:
    """Train one model from `seed`: the model, and the history of every per-epoch figure."""
    torch.manual_seed(seed)  # the one place randomness is seeded: initial weights and dropout masks
    shuffle = torch.Generator().manual_seed(seed)  # own stream: same batches whatever the model draws
    model = make_model(config.hidden, config.dropout).to(data.train_x.device)
    optimizer = make_optimizer(config.optimizer, model.parameters(), config.lr)
    history = {key: [] for key in HISTORY_KEYS}
    for epoch in range(1, config.epochs + 1):
        started = time.perf_counter()
        running = train_epoch(model, optimizer, data.train_x, data.train_y, config.batch_size, shuffle)
        measured = evaluate(model, data.train_x, data.train_y) + evaluate(model, data.val_x, data.val_y)
        seconds = time.perf_counter() - started  # .item() above has waited for the device
        if not all(math.isfinite(v) for v in running + measured):
            raise UserError(f"training diverged: the loss is not finite at epoch {epoch} (lr {config.lr:g}, "
                            f"{config.optimizer}); try a smaller --lr")
        for key, value in zip(HISTORY_KEYS, measured + running + (seconds,)):
            history[key].append(value)
        log(f"epoch {epoch:3d}/{config.epochs}  train loss {measured[0]:.4f} acc {measured[1]:.4f}  "
            f"val loss {measured[2]:.4f} acc {measured[3]:.4f}  "
            f"(running {running[0]:.4f} {running[1]:.4f})  {seconds:.1f}s")
    return model, history


# ---------------------------------------------------------------- outputs

CURVES = (  # history key prefix, legend, line style
    ("train", "training (whole set, eval mode, after the epoch)", dict(color="C0", lw=2)),
    ("val", "validation (test set)", dict(color="C1", lw=2)),
    ("running", "INCORRECT training: running mean over the epoch's batches\n(dropout on, weights moving)",
     dict(color="0.45", lw=1.2, ls="--", marker="x", ms=4)),
)


def describe(config: Config) -> str:
    hidden = "-".join(map(str, config.hidden))
    optimizer = {"sgd": "SGD", "adam": "Adam"}[config.optimizer]
    return f"{optimizer} lr {config.lr:g}, batch {config.batch_size}, hidden {hidden}, dropout {config.dropout:g}"


def pyplot():
    import matplotlib
    matplotlib.use("Agg")  # files only, no window: the same on a laptop, a server and CI
    import matplotlib.pyplot as plt
    return plt


def draw(name: str, config: Config, runs: list[dict]):
    """Loss and accuracy per epoch, three curves each; with several runs, the mean and a min-max band."""
    fig, axes = pyplot().subplots(1, 2, figsize=(11, 4.9), layout="constrained")
    for ax, metric, label in zip(axes, ("loss", "acc"), ("cross-entropy loss", "accuracy")):
        for prefix, legend, style in CURVES:
            curves = torch.tensor([run["history"][f"{prefix}_{metric}"] for run in runs], dtype=torch.float64)
            epochs = range(1, curves.shape[1] + 1)
            ax.plot(epochs, curves.mean(0), label=legend, **style)
            if len(runs) > 1:
                ax.fill_between(epochs, curves.min(0).values, curves.max(0).values, color=style["color"],
                                alpha=0.2, lw=0)
        ax.set(xlabel="epoch", ylabel=label)
        ax.grid(alpha=0.3)
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncol=3, fontsize=8.5,
               title=f"mean of {len(runs)} seeds, band: lowest to highest seed" if len(runs) > 1 else None,
               title_fontsize=8.5)
    fig.suptitle(f"{name}: {describe(config)}")
    return fig


def save_figure(fig, path: Path) -> None:
    write_atomically(path, lambda f: fig.savefig(f, format="png", dpi=150))
    pyplot().close(fig)


def write_atomically(path: Path, write) -> None:
    """Write through a temporary file in the same folder, so `path` is whole or absent, never half-written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "wb") as f:
            write(f)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def save_results(path: Path, name: str, config: Config, runs: list[dict], **extra) -> None:
    record = {"experiment": name, "config": {**asdict(config), "hidden": list(config.hidden)}, **extra,
              "runs": runs}
    write_atomically(path, lambda f: f.write((json.dumps(record, indent=1) + "\n").encode()))


# ---------------------------------------------------------------- command line

def _positive(kind):
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not value > 0 or not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
        return value
    return parse


def _fraction(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 0 and below 1, got {text}")
    return value


QUICK = dict(epochs=2, train_size=2000, val_size=1000)


def parse_args(name: str, config: Config, description: str | None, argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog=f"{name}.py", description=description,
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--epochs", type=_positive(int), default=config.epochs)
    p.add_argument("--batch-size", type=_positive(int), default=config.batch_size)
    p.add_argument("--lr", type=_positive(float), default=config.lr, help="learning rate")
    p.add_argument("--optimizer", choices=("sgd", "adam"), default=config.optimizer)
    p.add_argument("--hidden", type=_positive(int), nargs="+", default=list(config.hidden),
                   help="sizes of the hidden layers")
    p.add_argument("--dropout", type=_fraction, default=config.dropout, help="after each hidden layer")
    p.add_argument("--seed", type=int, default=config.seed)
    p.add_argument("--seeds", type=_positive(int), default=1,
                   help="independent runs, from seeds seed, seed+1, ...; figures show their mean and range")
    p.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"), default=config.device,
                   help="auto: cuda, then mps, then cpu")
    p.add_argument("--data-dir", help="folder with the four Fashion-MNIST files; searched first, then "
                   f"$FASHION_MNIST_DIR, {PROJECT_DATA_DIR}, {DEBIAN_DATA_DIR}")
    p.add_argument("--out", type=Path, default=None,
                   help="folder for figures/ and results/ (default: the project, or scratch/ with --quick)")
    p.add_argument("--quick", action="store_true",
                   help=f"smoke run: at most {QUICK['epochs']} epochs on {QUICK['train_size']} training and "
                        f"{QUICK['val_size']} validation images, written under scratch/")
    args = p.parse_args(argv)
    if args.quick:
        args.epochs = min(args.epochs, QUICK["epochs"])
    return args


def resolve_device(name: str) -> torch.device:
    cuda, mps = torch.cuda.is_available(), torch.backends.mps.is_available()
    if name == "auto":
        name = "cuda" if cuda else "mps" if mps else "cpu"
    if (name == "cuda" and not cuda) or (name == "mps" and not mps):
        raise UserError(f"--device {name}: no {name.upper()} device is available here; use --device cpu or auto")
    return torch.device(name)


def run_experiment(name: str, config: Config, args: argparse.Namespace) -> dict:
    config = replace(config, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, optimizer=args.optimizer,
                     hidden=tuple(args.hidden), dropout=args.dropout, seed=args.seed)
    device = resolve_device(args.device)
    config = replace(config, device=device.type)
    data = load_data(args.data_dir, device)
    if args.quick:
        data = replace(data, train_x=data.train_x[:QUICK["train_size"]], train_y=data.train_y[:QUICK["train_size"]],
                       val_x=data.val_x[:QUICK["val_size"]], val_y=data.val_y[:QUICK["val_size"]])
    out = args.out or (ROOT / "scratch" if args.quick else ROOT)
    print(f"{name}: {' '.join(f'{k}={v}' for k, v in asdict(config).items())} seeds={args.seeds}")
    print(f"data: {data.source} ({len(data.train_x)} training, {len(data.val_x)} validation images)")
    runs = []
    for seed in range(config.seed, config.seed + args.seeds):
        if args.seeds > 1:
            print(f"seed {seed}")
        started = time.perf_counter()
        model, history = train(config, data, seed)
        runs.append({"seed": seed, "seconds": round(time.perf_counter() - started, 2), "history": history,
                     "confusion": confusion_matrix(model, data.val_x, data.val_y)})
        best = max(range(config.epochs), key=lambda i: history["val_acc"][i])
        print(f"{name}: seed {seed}: final validation accuracy {history['val_acc'][-1]:.4f} (best "
              f"{history['val_acc'][best]:.4f} at epoch {best + 1}), training loss {history['train_loss'][-1]:.4f}, "
              f"{runs[-1]['seconds']:.1f}s")
    figure, results = out / "figures" / f"{name}.png", out / "results" / f"{name}.json"
    save_figure(draw(name, config, runs), figure)
    save_results(results, name, config, runs, seeds=args.seeds, torch=torch.__version__,
                 data={"source": str(data.source), "train_size": len(data.train_x), "val_size": len(data.val_x)})
    print(f"{name}: wrote {figure} and {results}")
    return runs


def main(script: str, **changes) -> None:
    """Run the experiment of `script` (its file name names the run): BASE with `changes`, flags on top."""
    name = Path(script).stem
    description = ast.get_docstring(ast.parse(Path(script).read_text()))
    args = parse_args(name, replace(BASE, **changes), description)
    try:
        run_experiment(name, replace(BASE, **changes), args)
    except UserError as e:
        sys.exit(f"{name}: error: {e}")
    except KeyboardInterrupt:
        sys.exit(f"{name}: interrupted; nothing was written")


if __name__ == "__main__":
    try:
        files = locate_data(sys.argv[1] if len(sys.argv) > 1 else None)
    except UserError as e:
        sys.exit(f"error: {e}")
    print(files["train-images-idx3-ubyte"].parent)
