"""Can the training step get cheaper? common.train_epoch against variants of it, in pairs, at one thread.

    .venv/bin/python bench/step.py [--steps 600] [--pairs 6]      (or: make bench)

Each figure is one training pass over the first STEPS batches of 32 (no evaluation), the lab's default of one
thread. common.py's pass and the variant's alternate, each from the same weights and the same seed, so a
variant that changes no number gives the same loss and accuracy as common.py, and a machine whose speed
drifts slows both alike. The first pair is warm-up and is dropped; the ratio is the median of the others,
pair by pair. Writes bench/STEP.md.
"""
import argparse
import dataclasses
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
import bench  # noqa: E402
import common  # noqa: E402

REPORT = ROOT / "bench" / "STEP.md"


def variant_epoch(index_select=False, predictions_once=False, keep_grads=False, count=True):
    """common.train_epoch with one or more things done another way."""
    def epoch(model, optimizer, x, y, batch_size, generator):
        model.train()
        order = torch.randperm(len(x), generator=generator)
        loss_sum = torch.zeros(())
        correct = torch.zeros((), dtype=torch.long)
        predicted = torch.empty(len(x), dtype=torch.long)
        for start in range(0, len(x), batch_size):
            batch = order[start:start + batch_size]
            inputs, targets = ((x.index_select(0, batch), y.index_select(0, batch)) if index_select
                               else (x[batch], y[batch]))
            logits = model(inputs)
            loss = F.cross_entropy(logits, targets)
            optimizer.zero_grad(set_to_none=not keep_grads)
            loss.backward()
            optimizer.step()
            if not count:
                continue
            loss_sum += loss.detach() * len(batch)
            if predictions_once:
                predicted[start:start + len(batch)] = logits.argmax(1)
            else:
                correct += (logits.argmax(1) == targets).sum()
        if predictions_once:
            correct = (predicted == y[order]).sum()
        return loss_sum.item() / len(x), correct.item() / len(x)
    return epoch


VARIANTS = [  # (label, the variant's epoch)
    ("batches by index_select instead of indexing", variant_epoch(index_select=True)),
    ("the epoch's predictions compared once, not per step", variant_epoch(predictions_once=True)),
    ("gradients zeroed in place (set_to_none=False)", variant_epoch(keep_grads=True)),
    ("no running loss or accuracy at all (a lower bound, not a choice: the course's curve needs them)",
     variant_epoch(count=False)),
]
MODELS = [("base 128-64, SGD", (128, 64), "sgd"), ("wide 512-256, SGD", (512, 256), "sgd")]


def compare(epoch, hidden, optimizer_name, data, pairs: int):
    ours, theirs = (bench.training_passes(hidden, optimizer_name, None, None, False, data, epoch=e)
                    for e in (common.train_epoch, epoch))
    timed = [(next(ours), next(theirs)) for _ in range(pairs + 1)][1:]
    ratios = [variant / mine for (mine, _), (variant, _) in timed]
    same = all(a == b for (_, a), (_, b) in timed)
    return (statistics.median(mine for (mine, _), _ in timed), statistics.median(v for _, (v, _) in timed),
            statistics.median(ratios), min(ratios), max(ratios), same)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=common.positive(int), default=600, help="batches of 32 per pass")
    parser.add_argument("--pairs", type=common.positive(int), default=6, help="timed pairs per variant")
    parser.add_argument("--data-dir", help=common.DATA_DIR_HELP)
    parser.add_argument("--out", type=Path, default=REPORT)
    args = parser.parse_args()
    torch.set_num_threads(1)
    try:
        data = common.load_data(args.data_dir)
    except common.UserError as e:
        sys.exit(f"step: error: {e}")
    data = dataclasses.replace(data, train_x=data.train_x[:args.steps * 32], train_y=data.train_y[:args.steps * 32])
    profiles = []
    for model_label, hidden, _ in MODELS:
        step, matmul, top = bench.profile_steps(hidden, 32, data, steps=args.steps)
        profiles.append(f"- {model_label}: {step * 1e6:.0f} us per step, of which matrix multiplies "
                        f"{matmul * 1e6:.0f} us ({matmul / step:.0%}); the largest other operators: "
                        + ", ".join(f"{key} {t * 1e6:.0f} us" for key, t in top) + ".")
        print(profiles[-1], flush=True)
    rows = []
    for model_label, hidden, optimizer_name in MODELS:
        for label, epoch in VARIANTS:
            mine, variant, ratio, low, high, same = compare(epoch, hidden, optimizer_name, data, args.pairs)
            rows.append(f"| {model_label} | {label} | {mine / args.steps * 1e6:.0f} us | "
                        f"{variant / args.steps * 1e6:.0f} us | {ratio:.3f} ({low:.3f}-{high:.3f}) | "
                        f"{'yes' if same else 'no'} |")
            print(rows[-1], flush=True)
    lines = ["# Benchmark: can the training step get cheaper?", "",
             f"Written by `bench/step.py` on {time.strftime('%Y-%m-%d')}: torch {torch.__version__}, one thread; "
             f"a training pass of {args.steps} batches of 32, common.py's and the variant's alternating from the "
             f"same weights and seeds, {args.pairs} timed pairs after one of warm-up. A ratio below 1 is faster; "
             "only one clearly below 1 would be worth its code.", "",
             "| model | variant | common.py, per step | variant, per step | variant : common.py, median (range) "
             "| same numbers |", "|---|---|---|---|---|---|", *rows, "",
             "Where a step's time goes (torch.profiler, self CPU time per operator, one thread; the profiler adds "
             "its own cost):", "", *profiles, ""]
    common.write_together({args.out: "\n".join(lines).encode()})
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
