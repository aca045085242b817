"""The processes that run trials: one worker per core, each its own seed and one thread (never Optuna's n_jobs
threads), all sharing one study; and `search`, the command that starts them, replaces one that was killed, and
leaves every trial either finished or FAILED when it stops.
"""
from __future__ import annotations

import contextlib
import fcntl
import multiprocessing
import os
import signal
import socket
import statistics
import sys
import time
from pathlib import Path

import optuna
from optuna.trial import TrialState

from tools import places
from tools.files import UserError
from tools.run_all import clock, stopped
from tools.search.objective import Objective, Surplus
from tools.search.space import settings
from tools.search.study import SAMPLER, Setup, open_study, where

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


def work(setup: Setup, index: int) -> None:
    """A worker process: trials by Optuna's study.optimize until the study's finished and running trials are enough
    (MaxTrialsCallback); then it waits, and goes on only if a running one fails. Ctrl-C or SIGTERM ends the running
    trial FAILED, then the worker."""
    parent = os.getppid()
    study = open_study(setup)
    optuna.logging.set_verbosity(optuna.logging.ERROR)  # a FAILED trial is said by the command, in its words
    study.sampler = optuna.samplers.TPESampler(**SAMPLER, seed=setup.seed * 1000 + 10 * len(study.trials) + index)
    objective = Objective(setup, lambda number: surplus(study, number, setup.trials))
    enough = optuna.study.MaxTrialsCallback(setup.trials, states=(TrialState.COMPLETE, TrialState.PRUNED,
                                                                  TrialState.RUNNING))

    def said(study, trial):
        if not trial.user_attrs.get("surplus"):
            print(progress_line(study, trial, setup), flush=True)
    while os.getppid() == parent:
        now = counts(study)
        if now["COMPLETE"] + now["PRUNED"] >= setup.trials:
            return
        if now["COMPLETE"] + now["PRUNED"] + now["RUNNING"] >= setup.trials:
            time.sleep(1)  # the trials running are enough, unless one of them fails: then this worker goes on
            continue
        try:
            study.optimize(signed(objective), catch=(Surplus,), callbacks=[enough, said])
        except optuna.exceptions.UpdateFinishedTrialError:
            pass  # its trial was failed by another machine, as stale: it counts as failed, and the worker goes on


def signed(objective):
    """The objective, each trial first signed with its worker (host:pid), so that a dead worker's trial is known."""
    me = f"{socket.gethostname()}:{os.getpid()}"

    def run(trial):
        trial.set_user_attr("worker", me)
        return objective(trial)
    return run


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
                    optuna.storages.fail_stale_trials(study)  # another machine's dead worker: its heartbeat stopped
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
