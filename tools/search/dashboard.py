"""The study in Optuna's own dashboard (optuna-dashboard), on loopback: its trials, their curves per epoch, each
knob's importance, as Optuna's users look at a study. `python -m tools.search --dashboard` (make dashboard).

The lab's committed study is served from a copy of its journal, so that nothing done in the dashboard (a note, a
deleted trial) changes the committed file; a study of one's own, or one on a server, is served as it is, live.
"""
from __future__ import annotations

import shutil
import tempfile
from dataclasses import replace
from pathlib import Path

import optuna

from tools.files import UserError
from tools.search.study import METRIC, Setup, open_storage, where

HOST = "127.0.0.1"  # loopback only: the dashboard can change a study, and has no password


def serve(setup: Setup, port: int) -> None:
    """Serve the study until Ctrl-C."""
    from optuna_dashboard import run_server  # the dashboard and its web server load only when asked for
    with tempfile.TemporaryDirectory(prefix="dashboard-") as scratch:
        if setup.is_file and setup.is_the_labs:
            copy = Path(scratch) / Path(setup.storage).name
            shutil.copy(setup.storage, copy)
            setup, said = replace(setup, storage=str(copy)), f"a copy of {where(setup)} (the committed file stays as it is)"
        else:
            said = where(setup)
        print(f"search: the dashboard of study {setup.study}, from {said}: http://{HOST}:{port}/  (Ctrl-C stops it)",
              flush=True)
        storage = open_storage(setup)
        if said.startswith("a copy"):  # the axis says what the value is, rather than "Objective 0"
            optuna.load_study(study_name=setup.study, storage=storage).set_metric_names([METRIC])
        try:
            run_server(storage, host=HOST, port=port)
        except OSError as e:
            raise UserError(f"cannot serve on {HOST}:{port} ({e.strerror or e}); give another --port") from None
