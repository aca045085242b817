"""A structured search of an experiment's settings with Optuna, scored on images held out of the training set.

    python -m tools.search --study pieces      (make search) 01_base's knobs and pieces, Hyperband to 30 epochs
    python -m tools.search                     the first study, 01_base's five knobs, until 60 trials have finished
    python -m tools.search --trials 80         the same study, on to 80 finished trials
    python -m tools.search --experiment 09_cnn --range lr=1e-4:0.1:log --range batch_size=32,64,128
    python -m tools.search --report            trials.jsonl, the figures and SEARCH.md from the study (trains nothing)
    python -m tools.search --final             the best setting as 09_searched.py, trained over the lab's seeds
    python -m tools.search --ablation          the best setting with one knob at a time put back to the base's
    python -m tools.search --steps             (make steps) the path from the base to the best, one change a step

Every trial is one training by the lab's own loop (common.train), at one thread, of the experiment's script with
its Config changed by the trial's settings, validated each epoch on 10,000 images held out of the 60,000 training
images (--validation heldout: fixed, seeded), never on the test set. The trial's score is its held-out accuracy
at its last epoch; after each epoch a median pruner (or with --pruner hyperband, Hyperband's brackets) may stop
it. Trials run in worker processes, one per core, each its own seed and thread count (never Optuna's n_jobs
threads), all sharing one study: a journal file, the lab's own under tools/searches/01_base/ and any other under
runs/searches/STUDY/ (or --storage URL, a database that several machines reach).

Ranges: FIELD=LOW:HIGH (uniform), FIELD=LOW:HIGH:log, FIELD=A,B,C (choices); hidden=1:3x32:1024 is one to three
layers, each 32 to 1024 units on a log scale, and hidden=128x64,512x256 are choices. Without --range, the report's
knobs: optimizer, lr, batch_size, hidden, dropout. PIECE=NAME,NAME chooses a piece (tools/search/pieces.py, or
the script's own functions), NAME.KEYWORD=LOW:HIGH a number it takes.

Interrupted: Ctrl-C, a kill, a crash, or a worker killed mid-trial. The trial that was running ends FAILED (its
epochs are lost, never half-counted); every finished trial (complete or pruned) stays, once; and the same command
again continues until the asked number of trials have finished. One command at a time works on a study file; a
second is refused. With --storage, a worker that dies is noticed by its heartbeat (see `--help`).
"""
from __future__ import annotations

# The package, each module one job, on floors as Optuna's own: space (what a trial may set), study (where the trials
# live, and its storage), pieces (what a trial may choose beyond Config), objective (one trial: a training, pruned
# per epoch), workers (processes that run trials, and the command that supervises them), steps (--steps: the path
# forwards), followups (--final, --ablation), report (what the study says, rendered), dashboard, cli (the command
# line: python -m tools.search).
