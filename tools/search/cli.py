"""The command line: python -m tools.search (see tools/search/README.md, and --help)."""
from __future__ import annotations

import argparse
import sys

from tools import places
from tools.config import positive
from tools.data import DATA_DIR_HELP
from tools.files import bring_up_to_date, one_line_errors
from tools.run_all import cores
from tools.search import dashboard, followups, report, steps
from tools.search.space import DEFAULT_SPACE
from tools.search.study import (DEFAULT_EPOCHS, DEFAULT_EXPERIMENT, DEFAULT_PRUNER, DEFAULT_TRIALS, HEARTBEAT_SECONDS,
                                PRUNERS, as_made, configure, open_study)
from tools.search.workers import counts, search

def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m tools.search", description=__doc__.split("\n\n")[0],
                                epilog="Ranges and what happens when it is interrupted: see tools/search/README.md",
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--experiment", default=DEFAULT_EXPERIMENT, help=f"the script whose settings are searched "
                   f"(default: {DEFAULT_EXPERIMENT}); a student's own, model and all, works as well")
    p.add_argument("--range", action="append", metavar="FIELD=SPEC",
                   help=f"a Config field's range, or a piece's choices (make_optimizer=sgd,adamw) and a keyword's "
                        f"range (adamw.weight_decay=1e-5:0.1:log), repeatable (default: {' '.join(DEFAULT_SPACE)}; "
                        f"for --study pieces, the pieces' space: tools/search/README.md)")
    p.add_argument("--trials", type=positive(int), default=DEFAULT_TRIALS,
                   help=f"finished (complete or pruned) trials to reach (default: {DEFAULT_TRIALS})")
    p.add_argument("--epochs", type=positive(int),
                   help=f"epochs per trial, at most (default: {DEFAULT_EPOCHS}; 30 for --study pieces)")
    p.add_argument("--pruner", choices=PRUNERS, help=f"what stops a trial early: the median of the trials before "
                   f"it, or Hyperband's brackets up to the last epoch (default: {DEFAULT_PRUNER}; hyperband for "
                   f"--study pieces)")
    p.add_argument("--workers", type=positive(int), default=cores(), help="trials at once (default: one per core)")
    p.add_argument("--study", help="the study's name (default: the experiment's); its files are in "
                   "runs/searches/STUDY/, the lab's own study's (01_base) in tools/searches/01_base/")
    p.add_argument("--storage", help="a database URL (postgresql://USER@HOST/DB) for a study shared by several "
                   "machines; the password from $PGPASSWORD or ~/.pgpass, never on the command line "
                   "(default: $SEARCH_STORAGE, else the study's journal file)")
    p.add_argument("--heartbeat", type=positive(int), default=HEARTBEAT_SECONDS, metavar="SECONDS",
                   help=f"with --storage: each running trial's heartbeat; a trial whose worker died is FAILED by any "
                        f"command still running, within 4 beats (default: {HEARTBEAT_SECONDS})")
    p.add_argument("--seed", type=int, default=0, help="the sampler's seed (default: 0)")
    p.add_argument("--data-dir", help=DATA_DIR_HELP)
    what = p.add_mutually_exclusive_group()
    what.add_argument("--report", action="store_true", help="write the study's trials, figures and SEARCH.md only")
    p.add_argument("--check", action="store_true", help="with --report: write nothing; fail if a file is not what "
                   "the study makes (make check)")
    what.add_argument("--final", action="store_true", help="write the best setting as 09_searched.py (or "
                      "NN_EXPERIMENT_searched.py) and train it over the lab's seeds, validated on the test set")
    what.add_argument("--dashboard", action="store_true", help="serve the study in optuna-dashboard on loopback, "
                      "until Ctrl-C (make dashboard)")
    p.add_argument("--port", type=positive(int), default=8080, help="with --dashboard: its port (default: 8080)")
    what.add_argument("--ablation", action="store_true", help="train the best setting with each knob put back to "
                      "the experiment's own value, one at a time, on held-out images")
    what.add_argument("--steps", action="store_true", help="the path forwards, paso a paso: from the experiment's own "
                      "setting, add the best setting's changes one at a time, each step the one that gains most, "
                      "and take each back out of the best; trained as trials are, on held-out images")
    return p


def main(argv=None):
    p = parser()
    args = p.parse_args(argv)
    if args.check and not args.report:
        p.error("--check goes with --report")
    with one_line_errors("search", interrupted="every finished trial is kept, and the same command goes on from here"):
        setup = configure(args)
        if args.report or args.final or args.ablation or args.dashboard or args.steps:
            setup = as_made(setup)  # the study says what it searched, whatever flags came with these
            if args.dashboard:
                dashboard.serve(setup, args.port)
                return
            study = open_study(setup)
            if args.check:
                bring_up_to_date(report.outputs(setup, study), True, "python -m tools.search --report")
                print(f"search: the files of study {setup.study} are what it makes")
                return
            if args.final:
                followups.final(setup, study)
            if args.ablation:
                followups.ablation(setup, study)
            if args.steps:
                steps.run(setup, study, args.workers)
            print(f"search: wrote {written(setup, study)}")
            return
        ended = search(setup)
        study = open_study(setup)
        now = counts(study)
        print(f"search: {ended}: {now['COMPLETE'] + now['PRUNED']} finished ({now['COMPLETE']} complete, "
              f"{now['PRUNED']} pruned), {now['FAIL']} failed" + (
                  "; the same command goes on from here" if ended != "done" else ""))
        print(f"search: wrote {written(setup, study)}")
        if ended != "done":
            sys.exit(1)


def written(setup, study) -> str:
    """The study's files brought up to date; returns what that wrote, in words."""
    wrote = bring_up_to_date(report.outputs(setup, study), False, "")
    return ", ".join(map(places.shown_path, wrote)) or f"nothing: the files of study {setup.study} were up to date"
