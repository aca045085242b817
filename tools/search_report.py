"""What a search leaves, written from its study: the trials as JSON Lines, three figures, SEARCH.md and the
README's "Search" section; and the two steps after it, the best setting as an experiment (--final) and the
ablation back toward the base (--ablation). Every number in SEARCH.md and the README is written here."""
from __future__ import annotations

import json
import sys
import tempfile
import warnings
from dataclasses import fields, replace
from pathlib import Path

from tools import runs as places
from tools.files import UserError, png_bytes, png_source, pyplot, section_text, write_together

TRIALS, DOCUMENT = "trials.jsonl", "SEARCH.md"
IMPORTANCE_AFTER = 10  # complete trials before PED-ANOVA's best tenth holds even one


def rows(study) -> list[dict]:
    """Every trial but the surplus ones (asked in the instant the study filled), as plain values."""
    from tools.search import changes_of
    out = []
    for t in study.get_trials(deepcopy=False):
        if t.user_attrs.get("surplus") or t.state.name in ("WAITING",):
            continue
        out.append(dict(number=t.number, state=t.state.name, value=t.value,
                        settings={k: list(v) if isinstance(v, tuple) else v for k, v in changes_of(t.params).items()},
                        epochs=t.user_attrs.get("epochs", 0), seconds=t.user_attrs.get("seconds"),
                        held_out_accuracy=[t.intermediate_values[k] for k in sorted(t.intermediate_values)],
                        **({"diverged": True} if "diverged" in t.user_attrs else {}),
                        **({"report": t.user_attrs["report"]} if "report" in t.user_attrs else {})))
    return out


def outputs(setup, study) -> dict[Path, tuple[bytes | None, str, object]]:
    """Every file the search's report makes, as {path: (text, "", None)} or, for a figure, {path: (None, the digest
    of the trials it is drawn from, a function that draws it)}: as tools.report's outputs, so --check can tell a
    stale file without drawing anything."""
    trials = rows(study)
    folder = setup.folder
    content = "".join(json.dumps(row) + "\n" for row in trials).encode()
    made = {folder / TRIALS: (content, "", None)}
    source = places.digest(content)
    if any(r["state"] in ("COMPLETE", "PRUNED") for r in trials):
        made[folder / "progress.png"] = (None, source, lambda: progress(trials, setup))
        made[folder / "optimizer_lr.png"] = (None, source, lambda: optimizer_lr(trials, setup))
        if sum(r["state"] == "COMPLETE" for r in trials) >= IMPORTANCE_AFTER:
            made[folder / "importance.png"] = (None, source, lambda: importance(study))
    made[folder / DOCUMENT] = (document(setup, study, trials).encode(), "", None)
    readme = places.ROOT / "README.md"
    if setup.study == setup.experiment == "01_base" and readme.is_file():
        text = section_text(readme.read_text(), "search", readme_lines(setup, study, trials))
        if text is not None:
            made[readme] = (text.encode(), "", None)
    return made


def stale(made) -> list[Path]:
    return [path for path, (content, source, _) in made.items()
            if (content is not None and (not path.is_file() or path.read_bytes() != content))
            or (content is None and png_source(path) != source)]


def write(setup, study) -> str:
    """trials.jsonl, the figures and SEARCH.md in the study's folder, and the README's section; returns where."""
    made = outputs(setup, study)
    write_together({path: content if content is not None else png_bytes(draw(), source)
                    for path, (content, source, draw) in made.items()})
    return ", ".join(places.shown_path(path) for path in made)


# ---------------------------------------------------------------- figures

def score(row) -> float | None:
    """A trial's held-out accuracy at the last epoch it trained."""
    return row["value"] if row["value"] is not None else (row["held_out_accuracy"] or [None])[-1]


def progress(trials: list[dict], setup):
    fig, ax = pyplot().subplots(figsize=(9, 4.8), layout="constrained")
    best, line = 0.0, []
    for row in trials:
        if row["state"] == "COMPLETE":
            best = max(best, row["value"])
        line.append(best if best else None)
    for state, style in (("COMPLETE", dict(marker="o", color="C0", label=f"complete ({setup.epochs} epochs)")),
                         ("PRUNED", dict(marker="x", color="C3", label="pruned: accuracy at the epoch it stopped"))):
        chosen = [r for r in trials if r["state"] == state and score(r) is not None]
        ax.scatter([r["number"] for r in chosen], [score(r) for r in chosen], s=22, **style)
    ax.step([r["number"] for r in trials], line, where="post", color="k", lw=1.2, label="best so far")
    ax.set(xlabel="trial", ylabel="held-out accuracy", title=f"{setup.study}: the search's progress")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8.5, loc="lower right")
    return fig


NAMES = {"sgd": "SGD", "adam": "Adam"}


def optimizer_lr(trials: list[dict], setup):
    """Where each optimizer works: every trial's score against its learning rate."""
    fig, ax = pyplot().subplots(figsize=(9, 4.8), layout="constrained")
    for i, optimizer in enumerate(sorted({r["settings"].get("optimizer", "") for r in trials})):
        for state, marker in (("COMPLETE", "o"), ("PRUNED", "x")):
            chosen = [r for r in trials if r["state"] == state and r["settings"].get("optimizer", "") == optimizer
                      and "lr" in r["settings"] and score(r) is not None]
            ax.scatter([r["settings"]["lr"] for r in chosen], [score(r) for r in chosen], marker=marker, s=26,
                       color=f"C{i}", label=f"{NAMES.get(optimizer, optimizer or 'the script')}, {state.lower()}")
    for r in trials:
        if "report" in r and score(r) is not None:
            ax.annotate(r["report"][:2], (r["settings"]["lr"], score(r)), textcoords="offset points", xytext=(4, 4),
                        fontsize=8)
    ax.set(xscale="log", xlabel="learning rate", ylabel="held-out accuracy (last epoch trained)",
           title=f"{setup.study}: optimizer and learning rate (pruned: at the epoch they stopped; 01-08: the report's)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8.5)
    return fig


def importance(study):
    """Each knob's importance by PED-ANOVA (Optuna's own, needing no other library): how far its values among the
    best tenth of the complete trials are from its values over all of them."""
    import optuna
    complete = [t for t in study.get_trials(deepcopy=False) if t.state.name == "COMPLETE"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "some regimes have less than 2 trials": a few trials, said in the title
        shares = optuna.importance.get_param_importances(
            study, evaluator=optuna.importance.PedAnovaImportanceEvaluator())
    fig, ax = pyplot().subplots(figsize=(7, 0.45 * len(shares) + 1.6), layout="constrained")
    names = list(shares)[::-1]
    ax.barh(names, [shares[n] for n in names], color="C0")
    ax.set(xlabel="importance (PED-ANOVA: the best tenth of the trials against all; shares sum to 1)",
           title=f"Which knob matters: {len(complete)} complete trials")
    ax.grid(alpha=0.3, axis="x")
    return fig


# ---------------------------------------------------------------- SEARCH.md and the README

def summary(setup, study, trials: list[dict]) -> dict:
    finished = [r for r in trials if r["state"] in ("COMPLETE", "PRUNED")]
    complete = [r for r in finished if r["state"] == "COMPLETE"]
    return dict(finished=len(finished), complete=len(complete), pruned=len(finished) - len(complete),
                failed=sum(r["state"] == "FAIL" for r in trials), epochs=sum(r["epochs"] for r in finished),
                unpruned=len(finished) * setup.epochs, seconds=study.user_attrs.get("seconds", 0),
                trained_seconds=sum(r["seconds"] or 0 for r in finished),
                best=max(complete, key=lambda r: r["value"]) if complete else None)


def described(settings: dict) -> str:
    from tools.search import settings as words
    params = {k: ("x".join(map(str, v)) if isinstance(v, list) else v) for k, v in settings.items()}
    return words(params)


def document(setup, study, trials: list[dict]) -> str:
    s = summary(setup, study, trials)
    lines = [f"# The search: {setup.study}", "",
             f"Written by `python -m tools.search` from the study in `{Path(setup.storage).name if setup.is_file else 'the database'}`; "
             "every number here is the program's. How to run, resume and share a search: the README's \"Search\".", "",
             f"Experiment `{setup.experiment}`, at most {setup.epochs} epochs per trial, scored on its held-out accuracy "
             f"(10,000 of the 60,000 training images, set aside; the test set is never read) at its last epoch. "
             f"Space: `{' '.join(r.text for r in setup.space)}`. Sampler: TPE (multivariate, its first 10 trials at "
             f"random); pruner: median, from epoch 2, once 5 trials are complete. A pruned trial was behind the "
             f"median at its epoch, which says more about how fast it starts than where it ends.", "",
             "If it stops (Ctrl-C, a crash, a worker killed), the trial that was running ends FAILED, never half "
             "counted; every finished trial stays, once; the same command carries on to the asked number of "
             "finished trials.", "",
             "| | |", "|---|---|",
             f"| trials finished | {s['finished']} ({s['complete']} complete, {s['pruned']} pruned); {s['failed']} failed |",
             f"| epochs trained | {s['epochs']} of the {s['unpruned']} the same trials would have trained unpruned "
             f"({1 - s['epochs'] / s['unpruned']:.0%} saved) |" if s["unpruned"] else "| epochs trained | 0 |",
             f"| wall time | {s['seconds'] / 3600:.2f} h of searching ({s['trained_seconds'] / 3600:.2f} h of training, "
             f"summed over the workers) |"]
    if s["best"]:
        best = s["best"]
        lines += [f"| best | trial {best['number']}: {described(best['settings'])}: held-out accuracy "
                  f"{best['value']:.4f} |"]
    lines += ["", "![progress](progress.png)", "", "![optimizer and learning rate](optimizer_lr.png)", "",
              *(["![importance](importance.png)", ""] if sum(r["state"] == "COMPLETE" for r in trials)
                >= IMPORTANCE_AFTER else [])]
    report = [r for r in trials if "report" in r]
    if report:
        lines += ["## The report's experiments as trials", "",
                  "Enqueued into the study, so the search starts from where the report stood (04's batch of 1000 is "
                  "outside the space). Scored as every trial is, on the held-out images:", "",
                  "| trial | experiment | state | held-out accuracy | epochs |", "|---|---|---|---|---|",
                  *(f"| {r['number']} | {r['report']} | {r['state'].lower()} | "
                    f"{'' if score(r) is None else f'{score(r):.4f}'} | {r['epochs']} |" for r in report), ""]
    complete = sorted((r for r in trials if r["state"] == "COMPLETE"), key=lambda r: -r["value"])[:10]
    if complete:
        lines += ["## The ten best trials", "", "| trial | settings | held-out accuracy | seconds |", "|---|---|---|---|",
                  *(f"| {r['number']} | {described(r['settings'])} | {r['value']:.4f} | {r['seconds']:.0f} |"
                    for r in complete), ""]
    lines += final_lines(setup, study) + ablation_lines(setup) + server_lines(setup)
    return "\n".join(lines).rstrip() + "\n"


def readme_lines(setup, study, trials: list[dict]) -> list[str]:
    s = summary(setup, study, trials)
    if not s["best"]:
        return ["No search has finished a trial yet."]
    lines = [f"The committed study: {s['finished']} finished trials ({s['pruned']} pruned, {s['epochs']} of "
             f"{s['unpruned']} epochs trained), {s['seconds'] / 3600:.1f} h of wall time on one machine. Its best, trial "
             f"{s['best']['number']}: {described(s['best']['settings'])}, held-out accuracy {s['best']['value']:.4f} "
             f"after {setup.epochs} epochs."]
    final = final_record(setup)
    if final:
        from tools.claims import final as last, spread
        seeds = ", ".join(str(run["seed"]) for run in final["runs"])
        lines += ["", f"Trained as `{final['experiment']}.py` ({final['config']['epochs']} epochs on all "
                  f"{final['data']['train_size']:,} training images, validated on the test set, seeds {seeds}): test "
                  f"accuracy {spread(last(final, 'val_acc'))} at the last epoch."]
        report_best = places.lab_files("08_final_sgd")[1]
        if report_best.is_file():
            lines[-1] += (f" The report's best, `08_final_sgd`, the same way: "
                          f"{spread(last(json.loads(report_best.read_text()), 'val_acc'))}.")
    return lines


# ---------------------------------------------------------------- the best setting as an experiment

def final_name(setup) -> str:
    return "09_searched" if setup.experiment == "01_base" else f"{setup.experiment}_searched"


def final_record(setup) -> dict | None:
    path = places.lab_files(final_name(setup))[1]
    return json.loads(path.read_text()) if path.is_file() else None


def final_lines(setup, study) -> list[str]:
    record = final_record(setup)
    if not record:
        return []
    from tools.claims import final as last, spread
    lines = ["## The best setting, trained as an experiment", "",
             f"`{record['experiment']}.py`: {record['model']}; {record['optimizer']}, batch "
             f"{record['config']['batch_size']}; {record['config']['epochs']} epochs on all "
             f"{record['data']['train_size']:,} training images, validated on the {record['data']['val_size']:,} test "
             f"images, seeds {', '.join(str(r['seed']) for r in record['runs'])}: test accuracy at the last epoch "
             f"{spread(last(record, 'val_acc'))}."]
    report_best = places.lab_files("08_final_sgd")[1]
    if report_best.is_file():
        other = json.loads(report_best.read_text())
        lines += ["", f"The report's best, `08_final_sgd`, the same way: {spread(last(other, 'val_acc'))}."]
    return lines + [""]


def script_text(setup, study) -> str:
    """The best trial's settings as an experiment script of the lab's own form."""
    import common
    from tools import trained
    from tools.search import changes_of
    best = study.best_trial
    changes = {k: rounded(v) for k, v in changes_of(best.params).items()}
    keywords = trained.script_keywords(Path(setup.script))
    config_fields = {f.name for f in fields(common.Config)}
    own = {k: v for k, v in keywords.items() if k in config_fields}
    pieces = [k for k in keywords if k not in config_fields]
    found = ", ".join(f"{k}={literal(v)}" for k, v in changes.items())
    exact = ", ".join(f"{k} {literal(v)}" for k, v in changes_of(best.params).items())
    doc = (f'"""The best setting the structured search found for {setup.experiment} (tools/searches/{setup.study}/'
           f'SEARCH.md):\n{described({k: list(v) if isinstance(v, tuple) else v for k, v in changes.items()})}.\n'
           f"Chosen by its held-out accuracy ({best.value:.4f} after {setup.epochs} epochs, trial {best.number}; the "
           f"test set unseen),\nhere trained as every experiment is: {common.Config().epochs} epochs on all 60,000 "
           f"training images,\nvalidated on the test set. The trial's exact values (rounded above to 3 significant "
           f"digits):\n{exact}."
           '"""\n')
    if not pieces:
        merged = ", ".join(f"{k}={literal(v)}" for k, v in {**own, **changes}.items())
        return doc + f"import common\n\nif __name__ == \"__main__\":\n    common.main(__file__, {merged})\n"
    return doc + ("import common\nfrom tools.trained import script_keywords\n\nif __name__ == \"__main__\":\n"
                  f"    # {setup.experiment}.py's own keywords (its model and the rest), with the settings found\n"
                  f"    common.main(__file__, **{{**script_keywords(common.runs.ROOT / \"{setup.experiment}.py\"), "
                  f"**dict({found})}})\n")


def literal(value) -> str:
    """A value as the lab's scripts write it: "adam" in double quotes, (458, 436)."""
    return f'"{value}"' if isinstance(value, str) else repr(value)


def rounded(value):
    return float(f"{value:.3g}") if isinstance(value, float) else value


def final(setup, study) -> None:
    """Write the best setting as an experiment script and train it over the lab's seeds into the lab's files."""
    from tools.run_all import Run, cores, run
    if not any(t.state.name == "COMPLETE" for t in study.get_trials(deepcopy=False)):
        raise UserError(f"study {setup.study} has no complete trial yet; run the search first")
    name = final_name(setup)
    path = places.ROOT / f"{name}.py"
    text = script_text(setup, study)
    if path.is_file() and path.read_text() != text and "structured search found" not in path.read_text():
        raise UserError(f"{path.name} exists and was not written by the search; move it away first")
    write_together({path: text.encode()})
    print(f"search: wrote {path.name}; training it over seeds {', '.join(map(str, places.LAB_SEEDS))}", flush=True)
    with tempfile.TemporaryDirectory(prefix="search-final-") as scratch:
        failed = run([Run(name, seed) for seed in places.LAB_SEEDS], min(cores(), len(places.LAB_SEEDS)),
                     Path(scratch))
    if failed:
        raise UserError(failed)
    import subprocess  # the results table, the overview and REPRODUCTION.md now have one experiment more
    subprocess.run([sys.executable, "-m", "tools.report"], check=True, cwd=places.ROOT)


# ---------------------------------------------------------------- the ablation: one knob at a time back to the base

def ablation_plan(setup, study) -> list[tuple[str, str, tuple]]:
    """(tag, what changes, flags) for the best setting, each knob put back alone, and all of them."""
    import common
    from tools import trained
    from tools.config import flag
    from tools.search import changes_of
    best = {k: rounded(v) for k, v in changes_of(study.best_trial.params).items()}
    keywords = trained.script_keywords(Path(setup.script))
    base = replace(common.Config(), **{k: v for k, v in keywords.items() if k in {f.name for f in fields(common.Config)}})
    plan = [("best", "nothing: the best setting", ())]
    back = {}
    for knob, value in best.items():
        own = getattr(base, knob)
        if own != value:
            values = own if isinstance(own, tuple) else (own,)
            back[knob] = (flag(knob), *map(str, values))
            plan.append((knob, f"{knob} back to {'x'.join(map(str, values))}", back[knob]))
    plan.append(("base", f"all {len(back)} back: {setup.experiment}'s own setting", sum(back.values(), ())))
    return plan


def ablation(setup, study) -> None:
    """Train the plan's settings (the best setting's script, seed 0, as many epochs as a trial, held-out validation:
    what the search measured), those not trained yet, into the study's ablation/ folder."""
    from tools.run_all import Run, cores, run
    name = final_name(setup)
    if not (places.ROOT / f"{name}.py").is_file():
        raise UserError(f"{name}.py does not exist; run python -m tools.search --final first")
    out = setup.folder / "ablation"
    todo = [Run(name, 0, out / tag, ("--validation", "heldout", "--epochs", str(setup.epochs), *flags), tag=f"{tag}: ")
            for tag, _, flags in ablation_plan(setup, study) if not places.lab_files(name, out / tag)[1].is_file()]
    if todo:
        with tempfile.TemporaryDirectory(prefix="search-ablation-") as scratch:
            failed = run(todo, cores(), Path(scratch))
        if failed:
            raise UserError(failed)


def ablation_lines(setup) -> list[str]:
    out = setup.folder / "ablation"
    if not out.is_dir():
        return []
    from tools.search import open_study
    plan = ablation_plan(setup, open_study(setup))
    done = {tag: json.loads(places.lab_files(final_name(setup), out / tag)[1].read_text()) for tag, _, _ in plan
            if places.lab_files(final_name(setup), out / tag)[1].is_file()}
    if "best" not in done:
        return []
    best = done["best"]["runs"][0]["history"]["val_acc"][-1]
    lines = ["## Step by step: which change carries the gain", "",
             f"The best setting trained for {done['best']['config']['epochs']} epochs (as a trial) on the held-out "
             "split, seed 0, then with one knob at a time put back to the experiment's own value, then all of them:",
             "",
             "| what is put back | held-out accuracy at the last epoch | change from the best |", "|---|---|---|"]
    for tag, what, _ in plan:
        if tag in done:
            value = done[tag]["runs"][0]["history"]["val_acc"][-1]
            lines.append(f"| {what} | {value:.4f} | {value - best:+.4f} |")
        else:
            lines.append(f"| {what} | not trained yet | |")
    return lines + [""]


def server_lines(setup) -> list[str]:
    timing = setup.folder / "server_timing.json"
    if not timing.is_file():
        return []
    t = json.loads(timing.read_text())
    return ["## One machine or two workers on a shared PostgreSQL study", "",
            f"The same {t['trials']}-trial search ({t['epochs']} epoch{'s' * (t['epochs'] != 1)} each, the committed "
            f"study's first {t['trials']} settings, {t['train_size']:,} training "
            f"images), on a PostgreSQL {t['server']} server on this machine, measured by `{t['command']}`:", "",
            "| workers | wall time | against one worker |", "|---|---|---|",
            *(f"| {workers} | {seconds:.0f} s | {t['seconds']['1'] / seconds:.2f}x as fast |"
              for workers, seconds in t["seconds"].items()), ""]
