"""Where a run writes, and how a run is found again by its name.

Every run has a folder of its own, runs/EXPERIMENT/WHAT-CHANGED/, named after the settings that differ from
its script's, and its seeds: `python 02_adam.py --epochs 1` writes runs/02_adam/epochs=1,seed=0/. Nothing a run
does touches another's folder. The lab's figures/ and results/ hold what `make all` makes, each script's own
settings over the lab's seeds on the whole data set; a run that makes that same record (its numbers aside)
writes there too, and no other run ever does.
"""
from __future__ import annotations

import difflib
import itertools
import json
from dataclasses import dataclass
from pathlib import Path

from tools import board, places, words
from tools.files import UserError, check_writable, png_bytes, write_together
from tools.records import (describe_optimizer, digest, how_made, is_the_labs, json_bytes, on_the_whole_data, seeds_of,
                           weights_file)


def variant(changed: dict, seeds: list[int], quick: bool = False) -> str:
    """A run's folder name under runs/EXPERIMENT/: what differs from the script, then the seeds."""
    def shown(value):
        return "x".join(map(str, value)) if isinstance(value, (list, tuple)) else f"{value:g}" if isinstance(
            value, float) else str(value)
    parts = [f"{key}={shown(value)}" for key, value in changed.items()] + ["quick"] * quick
    parts.append(f"seed={seeds[0]}" if len(seeds) == 1 else f"seeds={seeds[0]}-{seeds[-1]}")
    return ",".join(parts)


CLAIM = ".run"  # in a run's folder while it trains: what run it is, so that no other run takes the folder meanwhile


def built(make_model, make_optimizer, config) -> dict:
    """The model and optimizer a run's pieces build, in words, known before it trains (train seeds them anew)."""
    model = make_model(config)
    return dict(layers=str(model), optimizer=describe_optimizer(make_optimizer(model.parameters(), config)))


def built_by(record: dict) -> dict:
    """The same words, from a finished run's record."""
    return dict(layers=record["layers"], optimizer=record["optimizer"])


def identity(record: dict, pieces: dict) -> dict:
    """What makes two runs the same run: the experiment, its script as it was, its configuration and seeds, its data,
    its schedule, loss and step, and the model and optimizer it builds (`pieces`, as `built` says them). A run with
    all of these the same may replace the other; any other never does. As JSON would have it (tuples as lists)."""
    return json.loads(json.dumps(dict(
        experiment=record["experiment"], script=record["script"], config=record["config"], quick=record["quick"],
        seeds=record["seeds"], data=record["data"], schedule=record["schedule"], loss=record["loss"],
        step=record["step"], **pieces)))


@dataclass(frozen=True)
class Place:
    """Where a run writes: its folder, whether it replaces the same run made there before (else the folder is new),
    the lab's figures/ and results/ too when it is the lab's own record, and the other runs of its name it keeps."""
    folder: Path
    replaces: bool
    lab: bool
    kept: tuple = ()


def place(record: dict, pieces: dict, out: Path | None = None) -> Place:
    """A run's folder, decided and claimed before it trains, and checked that it can be written. By default
    runs/EXPERIMENT/WHAT-CHANGED/, or, if that folder holds another run (other settings, pieces, model, optimizer,
    data or script; finished, or training now), the first of WHAT-CHANGED,run2/, ,run3/, ... that is free or holds
    this same run: no run replaces a different one. `out`, the user's own folder, is used as it is, and is refused
    if it holds another run."""
    mine = identity(record, pieces)
    lab = out is None and is_the_labs(record)
    if out is not None:
        if another(out, mine):
            raise UserError(f"--out {places.shown_path(out)} holds another run; give a folder of its own (or leave "
                            f"--out out: every run then gets a new folder under runs/)")
        where = Place(out, (out / places.RESULTS).is_file(), lab)
    else:
        base = places.RUNS / record["experiment"] / variant(record["changed"], seeds_of(record), record["quick"])
        kept = []
        for number in itertools.count(1):
            folder = base if number == 1 else base.with_name(f"{base.name},run{number}")
            if claimed(folder, mine):
                where = Place(folder, (folder / places.RESULTS).is_file(), lab, tuple(kept))
                break
            kept.append(folder)
    check_writable(*writable(where, record["experiment"]))
    board.check_installed()
    return where


def claimed(folder: Path, mine: dict) -> bool:
    """Whether `folder` is this run's: free and now claimed for it (atomically: two runs started at once never claim
    one folder), or holding this same run already."""
    if another(folder, mine):
        return False
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / CLAIM, "x") as claim:
            claim.write(json.dumps(mine))
        return True
    except FileExistsError:
        return not another(folder, mine)  # claimed a moment ago: by the same run (its numbers will be these), or not
    except OSError:
        return True  # unwritable: check_writable says so in one line


def another(folder: Path, mine: dict) -> bool:
    """Whether `folder` holds a run that is not this one: its results, or the claim of one training now (an
    unreadable one counts as another: it is kept). An empty folder, or one that does not exist, holds none."""
    for name in (places.RESULTS, CLAIM):
        path = folder / name
        if path.is_file():
            try:
                theirs = json.loads(path.read_text())
                return (identity(theirs, built_by(theirs)) if name == places.RESULTS else theirs) != mine
            except (OSError, ValueError, KeyError, TypeError):
                return True
    return folder.is_dir() and any(folder.iterdir())  # something else is there: not this run's to replace


def own_files(name: str, seeds: list[int], out: Path | None = None) -> tuple[Path, Path]:
    """The figure and results of the script's own settings at `seeds`, as make all sees them: the lab's (at the lab's
    seeds, or under `out`'s figures/ and results/), else its newest run's folder (an edited script's is ,run2)."""
    if out or tuple(seeds) == places.LAB_SEEDS:
        return places.lab_files(name, out)
    base = places.RUNS / name / variant({}, seeds)
    made = sorted((f for f in (base, *base.parent.glob(f"{base.name},run*")) if (f / places.RESULTS).is_file()),
                  key=lambda f: (f / places.RESULTS).stat().st_mtime)  # the newest: a run of an edited script is run2
    folder = made[-1] if made else base
    return folder / places.FIGURE, folder / places.RESULTS


def writable(where: Place, name: str) -> list[Path]:
    """The folders a run will write, known before it trains, so that an unwritable one is refused first."""
    return [where.folder, *([p.parent for p in places.lab_files(name)] if where.lab else [])]


def save(record: dict, draw, where: Place, weights: dict[int, bytes] | None = None,
         boards: dict[int, Path] | None = None) -> str:
    """The run's figure (`draw(record)`), results and each seed's weights in its folder, and the figure (in English,
    whatever the language chosen) and results in the lab's figures/ and results/ when it is the lab's own record:
    all whole, or none; then each seed's staged TensorBoard events (`boards`) into its tensorboard/ folder. Returns
    where, in words."""
    folder = where.folder
    content = json_bytes(record)
    image = png_bytes(draw(record), source=words.marked(digest(content)))
    files = {folder / places.FIGURE: image, folder / places.RESULTS: content,
             **{folder / weights_file(seed): data for seed, data in (weights or {}).items()}}
    if where.lab:
        figure_path, results_path = places.lab_files(record["experiment"])
        if words.current() != "en":
            with words.in_english():
                image = png_bytes(draw(record), source=words.marked(digest(content)))
        files.update({figure_path: image, results_path: content})
    try:
        write_together(files)
        board.put_in_place(folder, boards or {})
        (folder / CLAIM).unlink(missing_ok=True)  # written: the results now say what run it is
    except KeyboardInterrupt:
        if all(path.is_file() and path.read_bytes() == data for path, data in files.items()):
            raise KeyboardInterrupt(f"it had written {places.shown_path(folder)}/") from None
        raise
    lab = [places.shown_path(p) for p in files if p.parent != folder]
    kept = "".join(f", {weights_file(seed)}" for seed in weights or {}) + (f", {board.FOLDER}/" if boards else "")
    said = (f"{places.shown_path(folder)}/ ({places.FIGURE}, {places.RESULTS}{kept})"
            + (f", and the lab's {' and '.join(lab)}" if lab else ""))
    if where.replaces:
        return said + ("; it replaced the run made there before with the same settings, pieces, model, optimizer, "
                       "data and script")
    return said + (f"; kept the earlier run{'s' * (len(where.kept) > 1)} of other settings, pieces or script in "
                   f"{', '.join(places.shown_path(f) + '/' for f in where.kept)}" if where.kept else "")


# ---------------------------------------------------------------- finding a run by its name

def find(what: str | Path, weights: bool = False) -> Path:
    """The results.json that `what` names, the same for compare, predict and load. A run's folder (or its
    results.json) is taken as it is, a quick run too. An experiment's name (or its script) means the lab's own
    record when there is one, else its newest full run (on the whole data, not --quick); `weights`: that kept its
    weights. Not found: what there is instead, or the nearest names."""
    path = Path(what)
    if path.name == places.RESULTS and path.is_file():
        return path
    if (path / places.RESULTS).is_file():
        return path / places.RESULTS
    name = path.stem if path.suffix == ".py" else str(what)
    made = sorted((p for p in (places.RUNS / name).glob(f"*/{places.RESULTS}")
                   if not weights or any(p.parent.glob("seed=*.pt"))), key=lambda p: p.stat().st_mtime)
    lab = places.lab_files(name)[1]
    if lab.is_file():
        labs = [p for p in made if is_the_labs_run(p)]  # the lab's own run, with its weights
        if not weights or labs:
            return labs[-1] if weights else lab
    full = [p for p in made if is_full(p)]
    if full:
        return full[-1]
    if lab.is_file():  # weights asked for, and the lab's run that kept them is not here (they are not committed)
        raise UserError(f"the lab's record of {name} is here, but not its weights, which are not committed; train "
                        f"them: python {name}.py --seeds 3 (or make all), or name a run's folder")
    if made:
        raise UserError(f"{name} has only quick runs or runs on part of the data ({places.shown_path(made[-1].parent)}/"
                        f"{' and others' if len(made) > 1 else ''}), which are smoke tests, not results; name one by "
                        f"its folder to use it all the same, or train it: python {name}.py")
    if places.script(name).is_file():
        raise UserError(f"no {'trained model' if weights else 'results'} of {name} in results/ nor in {places.shown_path(places.RUNS / name)}/; train one "
                        f"with: python {name}.py  (or --quick for a smoke run)")
    known = {*places.experiment_names(), *(p.name for p in places.RUNS.glob("*") if p.is_dir())} - {"logs", "compare"}
    near = difflib.get_close_matches(name, sorted(known), n=3, cutoff=0.6)
    raise UserError(f"{what}: no experiment or run of that name" + (f"; did you mean {' or '.join(near)}?" if near else
                    f"; there are {', '.join(sorted(known))}" if known else "; run an experiment first"))


def is_full(results: Path) -> bool:
    """Whether a run trained on the whole data set, not as a quick run (an unreadable record is not)."""
    try:
        return on_the_whole_data(json.loads(results.read_text()))
    except (OSError, ValueError, KeyError, TypeError):
        return False


def chosen(results: Path, record: dict) -> str:
    """What a tool prints of the run it chose by a name: which, where, how long, on how much."""
    return (f"{label(results)}: {places.shown_path(results.parent)}/ ({how_made(record)}; "
            f"{record['data']['train_size']:,} training images)")


def label(results: Path) -> str:
    """How a found record is named in what a tool prints: "05_lr01 (the lab's)", "09_mine/lr=0.01,seed=0"."""
    name = results.stem if results.name != places.RESULTS else results.parent.parent.name
    if results == places.lab_files(name)[1] or is_the_labs_run(results):
        return f"{name} (the lab's)"
    return f"{results.parent.parent.name}/{results.parent.name}"


def is_the_labs_run(results: Path) -> bool:
    """Whether a run's results are the lab's own record (results/NAME.json, the same bytes): the run that kept its
    weights."""
    lab = places.lab_files(results.parent.parent.name)[1]
    return lab.is_file() and results.read_bytes() == lab.read_bytes()
