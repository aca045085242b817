"""Where things are: the lab's root and its experiment scripts, the lab's own record (figures/, results/), and
runs/, where every other run goes. The one module that decides these places; every other reads them from here
as `places.ROOT`, `places.RUNS` (an attribute, looked up when used, so that a test can move the whole lab).
"""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = ROOT / "runs"
LAB_SEEDS = (0, 1, 2)  # make all's: the committed figures and results are means over these
FULL_DATA = dict(train_size=60_000, val_size=10_000)
REPORT_EXPERIMENTS = ("01_base", "02_adam", "03_no_dropout", "04_batch1000", "05_lr01", "06_wide", "07_final_adam",
                      "08_final_sgd")
LAB_EXPERIMENTS = (*REPORT_EXPERIMENTS, "09_searched", "10_searched_pieces")  # the lab's committed scripts: make mine runs none
FIGURE, RESULTS = "figure.png", "results.json"  # in a run's folder


def experiment_names(folder: Path | None = None) -> list[str]:
    """Every experiment here: each file named like 01_base.py is one, the report's eight and any added."""
    return sorted(path.stem for path in (folder or ROOT).glob("[0-9][0-9]_*.py"))


def script(name: str) -> Path:
    return ROOT / f"{name}.py"


def lab_files(name: str, root: Path | None = None) -> tuple[Path, Path]:
    """An experiment's figure and results in the lab's figures/ and results/ (or under `root`)."""
    root = root or ROOT
    return root / "figures" / f"{name}.png", root / "results" / f"{name}.json"


def shown_path(path: Path) -> str:
    """A path as a user would type it here: relative to the working folder where it can be."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
