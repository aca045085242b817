"""A structured search of an experiment's settings with Optuna, scored on images held out of the training set.

    python -m tools.search                     (make search) 01_base's knobs, until 60 trials have finished
    python -m tools.search --trials 80         the same study, on to 80 finished trials
    python -m tools.search --experiment 09_cnn --range lr=1e-4:0.1:log --range batch_size=32,64,128
    python -m tools.search --report            trials.jsonl, the figures and SEARCH.md from the study (trains nothing)
    python -m tools.search --final             the best setting as 09_searched.py, trained over the lab's seeds
    python -m tools.search --ablation          the best setting with one knob at a time put back to the base's

Every trial is one training by the lab's own loop (common.train), at one thread, of the experiment's script with
its Config changed by the trial's settings, validated each epoch on 10,000 images held out of the 60,000 training
images (--validation heldout: fixed, seeded), never on the test set. The trial's score is its held-out accuracy
at its last epoch; after each epoch a median pruner stops a trial that is behind the trials before it at that
epoch. Trials run in worker processes, one per core, each its own seed and thread count (never Optuna's n_jobs
threads), all sharing one study: a journal file under tools/searches/STUDY/ (or --storage URL, a database that
several machines reach).

Ranges: FIELD=LOW:HIGH (uniform), FIELD=LOW:HIGH:log, FIELD=A,B,C (choices); hidden=1:3x32:1024 is one to three
layers, each 32 to 1024 units on a log scale, and hidden=128x64,512x256 are choices. Without --range, the report's
knobs: optimizer, lr, batch_size, hidden, dropout.

Interrupted: Ctrl-C, a kill, a crash, or a worker killed mid-trial. The trial that was running ends FAILED (its
epochs are lost, never half-counted); every finished trial (complete or pruned) stays, once; and the same command
again continues until the asked number of trials have finished. One command at a time works on a study file; a
second is refused. With --storage, a worker that dies is noticed by its heartbeat (see `--help`).
"""
from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import multiprocessing
import os
import signal
import socket
import statistics
import sys
import time
import warnings
from dataclasses import dataclass, fields, replace
from pathlib import Path

from tools import runs as places
from tools.config import ConfigError, check, flag, one_line_errors, positive
from tools.files import UserError
from tools.run_all import clock, stopped

FOLDER = places.ROOT / "tools" / "searches"
DEFAULT_EXPERIMENT, DEFAULT_TRIALS, DEFAULT_EPOCHS = "01_base", 60, 15
DEFAULT_SPACE = ("optimizer=sgd,adam", "lr=1e-4:0.3:log", "batch_size=16,32,64,128,256", "hidden=1:3x32:1024",
                 "dropout=0:0.5")
MLP, WIDE = dict(layers=2, width1=128, width2=64), dict(layers=2, width1=512, width2=256)
REPORT_TRIALS = {  # the report's experiments as trials of the default space (04's batch of 1000 lies outside it)
    "01_base": dict(optimizer="sgd", lr=1e-3, batch_size=32, **MLP, dropout=0.2),
    "02_adam": dict(optimizer="adam", lr=1e-3, batch_size=32, **MLP, dropout=0.2),
    "03_no_dropout": dict(optimizer="sgd", lr=1e-3, batch_size=32, **MLP, dropout=0.0),
    "05_lr01": dict(optimizer="sgd", lr=0.1, batch_size=32, **MLP, dropout=0.2),
    "06_wide": dict(optimizer="sgd", lr=1e-3, batch_size=32, **WIDE, dropout=0.2),
    "07_final_adam": dict(optimizer="adam", lr=0.1, batch_size=32, **WIDE, dropout=0.2),
    "08_final_sgd": dict(optimizer="sgd", lr=0.1, batch_size=32, **WIDE, dropout=0.2),
}
NOT_SEARCHED = ("seed", "threads", "device", "validation", "epochs")  # the search fixes these itself
HEARTBEAT_SECONDS = 20  # --storage: a dead worker's trial is FAILED within 3 beats (its grace) and 1 more
PRUNER = dict(n_startup_trials=5, n_warmup_steps=2)  # from epoch 2 (Optuna prunes at steps >= this), once 5 have finished


# ---------------------------------------------------------------- the space

@dataclass(frozen=True)
class Range:
    """One knob's range: numbers from low to high (on a log scale or not), or choices, or for hidden a number of
    layers (`layers`) each from low to high units."""
    field: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: tuple = ()
    layers: tuple[int, int] | None = None
    text: str = ""

    def suggest(self, trial):
        if self.layers:
            depth = trial.suggest_int("layers", *self.layers)
            return tuple(trial.suggest_int(f"width{i + 1}", int(self.low), int(self.high), log=self.log)
                         for i in range(depth))
        if self.choices:
            value = trial.suggest_categorical(self.field, [shown(c) for c in self.choices])
            return self.choices[[shown(c) for c in self.choices].index(value)]
        if isinstance(self.low, int):
            return trial.suggest_int(self.field, self.low, self.high, log=self.log)
        return trial.suggest_float(self.field, self.low, self.high, log=self.log)


def shown(value) -> str | int | float:
    """A value as Optuna stores a choice (numbers and text only): hidden (512, 256) as "512x256"."""
    return "x".join(map(str, value)) if isinstance(value, tuple) else value


def parse_range(text: str, config) -> Range:
    """`FIELD=SPEC` as a Range, each end checked as Config checks its field; a ConfigError in one line if not."""
    field, _, spec = text.partition("=")
    names = [f.name for f in fields(config) if f.name not in NOT_SEARCHED]
    if field not in names:
        raise ConfigError(f"--range {text}: Config has no field {field!r} to search; it has {', '.join(names)}")
    if not spec:
        raise ConfigError(f"--range {text}: give {field}=LOW:HIGH, {field}=LOW:HIGH:log or {field}=A,B,C")
    default = getattr(type(config)(), field)

    def checked(item):
        try:
            value = tuple(int(v) for v in item.split("x")) if isinstance(default, tuple) else type(default)(item)
        except ValueError:
            raise ConfigError(f"--range {text}: {item!r} is not a value of {flag(field)}") from None
        try:
            return check(field, default, value)
        except ConfigError as e:
            raise ConfigError(f"--range {text}: {e}") from None
    if field == "hidden" and "x" in spec and ":" in spec:
        depth, _, widths = spec.partition("x")
        try:
            (d_low, d_high), (w_low, w_high) = map(int, depth.split(":")), map(int, widths.split(":"))
        except ValueError:
            raise ConfigError(f"--range {text}: write hidden=LAYERS_LOW:LAYERS_HIGHxUNITS_LOW:UNITS_HIGH, "
                              f"such as hidden=1:3x32:1024") from None
        for low, high in ((d_low, d_high), (w_low, w_high)):
            if not 0 < low <= high:
                raise ConfigError(f"--range {text}: {low}:{high} must be positive, the low end not above the high")
        return Range(field, w_low, w_high, log=True, layers=(d_low, d_high), text=text)
    if ":" in spec and not isinstance(default, str):
        low, high, *rest = spec.split(":")
        if rest not in ([], ["log"]):
            raise ConfigError(f"--range {text}: after LOW:HIGH only :log may follow")
        low, high = checked(low), checked(high)
        if isinstance(default, tuple):
            raise ConfigError(f"--range {text}: hidden takes choices (128x64,512x256) or layers and units (1:3x32:1024)")
        if low > high:
            raise ConfigError(f"--range {text}: its low end {low:g} is above its high end {high:g}")
        if rest and low <= 0:
            raise ConfigError(f"--range {text}: a log scale needs a low end above 0")
        return Range(field, low, high, log=bool(rest), text=text)
    choices = tuple(dict.fromkeys(checked(item) for item in spec.split(",")))
    return Range(field, choices=choices, text=text)


# ---------------------------------------------------------------- the setup, checked before anything runs

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

    @property
    def folder(self) -> Path:
        return FOLDER / self.study

    @property
    def is_file(self) -> bool:
        return "://" not in self.storage

    def described(self) -> dict:
        """What must not change between the commands that add to one study (on a server, the heartbeat too: a
        machine with a longer one would have its live trials failed by one with a shorter)."""
        return dict(experiment=self.experiment, epochs=self.epochs, space=[r.text for r in self.space],
                    **({} if self.is_file else dict(heartbeat=self.heartbeat)))


def configure(args) -> Setup:
    import common
    script = places.ROOT / f"{args.experiment}.py"
    if not script.is_file():
        raise UserError(f"no experiment {args.experiment}: {places.shown_path(script)} does not exist; there are "
                        f"{', '.join(places.experiment_names())}")
    space = tuple(parse_range(text, common.Config()) for text in (args.range or DEFAULT_SPACE))
    repeated = sorted({r.field for r in space if [s.field for s in space].count(r.field) > 1})
    if repeated:
        raise ConfigError(f"--range names {', '.join(repeated)} more than once")
    study = args.study or args.experiment
    if args.storage and "://" in args.storage:
        from sqlalchemy.engine import make_url
        try:
            secret = make_url(args.storage).password
        except Exception:  # noqa: BLE001: search_server says what is wrong with the URL
            secret = None
        if secret:
            raise ConfigError("--storage holds a password, which the command line shows to every user of the machine "
                              "(ps, shell history); put it in PGPASSWORD or ~/.pgpass, or the whole URL in "
                              "SEARCH_STORAGE")
    storage = args.storage or os.environ.get("SEARCH_STORAGE") or str(FOLDER / study / "study.journal")
    return Setup(args.experiment, str(script), study, args.trials, args.epochs, space, storage, args.workers, args.seed,
                 args.data_dir, args.heartbeat)


def open_study(setup: Setup, create: bool = False, compare: bool = True):
    """The study, created with its description if `create` and it is new; refused in one line if its file is
    damaged, its server unreachable, or (with `compare`) it was made with another experiment, epochs or space."""
    import optuna
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    if setup.is_file and not create and not Path(setup.storage).is_file():
        raise UserError(f"no study {setup.study}: {where(setup)} does not exist; run python -m tools.search first")
    try:
        storage = open_storage(setup)
        pruner = optuna.pruners.MedianPruner(**PRUNER)
        try:
            if not create:
                raise optuna.exceptions.DuplicatedStudyError
            study = optuna.create_study(study_name=setup.study, storage=storage, direction="maximize", pruner=pruner)
            for key, value in setup.described().items():
                study.set_user_attr(key, value)
            if setup.experiment == DEFAULT_EXPERIMENT and [r.text for r in setup.space] == list(DEFAULT_SPACE):
                enqueue_report(study)
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
    made = {key: study.user_attrs.get(key) for key in setup.described()}
    if compare and made != setup.described():
        differ = [f"{key} {made[key]} (asked: {value})" for key, value in setup.described().items() if made[key] != value]
        raise UserError(f"study {setup.study} in {where(setup)} was made with {'; '.join(differ)}; give this search "
                        f"another --study NAME, or run it as it was")
    return study


def as_made(setup: Setup) -> Setup:
    """`setup` with the experiment, epochs and space its study was made with, for --report, --final, --ablation."""
    import common
    made = open_study(setup, compare=False).user_attrs
    script = places.ROOT / f"{made['experiment']}.py"
    return replace(setup, experiment=made["experiment"], script=str(script), epochs=made["epochs"],
                   space=tuple(parse_range(text, common.Config()) for text in made["space"]))


def enqueue_report(study) -> None:
    """The report's own experiments first, so that the search starts from where the report stood and its figures
    show the report's points among the rest."""
    for name, params in REPORT_TRIALS.items():
        study.enqueue_trial(params, user_attrs={"report": name})


def open_storage(setup: Setup):
    import optuna
    if setup.is_file:
        path = Path(setup.storage)
        path.parent.mkdir(parents=True, exist_ok=True)
        check_journal(path)
        lock = kernel_lock(optuna)(str(path) + ".lock")
        return optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(path), lock_obj=lock))
    from tools import search_server
    return search_server.storage(setup.storage, setup.heartbeat, 3 * setup.heartbeat)


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


def kernel_lock(optuna):
    class KernelLock(optuna.storages.journal.JournalFileOpenLock):
        """The journal's lock as an fcntl lock, which the kernel lets go the moment its holder dies (a killed
        worker), where Optuna's own locks make everyone wait out a 30 s grace period."""

        def __init__(self, path: str):
            self.path, self.handle = path, None

        def acquire(self) -> bool:
            self.handle = open(self.path, "a")
            fcntl.flock(self.handle, fcntl.LOCK_EX)
            return True

        def release(self) -> None:
            fcntl.flock(self.handle, fcntl.LOCK_UN)
            self.handle.close()
    return KernelLock


def where(setup: Setup) -> str:
    if setup.is_file:
        return places.shown_path(Path(setup.storage))
    from tools import search_server
    return search_server.without_password(setup.storage)


# ---------------------------------------------------------------- one worker: trials until enough have finished

FINISHED = ("COMPLETE", "PRUNED")


def counts(study) -> dict[str, int]:
    states = [t.state.name for t in study.get_trials(deepcopy=False) if not t.user_attrs.get("surplus")]
    return {state: states.count(state) for state in ("COMPLETE", "PRUNED", "FAIL", "RUNNING", "WAITING")}


def worker(setup: Setup, index: int) -> None:
    """A worker process's start: its errors in one line (exit status 1), Ctrl-C or SIGTERM quietly (status 3)."""
    signal.signal(signal.SIGTERM, stopped)
    try:
        work(setup, index)
    except KeyboardInterrupt:
        sys.exit(INTERRUPTED)
    except UserError as e:
        sys.exit(f"search: worker {index}: error: {e}")
    except Exception as e:  # noqa: BLE001: a database that went away, say: one line, and the command stops
        sys.exit(f"search: worker {index}: {type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else ''}")


INTERRUPTED = 3


class Surplus(Exception):
    """The study filled in the instant this trial was asked for (by another worker): it ends FAILED, marked."""


def work(setup: Setup, index: int) -> None:
    """A worker process: one trial at a time by Optuna's study.optimize, until the study has enough finished or
    running trials. Ctrl-C or SIGTERM ends the running trial FAILED, then the worker."""
    import optuna
    import common
    from tools import trained
    parent, me = os.getppid(), f"{socket.gethostname()}:{os.getpid()}"
    study = open_study(setup)
    optuna.logging.set_verbosity(optuna.logging.ERROR)  # a FAILED trial is said by the command, in its words
    study.sampler = optuna.samplers.TPESampler(n_startup_trials=10, multivariate=True, group=True,
                                               seed=setup.seed * 1000 + 10 * len(study.trials) + index)
    keywords = trained.script_keywords(Path(setup.script))
    pieces = {key: keywords[key] for key in ("make_model", "make_optimizer", "make_schedule", "loss", "step")
              if key in keywords}
    names = {f.name for f in fields(common.Config)}
    base = replace(common.Config(), **{k: v for k, v in keywords.items() if k in names}, epochs=setup.epochs,
                   validation="heldout", threads=1, device="cpu")
    data = {}

    def objective(trial):
        trial.set_user_attr("worker", me)
        if surplus(study, trial.number, setup.trials):
            trial.set_user_attr("surplus", True)
            raise Surplus
        config = replace(base, **{r.field: r.suggest(trial) for r in setup.space})
        if config.inputs not in data:
            data[config.inputs] = common.load_data(setup.data_dir, "cpu", config.inputs, validation="heldout")
        started = time.monotonic()

        def report(epoch, figures):
            trial.report(figures["val_acc"], epoch)
            trial.set_user_attr("epochs", epoch)
            trial.set_user_attr("seconds", round(time.monotonic() - started, 1))
            if os.getppid() != parent:
                raise KeyboardInterrupt  # the command is gone: end this trial FAILED, and stop
            if trial.should_prune():
                raise optuna.TrialPruned()
        try:
            history = common.train(config, data[config.inputs], **pieces, on_epoch=report, log=lambda line: None)[2]
        except UserError as e:  # diverged: a setting this bad is what pruning is for
            trial.set_user_attr("diverged", str(e))
            raise optuna.TrialPruned() from None
        return history["val_acc"][-1]

    def said(study, trial):
        if not trial.user_attrs.get("surplus"):
            print(progress_line(study, trial, setup), flush=True)
    while os.getppid() == parent:
        if not setup.is_file:
            optuna.storages.fail_stale_trials(study)  # a dead machine's trial: FAILED, once past its grace
        now = counts(study)
        if now["COMPLETE"] + now["PRUNED"] >= setup.trials:
            return
        if now["COMPLETE"] + now["PRUNED"] + now["RUNNING"] >= setup.trials:
            time.sleep(1)  # the trials running are enough, unless one of them fails: then this worker goes on
            continue
        try:
            study.optimize(objective, n_trials=1, catch=(Surplus,), callbacks=[said])
        except optuna.exceptions.UpdateFinishedTrialError:
            pass  # its trial was failed by another machine, as stale: it counts as failed, and the worker goes on


def surplus(study, number: int, wanted: int) -> bool:
    trials = [t for t in study.get_trials(deepcopy=False) if not t.user_attrs.get("surplus")]
    return sum(t.state.name in FINISHED or (t.state.name == "RUNNING" and t.number < number) for t in trials) >= wanted


def progress_line(study, trial, setup: Setup) -> str:
    now = counts(study)
    done = now["COMPLETE"] + now["PRUNED"]
    trials = [t for t in study.get_trials(deepcopy=False) if t.state.name in FINISHED and "seconds" in t.user_attrs]
    mean = statistics.mean(t.user_attrs["seconds"] for t in trials) if trials else 0.0
    left = max(0, setup.trials - done)
    best = study.best_trial if now["COMPLETE"] else None
    how = (f"complete: {trial.value:.4f}" if trial.state.name == "COMPLETE" else
           f"pruned at epoch {trial.user_attrs.get('epochs', 0)}" + ("" if trial.value is None else f" ({trial.value:.4f})"))
    return (f"trial {trial.number:3d} {how}  | best {best.value:.4f} (trial {best.number})" if best else
            f"trial {trial.number:3d} {how}  | no trial complete yet") + (
        f"  | {done}/{setup.trials} finished, {left} to go, about {clock(mean * left / setup.workers)}  | "
        f"{settings(trial.params)}, {trial.user_attrs.get('seconds', 0):.0f}s")


def settings(params: dict) -> str:
    """A trial's settings in the lab's words: "adam lr 0.00123 batch 64 hidden 512x128 dropout 0.21"."""
    out, widths = [], [params[k] for k in sorted(params) if k.startswith("width")]
    for key, value in params.items():
        if key == "layers" or key.startswith("width"):
            if key == "layers":
                out.append(f"hidden {'x'.join(map(str, widths))}")
            continue
        out.append(f"{key.replace('batch_size', 'batch')} {value:.3g}" if isinstance(value, float) else
                   f"{value}" if key == "optimizer" else f"{key.replace('batch_size', 'batch')} {value}")
    return " ".join(out)


def changes_of(params: dict) -> dict:
    """A trial's params as Config changes: layers and widths become hidden."""
    changes = {k: v for k, v in params.items() if k != "layers" and not k.startswith("width")}
    if "layers" in params:
        changes["hidden"] = tuple(params[f"width{i + 1}"] for i in range(params["layers"]))
    if isinstance(changes.get("hidden"), str):
        changes["hidden"] = tuple(int(v) for v in changes["hidden"].split("x"))
    return changes


# ---------------------------------------------------------------- the command: workers, and what they leave

@contextlib.contextmanager
def only_command(setup: Setup):
    """One command at a time on a study file: its RUNNING trials are then surely from a command that is gone."""
    if not setup.is_file:
        yield
        return
    lock = Path(setup.storage).with_suffix(".lock")
    with open(lock, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UserError(f"another search is running on {places.shown_path(Path(setup.storage))}; wait for it, "
                            f"or stop it (Ctrl-C) and run this again") from None
        yield


def fail_stale(study, workers: set[str] | None = None, unowned: bool = False) -> list[int]:
    """End FAILED the RUNNING trials of workers that are gone (all of them, for a study file no command holds;
    with `unowned`, also those whose worker died before it could sign them)."""
    import optuna
    failed = []
    for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        if workers is None or t.user_attrs.get("worker") in workers or (unowned and "worker" not in t.user_attrs):
            study.tell(t.number, state=optuna.trial.TrialState.FAIL, skip_if_finished=True)
            failed.append(t.number)
    return failed


def search(setup: Setup) -> str:
    """Run the workers until the study has `setup.trials` finished trials; returns how it ended, in words."""
    study = open_study(setup, create=True)
    with only_command(setup):
        if setup.is_file:
            stale = fail_stale(study)
            if stale:
                print(f"search: trials {', '.join(map(str, stale))} were left running by a command that is gone; "
                      f"they are FAILED now")
        now = counts(study)
        done = now["COMPLETE"] + now["PRUNED"]
        print(f"search: study {setup.study} in {where(setup)}: {done} finished, {now['FAIL']} failed; "
              f"{max(0, setup.trials - done)} to go on {setup.workers} worker{'s' * (setup.workers > 1)}, "
              f"{setup.epochs} epochs at most each, "
              f"validated on held-out training images", flush=True)
        if done >= setup.trials:
            return "done"  # no worker to start: nothing to do
        context = multiprocessing.get_context("spawn")
        started = time.monotonic()
        running = {}
        on_sigterm = signal.signal(signal.SIGTERM, stopped)
        try:
            for index in range(setup.workers):
                process = context.Process(target=worker, args=(setup, index), daemon=True)
                process.start()
                running[process] = index
            spare, beat, replaced = setup.workers, time.monotonic(), 0
            while running:
                time.sleep(0.2)
                if not setup.is_file and time.monotonic() - beat > setup.heartbeat:
                    import optuna  # another machine's dead worker: its heartbeat stopped
                    optuna.storages.fail_stale_trials(study)
                    beat = time.monotonic()
                for process in [p for p in running if not p.is_alive()]:
                    index = running.pop(process)
                    if process.exitcode == 0:
                        continue
                    gone = fail_stale(study, {f"{socket.gethostname()}:{process.pid}"}, unowned=setup.is_file)
                    if process.exitcode not in (INTERRUPTED, -signal.SIGKILL, -signal.SIGTERM):
                        raise UserError(f"worker {index} failed (exit status {process.exitcode}; its trial "
                                        f"{', '.join(map(str, gone)) or '-'} is FAILED); see its message above")
                    replaced += 1
                    if replaced > 3 * setup.workers:
                        raise UserError(f"workers were stopped {replaced} times (out of memory? see dmesg); its trial "
                                        f"{', '.join(map(str, gone)) or '-'} is FAILED; fix that, then run this again")
                    print(f"search: worker {index} was stopped; its trial "
                          f"{', '.join(map(str, gone)) or '-'} is FAILED; a new worker takes its place", flush=True)
                    process = context.Process(target=worker, args=(setup, spare), daemon=True)
                    spare += 1
                    process.start()
                    running[process] = index
            return "done"
        except KeyboardInterrupt:
            for process in running:
                if process.is_alive():
                    process.terminate()  # SIGTERM, if Ctrl-C did not reach it: it ends its trial FAILED
            for process in running:
                process.join(timeout=30)
            return "interrupted"
        finally:
            signal.signal(signal.SIGTERM, on_sigterm)
            for process in running:
                if process.is_alive():
                    process.terminate()
                    process.join()
            fail_stale(study, {f"{socket.gethostname()}:{p.pid}" for p in running}, unowned=setup.is_file)
            study.set_user_attr("seconds", study.user_attrs.get("seconds", 0) + round(time.monotonic() - started))


# ---------------------------------------------------------------- the command line

def parser() -> argparse.ArgumentParser:
    from tools.run_all import cores
    p = argparse.ArgumentParser(prog="python -m tools.search", description=__doc__.split("\n\n")[0],
                                epilog="Ranges and what happens when it is interrupted: see the top of tools/search.py",
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--experiment", default=DEFAULT_EXPERIMENT, help=f"the script whose settings are searched "
                   f"(default: {DEFAULT_EXPERIMENT}); a student's own, model and all, works as well")
    p.add_argument("--range", action="append", metavar="FIELD=SPEC",
                   help=f"a Config field's range, repeatable (default: {' '.join(DEFAULT_SPACE)})")
    p.add_argument("--trials", type=positive(int), default=DEFAULT_TRIALS,
                   help=f"finished (complete or pruned) trials to reach (default: {DEFAULT_TRIALS})")
    p.add_argument("--epochs", type=positive(int), default=DEFAULT_EPOCHS,
                   help=f"epochs per trial, at most (default: {DEFAULT_EPOCHS})")
    p.add_argument("--workers", type=positive(int), default=cores(), help="trials at once (default: one per core)")
    p.add_argument("--study", help="the study's name (default: the experiment's); its files are in "
                   "tools/searches/STUDY/")
    p.add_argument("--storage", help="a database URL (postgresql://USER@HOST/DB) for a study shared by several "
                   "machines; the password from $PGPASSWORD or ~/.pgpass, never on the command line "
                   "(default: $SEARCH_STORAGE, else the study's journal file)")
    p.add_argument("--heartbeat", type=positive(int), default=HEARTBEAT_SECONDS, metavar="SECONDS",
                   help=f"with --storage: each running trial's heartbeat; a trial whose worker died is FAILED by any "
                        f"command still running, within 4 beats (default: {HEARTBEAT_SECONDS})")
    p.add_argument("--seed", type=int, default=0, help="the sampler's seed (default: 0)")
    p.add_argument("--data-dir", help="folder with the four Fashion-MNIST files")
    what = p.add_mutually_exclusive_group()
    what.add_argument("--report", action="store_true", help="write the study's trials, figures and SEARCH.md only")
    p.add_argument("--check", action="store_true", help="with --report: write nothing; fail if a file is not what "
                   "the study makes (make check)")
    what.add_argument("--final", action="store_true", help="write the best setting as 09_searched.py (or "
                      "NN_EXPERIMENT_searched.py) and train it over the lab's seeds, validated on the test set")
    what.add_argument("--ablation", action="store_true", help="train the best setting with each knob put back to "
                      "the experiment's own value, one at a time, on held-out images")
    return p


def main(argv=None):
    p = parser()
    args = p.parse_args(argv)
    if args.check and not args.report:
        p.error("--check goes with --report")
    from tools import search_report
    with one_line_errors("search", interrupted="every finished trial is kept, and the same command goes on from here"):
        setup = configure(args)
        if args.report or args.final or args.ablation:
            setup = as_made(setup)  # the study says what it searched, whatever flags came with these
        if args.report and args.check:
            wrong = search_report.stale(search_report.outputs(setup, open_study(setup)))
            if wrong:
                sys.exit(f"search: {', '.join(places.shown_path(p) for p in wrong)} "
                         f"{'is' if len(wrong) == 1 else 'are'} not what the study makes; run python -m tools.search "
                         f"--report and commit the result")
            print(f"search: the files of study {setup.study} are what it makes")
            return
        if args.report or args.final or args.ablation:
            study = open_study(setup)
            if args.final:
                search_report.final(setup, study)
            if args.ablation:
                search_report.ablation(setup, study)
            print(f"search: wrote {search_report.write(setup, study)}")
            return
        ended = search(setup)
        study = open_study(setup)
        now = counts(study)
        print(f"search: {ended}: {now['COMPLETE'] + now['PRUNED']} finished ({now['COMPLETE']} complete, "
              f"{now['PRUNED']} pruned), {now['FAIL']} failed" + (
                  "; the same command goes on from here" if ended != "done" else ""))
        print(f"search: wrote {search_report.write(setup, study)}")
        if ended != "done":
            sys.exit(1)


if __name__ == "__main__":
    main()
