"""A trained model loaded back from its run: every run keeps seed=N.pt (the model's state_dict) beside its
results, in its own folder under runs/, which git ignores; its record names the file with a checksum of the
tensors. `load` rebuilds the model with the experiment's own make_model (from its script, tools/experiments.py)
and the configuration that trained it, and checks the weights against the record.
"""
from __future__ import annotations

from dataclasses import dataclass, fields, replace
from pathlib import Path

import torch

import common
from tools import experiments, places, records, runs
from tools.files import UserError


@dataclass
class Trained:
    model: torch.nn.Module
    config: common.Config
    record: dict
    folder: Path
    seed: int


def load(what: str | Path, seed: int | None = None, device: str = "cpu", make_model=None, say=print) -> Trained:
    """A saved run's model, rebuilt by its experiment's make_model with the configuration that trained it, with
    its weights loaded and checked against the record's checksum. `what`: a run's folder, or an experiment's name
    (runs.find: the lab's own run, else the newest that kept weights); `seed` picks one of its seeds (default: the
    first). A notebook's run with a model of its own needs that `make_model` again. It says which run it chose."""
    results = runs.find(what, weights=True)
    folder, record = results.parent, records.read(results)
    kept = {run["seed"]: run for run in record["runs"]}
    seed = next(iter(kept)) if seed is None else seed
    if seed not in kept:
        raise UserError(f"{places.shown_path(folder)} holds seeds {', '.join(map(str, kept))}, not {seed}")
    path = folder / kept[seed]["weights"]["file"]
    if not path.is_file():
        raise UserError(f"{places.shown_path(path)} is missing; run the experiment again")
    known = {f.name for f in fields(common.Config)}
    config = common.Config(**{key: tuple(value) if isinstance(value, list) else value
                              for key, value in record["config"].items() if key in known})
    config = replace(config, seed=seed, device=device)
    if make_model is None:
        script = places.script(record["experiment"])  # none for a notebook's run: the lesson's model, or make_model=
        make_model = (experiments.read(script).pieces if script.is_file() else {}).get("make_model", common.make_model)
    torch.set_num_threads(config.threads)
    model = make_model(config)
    if str(model) != record["layers"]:
        raise UserError(f"{places.shown_path(folder)} was trained with another model than {record['experiment']}'s "
                        f"make_model builds now (a script edited since, or a notebook's own model: pass "
                        f"make_model=); run the experiment again")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001: a truncated or foreign file fails inside torch in many ways
        raise UserError(f"{places.shown_path(path)} cannot be read ({type(e).__name__}); run the experiment "
                        f"again") from None
    if not isinstance(state, dict) or records.checksum(state) != kept[seed]["weights"]["checksum"]:
        raise UserError(f"{places.shown_path(path)} is not the model its record describes (checksum differs); "
                        f"run the experiment again")
    model.load_state_dict(state)
    say(f"loaded {runs.chosen(results, record)}, seed {seed}")
    return Trained(model.to(device).eval(), config, record, folder, seed)
