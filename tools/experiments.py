"""An experiment script read without training it: what it gives `common.main`, split into its Config and its
pieces. The one reader of a script's keywords, for everything that builds on a script: loading its trained model,
the search's trials, the search's final script and its ablation.
"""
from __future__ import annotations

import runpy
from dataclasses import dataclass, fields, replace
from pathlib import Path
from unittest import mock

import common
from tools import places
from tools.config import OPTIONS, checked
from tools.files import UserError

PIECES = ("make_model", "make_optimizer", "make_schedule", "loss", "step")  # what a script may bring of its own


@dataclass(frozen=True)
class Experiment:
    name: str
    config: common.Config  # Config with the script's own settings, checked as main checks them
    pieces: dict  # only the pieces the script brings (make_model=..., loss=...)
    keywords: dict  # everything it gives common.main, as it gives it
    functions: dict  # the functions it defines or imports, by name: pieces a search may choose among


def of(name: str) -> Experiment:
    """The experiment script NAME.py at the lab's root."""
    script = places.script(name)
    if not script.is_file():
        raise UserError(f"no experiment {name}: {places.shown_path(script)} does not exist; there are "
                        f"{', '.join(places.experiment_names())}")
    return read(script)


def read(script: Path) -> Experiment:
    """What `script` gives common.main, got by running it with common.main caught instead of called."""
    caught = {}

    def catch(_file, **keywords):
        caught.update(keywords)
    with mock.patch.object(common, "main", catch), mock.patch("sys.argv", [str(script)]):
        try:
            namespace = runpy.run_path(str(script), run_name="__main__")
        except Exception as e:  # noqa: BLE001: whatever the script does wrong, the remedy is in the script
            raise UserError(f"{places.shown_path(script)} fails: {type(e).__name__}: {e}") from None
    names = {f.name for f in fields(common.Config)}
    unknown = sorted(set(caught) - names - set(PIECES) - set(OPTIONS))
    if unknown:
        raise UserError(f"{places.shown_path(script)} gives common.main {', '.join(unknown)}, which it does not take")
    config = checked(replace(common.Config(), **{k: v for k, v in caught.items() if k in names}))
    return Experiment(script.stem, config, {k: v for k, v in caught.items() if k in PIECES}, caught,
                      {k: v for k, v in namespace.items() if callable(v) and not isinstance(v, type)})
