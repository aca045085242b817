"""The report's conclusion as a tool: "los cambios deben hacerse de forma progresiva, paso a paso", seeing how each
change works with the others. Forwards: from the experiment's own setting, each step tries every change of the
study's best setting not made yet, alone, on top of the setting so far, and keeps the one that gains most, until the
setting is the best's. Backwards (the ablation): the best setting with each change taken back alone.

Each setting is trained as a trial is (objective.setting: the study's epochs, the script's seed, one thread, scored
on the held-out images, never the test set), once: its result is a file of its own in the study's steps/ folder,
named by its settings, unless the study has a complete trial of the very same settings. A stop loses only the
trainings that were running, and the same command goes on from there. `walk` only reads results: the report draws
the path from them, as far as they go.
"""
from __future__ import annotations

import hashlib
import json
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import common
from tools import experiments
from tools.files import Diverged, UserError, write_together
from tools.run_all import cores
from tools.search.objective import setting
from tools.search.space import LESSON_PIECES, PIECES, settings

FOLDER = "steps"  # in the study's folder: one file per setting trained
NAMES = dict(make_optimizer="optimizer", make_schedule="schedule", batch_size="batch", make_model="model")


def knobs(space) -> list[str]:
    """The knobs a change is made of: each field and each piece (a piece with its keywords), in the space's order."""
    return [r.field for r in space if not r.of]


def keys(knob: str, params: dict) -> list[str]:
    if knob == "hidden":  # its layers and widths, or one of its choices ("512x256")
        return [k for k in params if k in ("hidden", "layers") or k.startswith("width")]
    if knob in PIECES:
        return [k for k in params if k == knob or (knob in params and k.startswith(f"{params[knob]}."))]
    return [k for k in params if k == knob]


def value(knob: str, params: dict) -> dict:
    return {k: params[k] for k in keys(knob, params)}


def with_knob(params: dict, knob: str, source: dict) -> dict:
    """`params` with `knob` (and for a piece its keywords) as `source` has it."""
    return {**{k: v for k, v in params.items() if k not in keys(knob, params)}, **value(knob, source)}


def name(params: dict) -> str:
    return hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:16]


def base_params(setup, study) -> dict:
    """The experiment's own setting as the study's params: its enqueued trial where the study has one (the lab's
    studies start from the report's experiments), else read from the script and the lesson's pieces."""
    for t in study.get_trials(deepcopy=False):
        if t.user_attrs.get("report") == setup.experiment:
            return dict(t.params) if t.state.name in ("COMPLETE", "PRUNED") else dict(t.system_attrs["fixed_params"])
    experiment = experiments.read(Path(setup.script))
    out = {}
    for r in setup.space:
        if r.layers:
            out.update(layers=len(experiment.config.hidden),
                       **{f"width{i + 1}": w for i, w in enumerate(experiment.config.hidden)})
        elif r.piece:
            own = experiment.pieces.get(r.field)
            out[r.field] = own.__name__ if own else LESSON_PIECES[r.field]
        elif not r.of:
            value = getattr(experiment.config, r.field)
            out[r.field] = "x".join(map(str, value)) if isinstance(value, tuple) else value
    return out


def results(setup, study) -> dict[str, dict]:
    """Every setting trained to the study's last epoch: its complete trials, then the steps' own files."""
    known = {}
    for t in study.get_trials(deepcopy=False):
        if t.state.name == "COMPLETE" and len(t.intermediate_values) == setup.epochs:
            known[name(t.params)] = dict(params=t.params, value=t.value, trial=t.number)
    for path in sorted((setup.folder / FOLDER).glob("*.json")):
        row = json.loads(path.read_text())
        known[name(row["params"])] = row
    return known


def walk(setup, study, known: dict) -> tuple[list[dict], dict, list[dict]]:
    """The path forwards as far as `known` results go, the ablation's results, and the settings to train next: the
    path's next step, or once it is whole, the ablation's (the path first: it is what the steps are for)."""
    base, best = base_params(setup, study), dict(study.best_trial.params)
    changes = [k for k in knobs(setup.space) if value(k, best) != value(k, base)]

    def score(params):
        row = known.get(name(params))
        return None if row is None else (row["value"] if row["value"] is not None else -1.0)  # -1: it diverged
    needed = [base] if score(base) is None else []
    path = [dict(kept=None, params=base, value=score(base), tried={})]
    current, remaining = base, list(changes)
    while remaining and not needed:
        tried = {k: with_knob(current, k, best) for k in remaining}
        needed = [p for p in tried.values() if score(p) is None]
        if needed:
            break
        kept = max(remaining, key=lambda k: score(tried[k]))  # a tie: the first in the space's order
        path.append(dict(kept=kept, params=tried[kept], value=score(tried[kept]),
                         tried={k: score(p) for k, p in tried.items()}))
        current = tried[kept]
        remaining.remove(kept)
    back = {k: with_knob(best, k, base) for k in changes}
    if not needed:
        needed = [p for p in back.values() if score(p) is None]
    return path, {k: score(p) for k, p in back.items()}, needed


def words(knob: str, params: dict) -> str:
    """A knob's value in the lab's words: "adamw weight decay 0.0123", "lr 0.00025", "hidden 906x305"."""
    return settings(value(knob, params))


_data = {}


def trained(setup, params: dict) -> dict:
    """One setting trained as a trial is, in a worker process: its held-out accuracy per epoch."""
    experiment = experiments.read(Path(setup.script))
    config, pieces = setting(setup, experiment, params)
    if config.inputs not in _data:
        _data[config.inputs] = common.load_data(setup.data_dir, "cpu", config.inputs, validation="heldout")
    started = time.monotonic()
    try:
        history = common.train(config, _data[config.inputs], **pieces, log=lambda line: None)[2]
    except Diverged as e:
        return dict(params=params, value=None, diverged=str(e), seconds=round(time.monotonic() - started, 1))
    return dict(params=params, value=history["val_acc"][-1], held_out_accuracy=history["val_acc"],
                seconds=round(time.monotonic() - started, 1))


def run(setup, study, workers: int | None = None) -> None:
    """Train what the path and the ablation need, one round of steps at a time, until both are whole."""
    if not any(t.state.name == "COMPLETE" for t in study.get_trials(deepcopy=False)):
        raise UserError(f"study {setup.study} has no complete trial yet; run the search first")
    folder = setup.folder / FOLDER
    while True:
        path, _, needed = walk(setup, study, results(setup, study))
        needed = list({name(p): p for p in needed}.values())
        if not needed:
            print(f"steps: the path has {len(path) - 1} steps, all trained; the ablation too", flush=True)
            return
        print(f"steps: step {len(path)}: training {len(needed)} setting{'s' * (len(needed) > 1)}, "
              f"{setup.epochs} epochs each, on held-out images", flush=True)
        folder.mkdir(parents=True, exist_ok=True)
        for row in trainings(setup, needed, min(workers or cores(), len(needed))):
            write_together({folder / f"{name(row['params'])}.json": (json.dumps(row, indent=1) + "\n").encode()})
            shown = "diverged" if row["value"] is None else f"{row['value']:.4f}"
            print(f"steps: {settings(row['params'])}: {shown} ({row['seconds']:.0f} s)", flush=True)


def trainings(setup, needed: list[dict], workers: int):
    """Each setting's result as it finishes: one worker process per core, or with one worker in this process."""
    if workers == 1:
        yield from (trained(setup, params) for params in needed)
        return
    failed = []
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        for future in as_completed([pool.submit(trained, setup, p) for p in needed]):
            try:
                yield future.result()
            except Exception as e:  # noqa: BLE001: the others' results are still written; then it is said
                failed.append(e)
    if failed:
        raise UserError(f"{len(failed)} of {len(needed)} settings failed ({type(failed[0]).__name__}: {failed[0]}); "
                        f"the others are kept, and the same command goes on from there")
