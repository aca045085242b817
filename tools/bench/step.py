"""Can the training step get cheaper? Where its time goes, and common.train_epoch against variants, in pairs.

    python -m tools.bench.step [--steps 600] [--pairs 6]      (or: make bench)

Each figure is one training pass over the first STEPS batches of 32 (no evaluation) at the lab's one thread.
common.py's pass and the variant's alternate, each from the same weights and the same seed, so a variant
that changes no number gives the same loss and accuracy as common.py, and a machine whose speed drifts slows
both alike. The first pair pays for warm-up (and compilation) and is dropped; the ratio is the median of the
others, pair by pair. Writes tools/bench/STEP.md. compare, profile_steps and main leave torch's thread count
as they found it.
"""
import argparse
import contextlib
import dataclasses
import itertools
import math
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F

import common
from tools.config import positive
from tools.data import DATA_DIR_HELP
from tools.files import one_line_errors, write_together

REPORT = Path(__file__).resolve().parent / "STEP.md"
THREADS = common.Config().threads


def training_passes(hidden, optimizer_name, data, epoch=common.train_epoch, optimizer_options=None, threads=THREADS,
                    compiled=False):
    """(seconds, (running loss, running accuracy)) of one training pass per next(), done as common.py does it
    except for what the arguments change: the epoch function, the optimizer's keyword arguments (built by
    common.py's make_optimizer when None), the thread count, torch.compile. Pass k is seeded with k."""
    torch.manual_seed(0)
    model = common.make_model(common.Config(hidden=hidden))
    if optimizer_options is None:
        optimizer = common.make_optimizer(model.parameters(), common.Config(optimizer=optimizer_name))
    else:
        optimizer = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam}[optimizer_name](model.parameters(), lr=1e-3,
                                                                                     **optimizer_options)
    step_model = torch.compile(model) if compiled else model
    for k in itertools.count():
        torch.set_num_threads(threads)
        torch.manual_seed(k)  # dropout's masks
        started = time.perf_counter()
        measured = epoch(step_model, optimizer, data.train_x, data.train_y, 32, torch.Generator().manual_seed(k))
        yield time.perf_counter() - started, measured


@contextlib.contextmanager
def threads_kept():
    """training_passes sets torch's thread count for the whole process; put back the count it had before."""
    before = torch.get_num_threads()
    try:
        yield
    finally:
        torch.set_num_threads(before)


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


def denormals_flushed(*args):
    """common.train_epoch with numbers too small for a normal float32 taken as zero (slow on some CPUs)."""
    torch.set_flush_denormal(True)
    try:
        return common.train_epoch(*args)
    finally:
        torch.set_flush_denormal(False)


MODELS = {"base": ((128, 64), "sgd", "base 128-64, SGD"), "wide": ((512, 256), "sgd", "wide 512-256, SGD"),
          "base adam": ((128, 64), "adam", "base 128-64, Adam"), "wide adam": ((512, 256), "adam", "wide 512-256, Adam")}
LOOP = [  # changes to the loop a student reads, on both SGD models
    ("batches by index_select instead of indexing", dict(epoch=variant_epoch(index_select=True))),
    ("the epoch's predictions compared once, not per step", dict(epoch=variant_epoch(predictions_once=True))),
    ("gradients zeroed in place (set_to_none=False)", dict(epoch=variant_epoch(keep_grads=True))),
    ("no running loss or accuracy at all (a lower bound, not a choice: the course's curve needs them)",
     dict(epoch=variant_epoch(count=False))),
    ("denormal numbers flushed to zero", dict(epoch=denormals_flushed)),
    ("two threads instead of one", dict(threads=2)),
]
VARIANTS = [(model, label, change) for model in ("base", "wide") for label, change in LOOP] + [
    ("base", "SGD foreach=True", dict(optimizer_options=dict(foreach=True))),
    ("base", "SGD fused=True", dict(optimizer_options=dict(fused=True))),
    ("wide", "SGD fused=True", dict(optimizer_options=dict(fused=True))),
    ("base", "torch.compile(model)", dict(compiled=True)),
    ("base adam", "Adam for-loop instead of fused", dict(optimizer_options=dict(fused=False, foreach=False))),
    ("base adam", "Adam foreach=True instead of fused", dict(optimizer_options=dict(foreach=True))),
    ("wide adam", "Adam for-loop instead of fused", dict(optimizer_options=dict(fused=False, foreach=False))),
]


def compare(model: str, change: dict, data, pairs: int):
    """Medians of common.py's and the variant's seconds, the ratio's median and range, and whether every pair
    gave the same numbers; or a line that says why the variant cannot run here."""
    hidden, optimizer_name, _ = MODELS[model]
    ours = training_passes(hidden, optimizer_name, data)
    theirs = training_passes(hidden, optimizer_name, data, **change)
    try:
        with threads_kept():
            timed = [(next(ours), next(theirs)) for _ in range(pairs + 1)][1:]
    except Exception as e:  # noqa: BLE001: a variant this machine cannot run is reported, not fatal
        return f"failed: {type(e).__name__}: {str(e).strip().splitlines()[0]}"
    ratios = [variant / mine for (mine, _), (variant, _) in timed]
    same = all(a == b for (_, a), (_, b) in timed)
    return (statistics.median(mine for (mine, _), _ in timed), statistics.median(v for _, (v, _) in timed),
            statistics.median(ratios), min(ratios), max(ratios), same)


def profile_steps(hidden, data):
    """Where a training step's time goes, over one pass of `data` after one of warm-up: seconds per step, of
    them in matmuls, and the six largest other operators (self CPU time)."""
    from torch.profiler import ProfilerActivity, profile

    passes, steps = training_passes(hidden, "sgd", data), math.ceil(len(data.train_x) / 32)
    with threads_kept():
        next(passes)
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            wall, _ = next(passes)
    times = {event.key: event.self_cpu_time_total / 1e6 for event in prof.key_averages()}
    matmuls = ("aten::mm", "aten::addmm", "aten::bmm")
    matmul = sum(t for key, t in times.items() if key in matmuls)
    others = sorted(((t, key) for key, t in times.items() if key not in matmuls), reverse=True)
    return wall / steps, matmul / steps, [(key, t / steps) for t, key in others[:6]]


def main():
    parser = argparse.ArgumentParser(prog="python -m tools.bench.step", description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=positive(int), default=600, help="batches of 32 per pass")
    parser.add_argument("--pairs", type=positive(int), default=6, help="timed pairs per variant")
    parser.add_argument("--data-dir", help=DATA_DIR_HELP)
    parser.add_argument("--out", type=Path, default=REPORT)
    args = parser.parse_args()
    with threads_kept():
        measure(args)


def measure(args):
    """The profiles and the variants' table, written to args.out."""
    torch.set_num_threads(THREADS)
    with one_line_errors("step"):
        data = common.load_data(args.data_dir)
    data = dataclasses.replace(data, train_x=data.train_x[:args.steps * 32], train_y=data.train_y[:args.steps * 32])
    profiles = []
    for model in ("base", "wide"):
        hidden, _, model_label = MODELS[model]
        step, matmul, top = profile_steps(hidden, data)
        profiles.append(f"- {model_label}: {step * 1e6:.0f} us per step, of which matrix multiplies "
                        f"{matmul * 1e6:.0f} us ({matmul / step:.0%}); the largest other operators: "
                        + ", ".join(f"{key} {t * 1e6:.0f} us" for key, t in top) + ".")
        print(profiles[-1], flush=True)
    rows = []
    for model, label, change in VARIANTS:
        measured = compare(model, change, data, args.pairs)
        if isinstance(measured, str):
            rows.append(f"| {MODELS[model][2]} | {label} | | | {measured} | |")
        else:
            mine, variant, ratio, low, high, same = measured
            rows.append(f"| {MODELS[model][2]} | {label} | {mine / args.steps * 1e6:.0f} us | "
                        f"{variant / args.steps * 1e6:.0f} us | {ratio:.3f} ({low:.3f}-{high:.3f}) | "
                        f"{'yes' if same else 'no'} |")
        print(rows[-1], flush=True)
    lines = ["# Benchmark: can the training step get cheaper?", "",
             f"Written by `python -m tools.bench.step` on {time.strftime('%Y-%m-%d')}: torch {torch.__version__}, "
             f"{THREADS} thread as the lab trains; a training pass of {args.steps} batches of 32, common.py's and the "
             f"variant's alternating from the same weights and seeds, {args.pairs} timed pairs after one of "
             "warm-up (and compilation). A ratio below 1 is faster; only one clearly below 1 would be worth its "
             "code. Adam's rows compare with common.py's fused Adam.", "",
             "Where a step's time goes (torch.profiler, self CPU time per operator; the profiler adds its own "
             "cost):", "", *profiles, "",
             "| model | variant | common.py, per step | variant, per step | variant : common.py, median (range) "
             "| same numbers |", "|---|---|---|---|---|---|", *rows, ""]
    write_together({args.out: "\n".join(lines).encode()})
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
