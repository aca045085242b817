"""Seconds per epoch: the usual DataLoader loop, ours (common.py, unchanged), and the limit the FLOPs set.

    python -m tools.bench.bench [--repeats 3] [--device auto]   (or: make bench)

The usual loop is the PyTorch tutorial's: torchvision's FashionMNIST with ToTensor() through a shuffling
DataLoader, the same model and optimizer, and both splits evaluated after each epoch through DataLoaders.
The limit is one epoch's floating-point work (forward and backward of every training batch, plus the
evaluation of both splits) divided by this machine's dense float32 matmul rate, measured in the same run.
On the CPU all three use the lab's one thread per training. Where the step's time goes: tools/bench/step.py.
Writes tools/bench/RESULTS.md and the speed table of tools/bench/SPEED.md.
"""
import argparse
import gzip
import statistics
import tempfile
import time
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

import common
from tools.config import positive, resolve_device
from tools.data import DATA_DIR_HELP, find_files
from tools.files import one_line_errors, update_section, write_together

HERE = Path(__file__).resolve().parent
REPORT, SPEED = HERE / "RESULTS.md", HERE / "SPEED.md"

CONFIGS = [("base", (128, 64), 32), ("wide", (512, 256), 32), ("base", (128, 64), 1000)]


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def matmul_rate(device, size=2048, repeats=10) -> float:
    """Dense float32 matmul FLOP/s at torch's current thread count (or on the GPU): the best of `repeats`."""
    a, b = torch.randn(size, size, device=device), torch.randn(size, size, device=device)
    best = float("inf")
    for _ in range(repeats + 2):
        sync(device)
        started = time.perf_counter()
        a @ b
        sync(device)
        best = min(best, time.perf_counter() - started)
    return 2 * size ** 3 / best


def epoch_flops(hidden, train_size=60_000, val_size=10_000) -> float:
    """Matmul FLOPs of one epoch: forward 2, backward 4 per weight and sample (only 2 in the first layer,
    whose input needs no gradient), then a forward pass over both splits for evaluation."""
    widths = (784, *hidden, 10)
    macs = [a * b for a, b in zip(widths, widths[1:])]
    train = train_size * (6 * sum(macs) - 2 * macs[0])
    return train + 2 * sum(macs) * (train_size + val_size)


def usual_epochs(hidden, batch_size, raw_root, device, seed=0):
    """The tutorial loop, one epoch (training and evaluation) per next(): its seconds and validation accuracy."""
    from torch.utils.data import DataLoader
    from torchvision.datasets import FashionMNIST
    from torchvision.transforms import ToTensor

    train_set = FashionMNIST(raw_root, train=True, transform=ToTensor())
    val_set = FashionMNIST(raw_root, train=False, transform=ToTensor())
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Flatten(), common.make_model(common.Config(hidden=hidden))).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)
    train_loader = DataLoader(train_set, batch_size=batch_size, shuffle=True)
    eval_loaders = [DataLoader(s, batch_size=batch_size) for s in (train_set, val_set)]
    while True:
        sync(device)
        started = time.perf_counter()
        model.train()
        for images, labels in train_loader:
            images, labels = images.to(device), labels.to(device)
            loss = F.cross_entropy(model(images), labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            for loader in eval_loaders:
                correct = 0
                for images, labels in loader:
                    images, labels = images.to(device), labels.to(device)
                    correct += (model(images).argmax(1) == labels).sum().item()
                accuracy = correct / len(loader.dataset)
        sync(device)
        yield time.perf_counter() - started, accuracy


def our_epochs(hidden, batch_size, data, seed=0):
    """common.py's epoch as common.train runs it, one per next(): its seconds and validation accuracy."""
    torch.manual_seed(seed)
    shuffle = torch.Generator().manual_seed(seed)
    model = common.make_model(common.Config(hidden=hidden)).to(data.train_x.device)
    optimizer = common.make_optimizer(model.parameters(), common.Config())
    while True:
        started = time.perf_counter()
        common.train_epoch(model, optimizer, data.train_x, data.train_y, batch_size, shuffle)
        common.evaluate(model, data.train_x, data.train_y)
        _, accuracy = common.evaluate(model, data.val_x, data.val_y)  # .item() inside: the device is done
        yield time.perf_counter() - started, accuracy


def last_accuracy(epochs, count: int) -> float:
    for _ in range(count):
        _, accuracy = next(epochs)
    return accuracy


def write_raw_copy(source: Path, folder: Path) -> Path:
    """torchvision's FashionMNIST reads uncompressed files from <root>/FashionMNIST/raw/."""
    raw = folder / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for name, path in find_files(source).items():
        (raw / name).write_bytes(gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes())
    return folder


def main():
    parser = argparse.ArgumentParser(prog="python -m tools.bench.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=positive(int), default=3, help="epochs timed per figure")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"), default="auto")
    parser.add_argument("--data-dir", help=DATA_DIR_HELP)
    parser.add_argument("--out", type=Path, default=REPORT)
    args = parser.parse_args()
    with one_line_errors("bench"):
        device = resolve_device(args.device)
        data = common.load_data(args.data_dir, device)
    threads = common.Config().threads
    torch.set_num_threads(threads)  # both loops and the matmul rate, as the lab trains: one training per core
    rate = matmul_rate(device)
    name = (torch.cuda.get_device_name() if device.type == "cuda" else
            f"{threads} CPU thread{'s' * (threads > 1)} (the lab's one training per core)")
    print(f"matmul rate: {rate / 1e9:.0f} GFLOP/s ({name}, torch {torch.__version__})", flush=True)

    rows, checks = [], []
    with tempfile.TemporaryDirectory() as folder:
        raw_root = write_raw_copy(data.source, Path(folder))
        for label, hidden, batch_size in CONFIGS:
            usual, ours = usual_epochs(hidden, batch_size, raw_root, device), our_epochs(hidden, batch_size, data)
            # Epochs alternate between the two loops, so a machine that speeds up or slows down (as shared
            # ones do, within minutes) affects both alike.
            pairs = [(next(usual), next(ours)) for _ in range(args.repeats)]
            usual_seconds = statistics.median(u for (u, _), _ in pairs)
            ours_seconds = statistics.median(o for _, (o, _) in pairs)
            # Learning the same: seeds 1 and 2 of each loop, untimed, next to the timed seed 0.
            usual_accs = [pairs[-1][0][1]] + [
                last_accuracy(usual_epochs(hidden, batch_size, raw_root, device, seed), args.repeats) for seed in (1, 2)]
            accs = [pairs[-1][1][1]] + [last_accuracy(our_epochs(hidden, batch_size, data, seed), args.repeats)
                                        for seed in (1, 2)]
            same = max(usual_accs) >= min(accs) and max(accs) >= min(usual_accs)  # the seeds' ranges overlap
            limit = epoch_flops(hidden) / rate
            rows.append((f"{label} {'-'.join(map(str, hidden))}, batch {batch_size}", usual_seconds, ours_seconds,
                         limit))
            checks.append(f"{rows[-1][0]}: validation accuracy after {args.repeats} epochs over seeds 0-2, usual "
                          f"{min(usual_accs):.4f} to {max(usual_accs):.4f}, ours {min(accs):.4f} to {max(accs):.4f}: "
                          f"{'the ranges overlap, the same within noise' if same else 'DIFFERENT'}")
            print(f"{rows[-1][0]}: usual {usual_seconds:.2f}s, ours {ours_seconds:.2f}s, limit {limit:.2f}s per "
                  f"epoch; {checks[-1].split(': ', 1)[1]}", flush=True)
    lines = [
        "# Benchmark: seconds per epoch",
        "",
        f"Written by `make bench` on {time.strftime('%Y-%m-%d')}: {name}, torch {torch.__version__}, "
        f"device {device.type}; dense float32 matmul rate {rate / 1e9:.0f} GFLOP/s. One epoch is training on "
        "60,000 images plus evaluation of the training and validation sets. Each figure is the median of "
        f"{args.repeats} epochs; the usual loop's and ours alternate, epoch by epoch.",
        "",
        "| configuration | usual DataLoader loop | ours | limit | ours : usual (speed-up) | ours : limit |",
        "|---|---|---|---|---|---|",
        *(f"| {row} | {u:.2f} s | {o:.2f} s | {lim:.2f} s | {u / o:.1f}x | {o / lim:.1f}x |"
          for row, u, o, lim in rows),
        "",
        "Both loops learn the same:",
        "",
        *(f"- {check}" for check in checks),
        "",
        "Where a step's time goes, and what was tried to make it cheaper: tools/bench/STEP.md.",
        "",
    ]
    write_together({args.out: "\n".join(lines).encode()})
    print(f"wrote {args.out}")
    if update_section(SPEED, "speed", [
            f"Written by `make bench` on {time.strftime('%Y-%m-%d')}: {name}, torch {torch.__version__}, seconds per "
            "epoch (training on 60,000 images, then evaluating both sets), medians of "
            f"{args.repeats} epochs:", "", *lines[lines.index("| configuration | usual DataLoader loop | ours | limit "
                                                               "| ours : usual (speed-up) | ours : limit |"):][:2 + len(rows)]]):
        print(f"{SPEED.name}: its speed table now says the same")


if __name__ == "__main__":
    main()
