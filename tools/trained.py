"""The trained model kept: each run's weights beside its results, what it predicts recorded, and a run loaded back.

Every run writes seed=N.pt (the model's state_dict) in its own folder, runs/EXPERIMENT/WHAT-CHANGED/, which git
ignores; its results record names the file with a checksum of the tensors (the bytes torch.save writes differ
between machines and versions, the tensors do not). `load` rebuilds the model with the experiment's own
make_model (its script is run with `common.main` caught, not called) and the configuration that trained it.
"""
from __future__ import annotations

import hashlib
import io
import json
import runpy
from dataclasses import dataclass, fields
from pathlib import Path
from unittest import mock

import torch

from tools import runs as places
from tools.files import UserError

SHOWN = 15  # the first validation images, whose predictions every run records (and the report draws)
MISTAKES = 15  # the most confident wrong predictions a run records


def weights_file(seed: int) -> str:
    return f"seed={seed}.pt"


def weights_bytes(model: torch.nn.Module) -> bytes:
    buffer = io.BytesIO()
    torch.save({key: value.detach().cpu() for key, value in model.state_dict().items()}, buffer)
    return buffer.getvalue()


def checksum(state: dict) -> str:
    """A digest of the tensors themselves (names, dtypes, shapes, values), the same on every machine."""
    h = hashlib.sha256()
    for key, value in state.items():
        value = value.detach().cpu().contiguous().reshape(-1)  # 1-d: a 0-d tensor (BatchNorm's count) has no view
        h.update(f"{key}:{value.dtype}:{tuple(value.shape)}".encode())
        h.update(value.view(torch.uint8).numpy().tobytes() if value.numel() else b"")
    return h.hexdigest()[:16]


@torch.inference_mode()
def probabilities(model: torch.nn.Module, x: torch.Tensor, chunk: int = 10_000) -> torch.Tensor:
    """The model's class probabilities for each row of x, in eval mode."""
    model.eval()
    return torch.cat([model(x[start:start + chunk]).softmax(1) for start in range(0, len(x), chunk)])


def predictions(model: torch.nn.Module, data) -> dict:
    """What the run's model says of the first SHOWN validation images, and its MISTAKES most confident mistakes:
    for each, its place in its file (the test set's, or the training set's for held-out validation), the
    predicted class, its probability and the true class."""
    p = probabilities(model, data.val_x)
    confidence, predicted = p.max(1)
    wrong = (predicted != data.val_y).nonzero().squeeze(1)
    worst = wrong[confidence[wrong].argsort(descending=True, stable=True)][:MISTAKES]

    def described(rows):
        rows = rows.tolist()
        place = [data.val_index[i] for i in rows] if data.val_index is not None else rows
        return dict(index=place, predicted=predicted[rows].tolist(),
                    probability=[round(v, 4) for v in confidence[rows].tolist()], true=data.val_y[rows].tolist())
    return dict(shown=described(torch.arange(min(SHOWN, len(p)))), mistakes=described(worst))


# ---------------------------------------------------------------- finding and loading a run

@dataclass
class Trained:
    model: torch.nn.Module
    config: object  # common.Config
    record: dict
    folder: Path
    seed: int


def find(what: str | Path) -> Path:
    """The folder of a run: `what` is a run's folder, or an experiment's name, which means its newest run that kept
    its weights (the lab's own, seeds 0-2, if that is the newest)."""
    path = Path(what)
    if (path / places.RESULTS).is_file():
        return path
    name = path.stem if path.suffix == ".py" else str(what)
    kept = sorted((folder for folder in (places.RUNS / name).glob("*") if (folder / places.RESULTS).is_file()
                   and any(folder.glob("seed=*.pt"))), key=lambda folder: (folder / places.RESULTS).stat().st_mtime)
    if not kept:
        raise UserError(f"no trained model of {name} is kept in {places.shown_path(places.RUNS / name)}/; "
                        f"train one with: python {name}.py  (or --epochs 2 for a quick one)")
    return kept[-1]


def load(what: str | Path, seed: int | None = None, device: str = "cpu", make_model=None) -> Trained:
    """A saved run's model, rebuilt by its experiment's make_model with the configuration that trained it, with
    its weights loaded and checked against the record's checksum; `seed` picks one of its seeds (default: the
    first). A notebook's run with a model of its own needs that `make_model` again."""
    import common  # here: the lesson's Config and model (tools/ is imported by common)
    folder = find(what)
    record = json.loads((folder / places.RESULTS).read_text())
    runs = {run["seed"]: run for run in record["runs"] if "weights" in run}
    if not runs:
        raise UserError(f"{places.shown_path(folder)} kept no weights (a run from before the lab saved them); "
                        f"run the experiment again")
    seed = next(iter(runs)) if seed is None else seed
    if seed not in runs:
        raise UserError(f"{places.shown_path(folder)} holds seeds {', '.join(map(str, runs))}, not {seed}")
    path = folder / runs[seed]["weights"]["file"]
    if not path.is_file():
        raise UserError(f"{places.shown_path(path)} is missing; run the experiment again")
    known = {f.name for f in fields(common.Config)}
    config = common.Config(**{key: tuple(value) if isinstance(value, list) else value
                              for key, value in record["config"].items() if key in known})
    config = common.replace(config, seed=seed, device=device)
    make_model = make_model or pieces(record).get("make_model", common.make_model)
    torch.set_num_threads(config.threads)
    model = make_model(config)
    if str(model) != record.get("layers", str(model)):
        raise UserError(f"{places.shown_path(folder)} was trained with another model than {record['experiment']}'s "
                        f"make_model builds now (a script edited since, or a notebook's own model: pass "
                        f"make_model=); run the experiment again")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001: a truncated or foreign file fails inside torch in many ways
        raise UserError(f"{places.shown_path(path)} cannot be read ({type(e).__name__}); run the experiment "
                        f"again") from None
    if not isinstance(state, dict) or checksum(state) != runs[seed]["weights"]["checksum"]:
        raise UserError(f"{places.shown_path(path)} is not the model its record describes (checksum differs); "
                        f"run the experiment again")
    model.load_state_dict(state)
    return Trained(model.to(device).eval(), config, record, folder, seed)


def pieces(record: dict) -> dict:
    """The keywords the run's experiment script gave common.main; {} for a run no script here made (a notebook's)."""
    script = places.ROOT / f"{record['experiment']}.py"
    return script_keywords(script) if script.is_file() else {}


def script_keywords(script: Path) -> dict:
    """The keywords an experiment script gives common.main (make_model=..., lr=...), got by running the script
    with common.main caught instead of called."""
    import common
    caught = {}

    def catch(_file, **keywords):
        caught.update(keywords)
    with mock.patch.object(common, "main", catch), mock.patch("sys.argv", [str(script)]):
        try:
            runpy.run_path(str(script), run_name="__main__")
        except Exception as e:  # noqa: BLE001: whatever the script does wrong, the remedy is in the script
            raise UserError(f"{places.shown_path(script)} fails: {type(e).__name__}: {e}") from None
    return caught


def recorded_images(record: dict, which: str, data_dir: str | None = None) -> torch.Tensor:
    """The pixels (in [0, 1]) of the images a run's record names in `which` ("shown" or "mistakes"), read from
    the data files: the test set's, or the training set's for a run validated on held-out images."""
    from tools import data as datafiles
    found = datafiles.locate_data(data_dir)
    split = "val" if record["config"].get("validation", "test") == "test" else "train"
    images, _ = datafiles.load_split(*(found[name] for name in datafiles.SPLIT_FILES[split]))
    return images[record["runs"][0][which]["index"]]
