"""Where a run writes, and how a run is found again by its name.

Every run has a folder of its own, runs/EXPERIMENT/WHAT-CHANGED/, named after the settings that differ from
its script's, and its seeds: `python 02_adam.py --epochs 1` writes runs/02_adam/epochs=1,seed=0/. Nothing a run
does touches another's folder. The lab's figures/ and results/ hold what `make all` makes, each script's own
settings over the lab's seeds on the whole data set; a run that makes that same record (its numbers aside)
writes there too, and no other run ever does.
"""
from __future__ import annotations

import difflib
from pathlib import Path

from tools import places
from tools.files import UserError, png_bytes, write_together
from tools.records import digest, is_the_labs, json_bytes, seeds_of, weights_file


def variant(changed: dict, seeds: list[int], quick: bool = False) -> str:
    """A run's folder name under runs/EXPERIMENT/: what differs from the script, then the seeds."""
    def shown(value):
        return "x".join(map(str, value)) if isinstance(value, (list, tuple)) else f"{value:g}" if isinstance(
            value, float) else str(value)
    parts = [f"{key}={shown(value)}" for key, value in changed.items()] + ["quick"] * quick
    parts.append(f"seed={seeds[0]}" if len(seeds) == 1 else f"seeds={seeds[0]}-{seeds[-1]}")
    return ",".join(parts)


def run_folder(record: dict) -> Path:
    return places.RUNS / record["experiment"] / variant(record["changed"], seeds_of(record), record["quick"])


def own_files(name: str, seeds: list[int], out: Path | None = None) -> tuple[Path, Path]:
    """The figure and results of the script's own settings at `seeds`: the lab's (at the lab's seeds, or under
    `out`'s figures/ and results/), else its run's folder."""
    if out or tuple(seeds) == places.LAB_SEEDS:
        return places.lab_files(name, out)
    folder = places.RUNS / name / variant({}, seeds)
    return folder / places.FIGURE, folder / places.RESULTS


def targets(name: str, changed: dict, seeds: list[int], quick: bool, out: Path | None) -> list[Path]:
    """The folders a run will write, known before it trains, so that an unwritable one is refused first."""
    folder = out or places.RUNS / name / variant(changed, seeds, quick)
    lab = [] if out or changed or quick or tuple(seeds) != places.LAB_SEEDS or not places.script(name).is_file() \
        else [p.parent for p in places.lab_files(name)]
    return [folder, *lab]


def save(record: dict, figure, out: Path | None = None, weights: dict[int, bytes] | None = None) -> str:
    """The run's figure, results and each seed's weights in its folder (`out`, or its place under runs/), and the
    figure and results in the lab's figures/ and results/ when it is the lab's own record: all whole, or none.
    Returns where, in words."""
    folder = out or run_folder(record)
    content = json_bytes(record)
    image = png_bytes(figure, source=digest(content))
    files = {folder / places.FIGURE: image, folder / places.RESULTS: content,
             **{folder / weights_file(seed): data for seed, data in (weights or {}).items()}}
    if out is None and is_the_labs(record):
        figure_path, results_path = places.lab_files(record["experiment"])
        files.update({figure_path: image, results_path: content})
    try:
        write_together(files)
    except KeyboardInterrupt:
        if all(path.is_file() and path.read_bytes() == data for path, data in files.items()):
            raise KeyboardInterrupt(f"it had written {places.shown_path(folder)}/") from None
        raise
    lab = [places.shown_path(p) for p in files if p.parent != folder]
    kept = "".join(f", {weights_file(seed)}" for seed in weights or {})
    return (f"{places.shown_path(folder)}/ ({places.FIGURE}, {places.RESULTS}{kept})"
            + (f", and the lab's {' and '.join(lab)}" if lab else ""))


# ---------------------------------------------------------------- finding a run by its name

def find(what: str | Path, weights: bool = False) -> Path:
    """The results.json that `what` names, the same for compare, predict and load: a run's folder (or its
    results.json) as it is; an experiment's name (or its script) means the lab's own record when there is one, else
    its newest run (`weights`: that kept its weights). Not found: the names there are nearest to it."""
    path = Path(what)
    if path.name == places.RESULTS and path.is_file():
        return path
    if (path / places.RESULTS).is_file():
        return path / places.RESULTS
    name = path.stem if path.suffix == ".py" else str(what)
    lab = places.lab_files(name)[1]
    lab_run = places.RUNS / name / variant({}, list(places.LAB_SEEDS)) / places.RESULTS
    if lab.is_file() and not weights:
        return lab
    if lab.is_file() and lab_run.is_file() and lab_run.read_bytes() == lab.read_bytes():
        return lab_run  # the lab's record, with the weights its run kept
    made = sorted((results for results in (places.RUNS / name).glob(f"*/{places.RESULTS}")
                   if not weights or any(results.parent.glob("seed=*.pt"))), key=lambda p: p.stat().st_mtime)
    if made:
        return made[-1]
    kept = "trained model" if weights else "results"
    if places.script(name).is_file():
        raise UserError(f"no {kept} of {name} in results/ nor in {places.shown_path(places.RUNS / name)}/; train one "
                        f"with: python {name}.py  (or --quick for a smoke run)")
    known = {*places.experiment_names(), *(p.name for p in places.RUNS.glob("*") if p.is_dir())} - {"logs", "compare"}
    near = difflib.get_close_matches(name, sorted(known), n=3, cutoff=0.6)
    raise UserError(f"{what}: no experiment or run of that name" + (f"; did you mean {' or '.join(near)}?" if near else
                    f"; there are {', '.join(sorted(known))}" if known else "; run an experiment first"))


def label(results: Path) -> str:
    """How a found record is named in what a tool prints: "05_lr01 (the lab's)", "09_mine/lr=0.01,seed=0"."""
    name = results.stem if results.name != places.RESULTS else results.parent.parent.name
    if results == places.lab_files(name)[1] or results.parent == places.RUNS / name / variant({}, [*places.LAB_SEEDS]):
        return f"{name} (the lab's)"
    return f"{results.parent.parent.name}/{results.parent.name}"
