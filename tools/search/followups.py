"""What follows a search: its best trial written as an experiment script and trained as every experiment is
(--final), and the ablation that puts the best setting's knobs back to the script's own one at a time (--ablation).
"""
from __future__ import annotations

import inspect
import json
import re
import tempfile
from pathlib import Path

import common
from tools import experiments, places, report as lab_report
from tools.config import flag
from tools.files import UserError, write_together
from tools.run_all import Run, cores, run
from tools.search import pieces as searched_pieces
from tools.search.space import LESSON_PIECES, PIECES, changes_of, described, function, pieces_named, settings

LAB_FINALS = {"01_base": "09_searched", "pieces": "10_searched_pieces"}  # the lab's studies' best, as scripts
AS_CONFIG = {"sgd": "sgd", "adam": "adam"}  # pieces that are common.make_optimizer with Config.optimizer set
AS_LESSON = {("smoothed", "label_smoothing", 0.0)}  # a piece that, so set, is the lesson's own: plain cross-entropy


def final_name(setup) -> str:
    """The best setting's script: 09_searched (10_searched_pieces) for the lab's own studies, else named after the
    study (a new script, never one of the lab's)."""
    if setup.is_the_labs:
        return LAB_FINALS[setup.study]
    return f"{setup.study}_searched" if re.match(r"\d\d_", setup.study) else f"{setup.experiment[:2]}_{setup.study}_searched"


def final_folder(setup) -> Path | None:
    """Where --final's record goes: the lab's figures/ and results/ for the lab's study (None), else the study's own
    folder under runs/searches/, so that a student's search leaves the lab as it was."""
    return None if setup.is_the_labs else setup.folder / "final"


def final_record(setup) -> dict | None:
    path = places.lab_files(final_name(setup), final_folder(setup))[1]
    return json.loads(path.read_text()) if path.is_file() else None


def script_text(setup, study) -> str:
    """The best trial's settings as an experiment script of the lab's own form: the pieces it chose from
    tools/search/pieces.py written out in it, with their searched keywords set."""
    best = study.best_trial
    changes = {k: rounded(v) for k, v in changes_of(best.params).items()}
    experiment = experiments.read(Path(setup.script))
    chosen = pieces_named(best.params)
    if chosen:
        return pieces_script(setup, best, experiment, changes, chosen)
    own = {k: v for k, v in experiment.keywords.items() if k not in experiment.pieces}
    found = ", ".join(f"{k}={literal(v)}" for k, v in changes.items())
    exact = ", ".join(f"{k} {literal(v)}" for k, v in changes_of(best.params).items())
    where = setup.folder.relative_to(places.ROOT) if setup.folder.is_relative_to(places.ROOT) else setup.folder
    doc = (f'"""The best setting the structured search found for {setup.experiment} ({where.as_posix()}/'
           f'SEARCH.md):\n{described({k: list(v) if isinstance(v, tuple) else v for k, v in changes.items()})}.\n'
           f"Chosen by its held-out accuracy ({best.value:.4f} after {setup.epochs} epochs, trial {best.number}; the "
           f"test set unseen),\nhere trained as every experiment is: {experiment.config.epochs} epochs on all 60,000 "
           f"training images,\nvalidated on the test set. The trial's exact values (rounded above to 3 significant "
           f"digits):\n{exact}."
           '"""\n')
    if not experiment.pieces:
        merged = ", ".join(f"{k}={literal(v)}" for k, v in {**own, **changes}.items())
        return doc + f"import common\n\nif __name__ == \"__main__\":\n    common.main(__file__, {merged})\n"
    return doc + ("import common\nfrom tools import experiments\n\nif __name__ == \"__main__\":\n"
                  f"    # {setup.experiment}.py's own keywords (its model and the rest), with the settings found\n"
                  f"    common.main(__file__, **{{**experiments.of(\"{setup.experiment}\").keywords, **dict({found})}})\n")


def pieces_script(setup, best, experiment, changes: dict, chosen: dict) -> str:
    """script_text for a trial that chose pieces: each piece of tools/search/pieces.py is written out (the keywords
    it searched set as its defaults), the script's own are taken from it (those it brings and the search left, and
    those the search chose among its functions), and the lesson's is left unsaid unless the script brings another."""
    written, keywords, imports = [], {}, set()
    mine = f'experiments.of("{setup.experiment}")'
    for kind in PIECES:
        if kind not in chosen:
            if kind in experiment.pieces:  # the script's own, which the search did not change
                keywords[kind], imports = f"{mine}.pieces[\"{kind}\"]", imports | {"from tools import experiments"}
            continue
        piece = chosen[kind]
        searched = {k.partition(".")[2]: rounded(v) for k, v in chosen.items() if k.startswith(f"{piece}.")}
        lesson = (piece == LESSON_PIECES[kind] and not searched) or (
            len(searched) == 1 and (piece, *next(iter(searched.items()))) in AS_LESSON)
        if kind == "make_optimizer" and piece in AS_CONFIG and not searched:
            changes = {"optimizer": AS_CONFIG[piece], **changes}
            lesson, piece = True, LESSON_PIECES[kind]
        if lesson and kind not in experiment.pieces:
            continue
        made = function(piece, experiment.functions, kind)
        if lesson:
            keywords[kind] = f"common.{LESSON_PIECES[kind] if piece not in vars(common) else piece}"
        elif piece in experiment.functions:
            keywords[kind] = f"{mine}.functions[\"{piece}\"]"
            if searched:
                keywords[kind] = f"partial({keywords[kind]}, {', '.join(f'{k}={v!r}' for k, v in searched.items())})"
                imports.add("from functools import partial")
            imports.add("from tools import experiments")
        elif made is vars(searched_pieces).get(piece):
            head, _, body = inspect.getsource(made).partition("\n")
            for keyword, number in searched.items():
                head, found = re.subn(rf"\b{keyword}=[^,)]+", f"{keyword}={number!r}", head)
                if found != 1:
                    raise UserError(f"{piece}'s first line does not set {keyword}=...; keep its signature on one line")
            written.append(f"{head}\n{body}")
            imports |= {line for needed, line in (("torch.", "import torch"), ("F.", "import torch.nn.functional as F"),
                                                  ("replace(", "from dataclasses import replace"))
                        if needed in body}
            keywords[kind] = piece
        else:
            keywords[kind] = f"common.{piece}"
    exact = settings_words(best.params)
    where = setup.folder.relative_to(places.ROOT) if setup.folder.is_relative_to(places.ROOT) else setup.folder
    said = settings({k: rounded(v) for k, v in best.params.items()})
    doc = (f'"""The best setting the structured search found for {setup.experiment} ({where.as_posix()}/SEARCH.md):\n'
           f"{said}.\nChosen by its held-out accuracy ({best.value:.4f} after {setup.epochs} epochs, trial "
           f"{best.number}; the test set unseen),\nhere trained as every experiment is: {experiment.config.epochs} "
           f"epochs on all 60,000 training images,\nvalidated on the test set."
           + (" The pieces it chose are written out below, from tools/search/pieces.py." if written else "")
           + f"\nThe trial's exact values (the script rounds them to 3 significant digits):\n{exact}.\n" '"""\n')
    own = {k: v for k, v in experiment.keywords.items() if k not in experiment.pieces}
    given = [*(f"{k}={v}" for k, v in keywords.items()), *(f"{k}={literal(v)}" for k, v in {**own, **changes}.items())]
    standard = {"from dataclasses import replace", "from functools import partial"}
    groups = [sorted(imports & standard), sorted(line for line in imports - standard if "torch" in line),  # then torch's
              ["import common", *sorted(line for line in imports if line.startswith("from tools"))]]
    lines = [doc + "\n\n".join("\n".join(group) for group in groups if group), "", "", "\n\n".join(written).rstrip(), "", "",
             'if __name__ == "__main__":', call(given), ""]
    text = "\n".join(lines)
    return re.sub(r"\n{4,}", "\n\n\n", text)


def call(given: list[str]) -> str:
    """common.main's line, its keywords wrapped under each other once they pass 120 characters."""
    line = f"    common.main(__file__, {', '.join(given)})"
    if len(line) <= 120:
        return line
    return "    common.main(\n        __file__,\n" + "".join(f"        {item},\n" for item in given) + "    )"


def settings_words(params: dict) -> str:
    return ", ".join(f"{k} {v!r}" for k, v in params.items())


def literal(value) -> str:
    """A value as the lab's scripts write it: "adam" in double quotes, (458, 436)."""
    return f'"{value}"' if isinstance(value, str) else repr(value)


def rounded(value):
    return float(f"{value:.3g}") if isinstance(value, float) else value


def final(setup, study) -> None:
    """Write the best setting as an experiment script and train it over the lab's seeds into the lab's files."""
    if not any(t.state.name == "COMPLETE" for t in study.get_trials(deepcopy=False)):
        raise UserError(f"study {setup.study} has no complete trial yet; run the search first")
    name = final_name(setup)
    path = places.script(name)
    text = script_text(setup, study)
    if not setup.is_the_labs and name in places.LAB_EXPERIMENTS:
        raise UserError(f"{name}.py is one of the lab's own scripts; give the study another --study NAME")
    if path.is_file() and path.read_text() != text and "structured search found" not in path.read_text():
        raise UserError(f"{path.name} exists and was not written by the search; move it away first")
    write_together({path: text.encode()})
    out = final_folder(setup)
    print(f"search: wrote {path.name}; training it over seeds {', '.join(map(str, places.LAB_SEEDS))}"
          + (f" into {places.shown_path(out)}/" if out else ""), flush=True)
    with tempfile.TemporaryDirectory(prefix="search-final-") as scratch:
        failed = run([Run(name, seed, out) for seed in places.LAB_SEEDS], min(cores(), len(places.LAB_SEEDS)),
                     Path(scratch))
    if failed:
        raise UserError(failed)
    if setup.is_the_labs:  # trained as the lab's own record: the report has one experiment more
        lab_report.main([])


# ---------------------------------------------------------------- the ablation: one knob at a time back to the base

def ablation_plan(setup, study) -> list[tuple[str, str, tuple]]:
    """(tag, what changes, flags) for the best setting, each knob put back alone, and all of them (if more than one)."""
    best = {k: rounded(v) for k, v in changes_of(study.best_trial.params).items()}
    base = experiments.read(Path(setup.script)).config
    plan = [("best", "nothing: the best setting", ())]
    back = {}
    for knob, value in best.items():
        own = getattr(base, knob)
        if own != value:
            values = own if isinstance(own, tuple) else (own,)
            back[knob] = (flag(knob), *map(str, values))
            plan.append((knob, f"{knob} back to {'x'.join(map(str, values))}", back[knob]))
    if len(back) > 1:  # with one knob, putting all back is putting that one back: trained once
        plan.append(("base", f"all {len(back)} back: {setup.experiment}'s own setting", sum(back.values(), ())))
    return plan


def ablation(setup, study) -> None:
    """Train the plan's settings (the best setting's script, seed 0, as many epochs as a trial, held-out validation:
    what the search measured), those not trained yet, into the study's ablation/ folder."""
    name = final_name(setup)
    if not places.script(name).is_file():
        raise UserError(f"{name}.py does not exist; run python -m tools.search --final first")
    out = setup.folder / "ablation"
    todo = [Run(name, 0, out / tag, ("--validation", "heldout", "--epochs", str(setup.epochs), *flags), tag=f"{tag}: ")
            for tag, _, flags in ablation_plan(setup, study) if not places.lab_files(name, out / tag)[1].is_file()]
    if todo:
        with tempfile.TemporaryDirectory(prefix="search-ablation-") as scratch:
            failed = run(todo, cores(), Path(scratch))
        if failed:
            raise UserError(failed)
