"""Where a search's trials live: the setup a command asks for, checked before anything runs, and the study it opens,
in a journal file (one machine: the lab's own study under tools/searches/, any other under runs/searches/) or a
PostgreSQL database (several; server.py).
"""
from __future__ import annotations

import fcntl
import json
import os
import time
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

import optuna

import common
from tools import places
from tools.experiments import of as experiment_of
from tools.files import ConfigError, UserError
from tools.search import server
from tools.search.space import (DEFAULT_SPACE, PIECES_SPACE, PIECES_TRIALS, REPORT_TRIALS, Range, checked_space,
                                parse_range)

FOLDER = places.ROOT / "tools" / "searches"  # the lab's own studies, committed; a student's live under runs/searches/


@dataclass(frozen=True)
class LabStudy:
    """One of the lab's committed studies, of 01_base: what it searches, for how many epochs, pruned how, and the
    trials it starts from."""
    space: tuple[str, ...]
    epochs: int
    pruner: str
    first: dict
    goal: float | None = None  # the best's mean test accuracy aimed at, set before it is trained


LAB_STUDIES = {
    "01_base": LabStudy(DEFAULT_SPACE, 15, "median", REPORT_TRIALS),  # the report's five knobs
    # and the pieces, budgeted as the final trains; its goal: past every published MLP figure (0.8946, 2024)
    "pieces": LabStudy(PIECES_SPACE, 30, "hyperband", PIECES_TRIALS, goal=0.905),
}
METRIC = "held-out accuracy"  # what a trial's value is, as the dashboard names it
DEFAULT_EXPERIMENT, DEFAULT_TRIALS, DEFAULT_EPOCHS, DEFAULT_PRUNER = "01_base", 60, 15, "median"
HEARTBEAT_SECONDS = 20  # --storage: a dead worker's trial is FAILED within 3 beats (its grace) and 1 more
SAMPLER = dict(n_startup_trials=10, multivariate=True, group=True)  # TPE's: its first trials at random
PRUNER = dict(n_startup_trials=5, n_warmup_steps=2)  # from epoch 2 (Optuna prunes at steps >= this), once 5 are complete
HYPERBAND = dict(min_resource=1, reduction_factor=3)  # rungs at epochs 1, 3, 9 and 27 in its first bracket; the top
# rung is the study's last epoch
PRUNERS = ("median", "hyperband")


@dataclass(frozen=True)
class Setup:
    experiment: str
    script: str  # its path: worker processes start afresh, and find it here
    study: str
    trials: int
    epochs: int
    space: tuple[Range, ...]
    storage: str  # a journal file's path, or a database URL
    workers: int
    seed: int
    data_dir: str | None
    heartbeat: int = HEARTBEAT_SECONDS
    pruner: str = DEFAULT_PRUNER
    folder: Path = Path()  # its trials, figures and SEARCH.md: tools/searches/STUDY/ for the lab's, else runs/searches/
    lab: bool = False  # the lab's committed study: its name, in its committed journal (not a server's of that name)

    @property
    def is_the_labs(self) -> bool:
        return self.lab

    @property
    def is_file(self) -> bool:
        return "://" not in self.storage

    def described(self) -> dict:
        """What must not change between the commands that add to one study (on a server, the heartbeat too: a
        machine with a longer one would have its live trials failed by one with a shorter)."""
        return dict(experiment=self.experiment, epochs=self.epochs, space=[r.text for r in self.space],
                    pruner=self.pruner, **({} if self.is_file else dict(heartbeat=self.heartbeat)))


MADE_BEFORE = dict(pruner="median")  # what a study made before its description said so was made with


def configure(args) -> Setup:
    script = experiment_of(args.experiment)  # refused now, in one line, if it is not there or fails
    study = args.study or args.experiment
    own = LAB_STUDIES.get(study) if args.experiment == DEFAULT_EXPERIMENT else None  # a lab study's own defaults
    space = checked_space(tuple(parse_range(text, common.Config(), script.functions)
                                for text in (args.range or (own.space if own else DEFAULT_SPACE))), script.functions)
    epochs = args.epochs or (own.epochs if own else DEFAULT_EPOCHS)
    pruner = args.pruner or (own.pruner if own else DEFAULT_PRUNER)
    if args.storage and "://" in args.storage:
        from sqlalchemy.engine import make_url  # Optuna's own dependency, loaded only for a server
        try:
            secret = make_url(args.storage).password
        except Exception:  # noqa: BLE001: server.storage says what is wrong with the URL
            secret = None
        if secret:
            raise ConfigError("--storage holds a password, which the command line shows to every user of the machine "
                              "(ps, shell history); put it in PGPASSWORD or ~/.pgpass, or the whole URL in "
                              "SEARCH_STORAGE")
    server = args.storage or os.environ.get("SEARCH_STORAGE")
    lab = study in LAB_STUDIES and not server
    folder = (FOLDER if lab else places.RUNS / "searches") / study
    storage = server or str(folder / "study.journal")
    return Setup(args.experiment, str(places.script(script.name)), study, args.trials, epochs, space, storage,
                 args.workers, args.seed, args.data_dir, args.heartbeat, pruner, folder, lab)


def make_pruner(setup: Setup):
    if setup.pruner == "hyperband":
        return optuna.pruners.HyperbandPruner(**HYPERBAND, max_resource=setup.epochs)
    return optuna.pruners.MedianPruner(**PRUNER)


def open_study(setup: Setup, create: bool = False, compare: bool = True):
    """The study, created with its description if `create` and it is new; refused in one line if its file is
    damaged, its server unreachable, or (with `compare`) it was made with another experiment, epochs or space."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    if setup.is_file and not create and not Path(setup.storage).is_file():
        raise UserError(f"no study {setup.study}: {where(setup)} does not exist; run python -m tools.search first")
    try:
        storage = open_storage(setup)
        pruner = make_pruner(setup)
        try:
            if not create:
                raise optuna.exceptions.DuplicatedStudyError
            study = optuna.create_study(study_name=setup.study, storage=storage, direction="maximize", pruner=pruner)
            study.set_metric_names([METRIC])
            for key, value in setup.described().items():
                study.set_user_attr(key, value)
            enqueue_first(setup, study)
        except optuna.exceptions.DuplicatedStudyError:
            study = optuna.load_study(study_name=setup.study, storage=storage, pruner=pruner)
            for _ in range(20):  # made by another machine this very second? its description follows
                if study.user_attrs:
                    break
                time.sleep(0.25)
    except UserError:
        raise
    except KeyError:
        raise UserError(f"no study {setup.study} in {where(setup)}; run python -m tools.search first") from None
    except Exception as e:  # noqa: BLE001: a damaged file fails deep inside Optuna, in many ways
        raise UserError(f"{where(setup)} cannot be read as an Optuna study ({type(e).__name__}: "
                        f"{str(e).splitlines()[0] if str(e) else ''}); move it away to start afresh") from None
    made = {key: study.user_attrs.get(key, MADE_BEFORE.get(key)) for key in setup.described()}
    if compare and made != setup.described():
        differ = [f"{key} {made[key]} (asked: {value})" for key, value in setup.described().items() if made[key] != value]
        raise UserError(f"study {setup.study} in {where(setup)} was made with {'; '.join(differ)}; give this search "
                        f"another --study NAME, or run it as it was")
    return study


def as_made(setup: Setup) -> Setup:
    """`setup` with the experiment, epochs and space its study was made with, for --report, --final, --ablation."""
    made = {**MADE_BEFORE, **open_study(setup, compare=False).user_attrs}
    script = places.script(made["experiment"])
    functions = experiment_of(made["experiment"]).functions
    return replace(setup, experiment=made["experiment"], script=str(script), epochs=made["epochs"],
                   pruner=made["pruner"],
                   space=tuple(parse_range(text, common.Config(), functions) for text in made["space"]))


def enqueue_first(setup: Setup, study) -> None:
    """For a lab study searched in its own space, the report's own experiments first, so that the search starts
    from where the report stood and its figures show the report's points among the rest."""
    own = LAB_STUDIES.get(setup.study)
    if setup.experiment == DEFAULT_EXPERIMENT and own and [r.text for r in setup.space] == list(own.space):
        first = own.first
    elif setup.experiment == DEFAULT_EXPERIMENT and [r.text for r in setup.space] == list(DEFAULT_SPACE):
        first = REPORT_TRIALS
    else:
        return
    for name, params in first.items():
        study.enqueue_trial(params, user_attrs={"report": name})


def open_storage(setup: Setup):
    if setup.is_file:
        path = Path(setup.storage)
        path.parent.mkdir(parents=True, exist_ok=True)
        check_journal(path)
        lock = KernelLock(str(path) + ".lock")
        return optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(path), lock_obj=lock))
    return server.storage(setup.storage, setup.heartbeat, 3 * setup.heartbeat)


def check_journal(path: Path) -> None:
    """Refuse a journal with a line that is not JSON before Optuna reads (and appends to) it. Its last line may be
    unfinished: a writer killed mid-line, which Optuna itself passes over."""
    if not path.is_file():
        return
    with open(path, "rb") as handle:
        for number, line in enumerate(handle, 1):
            if not line.endswith(b"\n"):
                break
            try:
                json.loads(line)
            except ValueError:
                raise UserError(f"{places.shown_path(path)} is damaged (line {number} is not a journal entry); "
                                f"move it away to start afresh, or take it back from git") from None


class KernelLock(optuna.storages.journal.JournalFileOpenLock):
    """The journal's lock as an fcntl lock, which the kernel lets go the moment its holder dies (a killed worker),
    where Optuna's own locks make everyone wait out a 30 s grace period."""

    def __init__(self, path: str):
        self.path, self.handle = path, None

    def acquire(self) -> bool:
        self.handle = open(self.path, "a")
        fcntl.flock(self.handle, fcntl.LOCK_EX)
        return True

    def release(self) -> None:
        fcntl.flock(self.handle, fcntl.LOCK_UN)
        self.handle.close()


def where(setup: Setup) -> str:
    if setup.is_file:
        return places.shown_path(Path(setup.storage))
    return server.without_password(setup.storage)
