"""One trial: the experiment's script trained by the lab's own loop (common.train) with the trial's settings, one
thread, validated each epoch on the held-out images (never the test set), reported to the study after each epoch
so that its pruner may stop it there. Its score is its held-out accuracy at its last epoch.
"""
from __future__ import annotations

import os
import time
from dataclasses import replace
from pathlib import Path

import optuna

import common
from tools import experiments
from tools.files import Diverged
from tools.search.space import changes_of, pieces_of, sample


class Surplus(Exception):
    """The study filled in the instant this trial was asked for (by another worker): it ends FAILED, marked."""


def setting(setup, experiment, params: dict):
    """The Config and pieces a trial (or a step of the path) trains with: the script's own settings, then what the
    search fixes for every trial (the script may set any of these), then `params`."""
    base = replace(experiment.config, epochs=setup.epochs, validation="heldout", threads=1, device="cpu")
    return replace(base, **changes_of(params)), {**experiment.pieces, **pieces_of(params, experiment.functions)}


class Objective:
    """Optuna's objective for a study's setup: `Objective(setup)(trial)` trains one trial and returns its score."""

    def __init__(self, setup, finished_enough):
        experiment = experiments.read(Path(setup.script))  # by its path: a worker is a process started afresh
        self.setup, self.experiment, self.finished_enough = setup, experiment, finished_enough
        self.data = {}  # by pixel scaling, loaded once per worker
        self.parent = os.getppid()

    def __call__(self, trial) -> float:
        if self.finished_enough(trial.number):
            trial.set_user_attr("surplus", True)
            raise Surplus
        config, pieces = setting(self.setup, self.experiment, sample(self.setup.space, trial))
        if config.inputs not in self.data:
            self.data[config.inputs] = common.load_data(self.setup.data_dir, "cpu", config.inputs, validation="heldout")
        started = time.monotonic()

        def report(epoch, figures):
            trial.report(figures["val_acc"], epoch)
            trial.set_user_attr("epochs", epoch)
            trial.set_user_attr("seconds", round(time.monotonic() - started, 1))
            if os.getppid() != self.parent:
                raise KeyboardInterrupt  # the command is gone: end this trial FAILED, and stop
            if trial.should_prune():
                raise optuna.TrialPruned()
        try:
            history = common.train(config, self.data[config.inputs], **pieces, on_epoch=report,
                                   log=lambda line: None)[2]
        except optuna.TrialPruned:
            raise
        except Diverged as e:  # a setting this bad is what pruning is for
            trial.set_user_attr("diverged", str(e))
            raise optuna.TrialPruned() from None
        except Exception as e:  # the trial FAILS, and says why in one line; the worker stops with that line
            trial.set_user_attr("error", f"{type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else ''}")
            raise
        return history["val_acc"][-1]
