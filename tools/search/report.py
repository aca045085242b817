"""What a study says, rendered from it and from the records its follow-ups wrote: the trials as JSON Lines, three
figures, SEARCH.md, and the "search" section of the search's guide (tools/search/README.md). It trains nothing;
every number in those files is written here.
"""
from __future__ import annotations

import json
import statistics
import warnings
from pathlib import Path

import optuna

from tools import places
from tools.claims import final as last, spread
from tools.files import Made, pyplot, section_text
from tools.records import digest
from tools.search import steps
from tools.search.followups import ablation_plan, final_name, final_record
from tools.search.space import changes_of, described, pieces_named
from tools.search.study import HYPERBAND, LAB_STUDIES, PRUNER, SAMPLER

TRIALS, DOCUMENT = "trials.jsonl", "SEARCH.md"
IMPORTANCE_AFTER = 10  # complete trials before PED-ANOVA's best tenth holds even one


def rows(study) -> list[dict]:
    """Every trial but the surplus ones (asked in the instant the study filled), as plain values."""
    out = []
    for t in study.get_trials(deepcopy=False):
        if t.user_attrs.get("surplus") or t.state.name in ("WAITING",):
            continue
        out.append(dict(number=t.number, state=t.state.name, value=t.value,
                        settings={**{k: list(v) if isinstance(v, tuple) else v for k, v in changes_of(t.params).items()},
                                  **pieces_named(t.params)},
                        epochs=t.user_attrs.get("epochs", 0), seconds=t.user_attrs.get("seconds"),
                        held_out_accuracy=[t.intermediate_values[k] for k in sorted(t.intermediate_values)],
                        **({"diverged": True} if "diverged" in t.user_attrs else {}),
                        **({"report": t.user_attrs["report"]} if "report" in t.user_attrs else {})))
    return out


def outputs(setup, study) -> dict[Path, Made]:
    """Every file the search's report makes: the trials, the figures drawn from them (each naming their digest, so
    that a check draws nothing), SEARCH.md, and for the lab's own study the guide's section."""
    trials = rows(study)
    folder = setup.folder
    content = "".join(json.dumps(row) + "\n" for row in trials).encode()
    made = {folder / TRIALS: Made(content)}
    source = digest(content)
    if any(r["state"] in ("COMPLETE", "PRUNED") for r in trials):
        made[folder / "progress.png"] = Made(source=source, draw=lambda: progress(trials, setup))
        made[folder / "optimizer_lr.png"] = Made(source=source, draw=lambda: optimizer_lr(trials, setup))
        if sum(r["state"] == "COMPLETE" for r in trials) >= IMPORTANCE_AFTER:
            made[folder / "importance.png"] = Made(source=source, draw=lambda: importance(study))
    walk = walked(setup, study)  # read once: the figure and SEARCH.md both draw on it
    path, back, _ = walk
    if len(path) > 1:
        shown = digest(json.dumps([path, back], sort_keys=True, default=str).encode())
        made[folder / "path.png"] = Made(source=shown, draw=lambda: staircase(setup, path, back, study.best_value))
    made[folder / DOCUMENT] = Made(document(setup, study, trials, walk).encode())
    guide = places.ROOT / "tools" / "search" / "README.md"  # the search's guide: its "search" section is written here
    if setup.is_the_labs and guide.is_file():
        marker = "search" if setup.study == "01_base" else f"search-{setup.study}"  # each lab study its own section
        text = section_text(guide.read_text(), marker, guide_lines(setup, study, trials))
        if text is not None:
            made[guide] = Made(text.encode())
    return made


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


NAMES = {"sgd": "SGD", "adam": "Adam", "nesterov": "SGD, Nesterov momentum", "adamw": "AdamW"}


def optimizer_of(row) -> str:
    return row["settings"].get("optimizer") or row["settings"].get("make_optimizer", "")


def optimizer_lr(trials: list[dict], setup):
    """Where each optimizer works: every trial's score against its learning rate."""
    fig, ax = pyplot().subplots(figsize=(9, 4.8), layout="constrained")
    for i, optimizer in enumerate(sorted({optimizer_of(r) for r in trials})):
        for state, marker in (("COMPLETE", "o"), ("PRUNED", "x")):
            chosen = [r for r in trials if r["state"] == state and optimizer_of(r) == optimizer
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


def walked(setup, study):
    """The path forwards and the ablation, as far as their trainings go: nothing until --steps has trained."""
    if not (setup.folder / steps.FOLDER).is_dir():
        return [], {}, []
    return steps.walk(setup, study, steps.results(setup, study))


def staircase(setup, path: list[dict], back: dict, best: float):
    """The path forwards as a staircase, each step's other changes beside it, and the ablation backwards."""
    fig, (ax, right) = pyplot().subplots(1, 2, figsize=(13, 5.2), layout="constrained", width_ratios=(3, 2))
    x = range(len(path))
    ax.step(x, [p["value"] for p in path], where="post", color="C0", lw=2, label="the path: the change that gains most")
    ax.plot(x, [p["value"] for p in path], "o", color="C0")
    for i, p in enumerate(path[1:], 1):
        for knob, value in p["tried"].items():
            if knob != p["kept"]:
                hurt = value < path[i - 1]["value"]
                ax.plot(i, value, "v" if hurt else ".", color="C3" if hurt else "0.6", ms=7 if hurt else 6)
                ax.annotate(steps.NAMES.get(knob, knob), (i, value), xytext=(5, -3), textcoords="offset points",
                            fontsize=7, color="C3" if hurt else "0.45")
    ax.plot([], [], "v", color="C3", label="a change that hurts at that step")
    ax.plot([], [], ".", color="0.6", label="a change that gains less")
    ax.set_xticks(list(x), [setup.experiment] + [f"+ {steps.words(p['kept'], p['params'])}" for p in path[1:]],
                  rotation=30, ha="right", fontsize=8)
    ax.set(ylabel=f"held-out accuracy after {setup.epochs} epochs (seed 0)",
           title="Forwards from the base, one change at a time (paso a paso)")
    low = min([p["value"] for p in path] + [v for p in path for v in p["tried"].values() if v >= 0])  # -1: diverged
    ax.set_ylim(max(0.0, low - 0.02), None)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    names = [k for k in back if back[k] is not None]  # measured against the best trial's own score
    if names:
        costs = [best - back[k] for k in names]
        right.barh([steps.NAMES.get(k, k) for k in names][::-1], costs[::-1],
                   color=["C3" if c < 0 else "C0" for c in costs][::-1])
        right.axvline(0, color="k", lw=0.8)
    else:
        right.text(0.5, 0.5, "not trained yet:\nthe path comes first", ha="center", va="center", fontsize=11,
                   color="0.4", transform=right.transAxes)
        right.set(xticks=[], yticks=[])
    right.set(xlabel="held-out accuracy lost when it is taken back", title="Backwards: each change out of the best")
    right.grid(alpha=0.3, axis="x")
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


def document(setup, study, trials: list[dict], walk=None) -> str:
    s = summary(setup, study, trials)
    lines = [f"# The search: {setup.study}", "",
             f"Written by `python -m tools.search` from the study in `{Path(setup.storage).name if setup.is_file else 'the database'}`; "
             "every number here is the program's. How to run, resume and share a search: "
             + ("[the search's guide](../../search/README.md)." if setup.is_the_labs else
                "the search's guide, tools/search/README.md."), "",
             f"Experiment `{setup.experiment}`, at most {setup.epochs} epochs per trial, scored on its held-out accuracy "
             f"(10,000 of the 60,000 training images, set aside; the test set is never read) at its last epoch. "
             f"Space: `{' '.join(r.text for r in setup.space)}`. Sampler: TPE (multivariate, its first "
             f"{SAMPLER['n_startup_trials']} trials at random); {pruner_words(setup)}", "",
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
        stopped = [r for r in report if r["state"] == "PRUNED"]
        if setup.pruner == "hyperband" and stopped:
            lines += [f"Hyperband stopped {len(stopped)} of these {len(report)}: "
                      + ", ".join(f"{r['report']} at epoch {r['epochs']} ({score(r):.4f})" for r in stopped) + ".", ""]
    complete = sorted((r for r in trials if r["state"] == "COMPLETE"), key=lambda r: -r["value"])[:10]
    if complete:
        lines += ["## The ten best trials", "", "| trial | settings | held-out accuracy | seconds |", "|---|---|---|---|",
                  *(f"| {r['number']} | {described(r['settings'])} | {r['value']:.4f} | {r['seconds']:.0f} |"
                    for r in complete), ""]
    lines += final_lines(setup) + ablation_lines(setup, study) + steps_lines(setup, study, walk or walked(setup, study)) + server_lines(setup)
    return "\n".join(lines).rstrip() + "\n"


def rungs(setup) -> list[list[int]]:
    """Hyperband's brackets, each as the epochs at which it may stop a trial."""
    factor, low = HYPERBAND["reduction_factor"], HYPERBAND["min_resource"]
    count = 1
    while low * factor ** count <= setup.epochs:
        count += 1
    return [[low * factor ** (s + k) for k in range(count - s) if low * factor ** (s + k) < setup.epochs]
            for s in range(count)]


def pruner_words(setup) -> str:
    if setup.pruner == "hyperband":
        brackets = "; ".join(", ".join(map(str, b)) for b in rungs(setup))
        return (f"pruner: Hyperband (reduction factor {HYPERBAND['reduction_factor']}), its top rung the last epoch, "
                f"{setup.epochs}, as the final trains. Each trial falls in one of {len(rungs(setup))} brackets, which "
                f"may stop it at epochs {brackets}: at each of these it goes on only if it is in the best third of "
                f"its bracket's trials there. The later brackets judge a slow starter late, where the median pruner "
                f"judged everyone from epoch 2.")
    return (f"pruner: median, from epoch {PRUNER['n_warmup_steps']}, once {PRUNER['n_startup_trials']} trials are "
            f"complete. A pruned trial was behind the median at its epoch, which says more about how fast it starts "
            f"than where it ends.")


def steps_lines(setup, study, walk) -> list[str]:
    """The path forwards and the ablation backwards (`walk`, as `walked` gives them), as far as they are trained
    (python -m tools.search --steps)."""
    path, back, needed = walk
    if not path:
        return []
    target = best_params(study)  # the best trial's settings, looked up once
    if path[0]["value"] is None:  # --steps stopped before its first setting was trained
        return ["## Forwards, step by step (paso a paso)", "", f"Not trained yet: {len(needed)} settings to train "
                "first (`python -m tools.search --steps` goes on).", ""]
    lines = ["## Forwards, step by step (paso a paso)", "",
             f"From `{setup.experiment}`'s own setting, each step tries every change of the best setting not made yet, "
             f"alone, on top of the setting so far, and keeps the one that gains most: each trained as a trial is "
             f"({setup.epochs} epochs, seed 0, scored on the held-out images). `python -m tools.search --steps` trains "
             f"them.", "", "![the path](path.png)", "",
             "| step | change kept | held-out accuracy | gain | changes that hurt at this step |", "|---|---|---|---|---|",
             f"| 0 | none: `{setup.experiment}` | {path[0]['value']:.4f} | | |"]
    for i, p in enumerate(path[1:], 1):
        before = path[i - 1]["value"]
        hurt = [f"{change(k, path[0]['params'], target)} ({v - before:+.4f})"
                for k, v in p["tried"].items() if v < before and k != p["kept"]]
        lines.append(f"| {i} | {change(p['kept'], path[0]['params'], target)} | {p['value']:.4f} | "
                     f"{p['value'] - before:+.4f} | {'; '.join(hurt)} |")
    if needed:
        what = "The ablation backwards" if path[-1]["params"] == target else "The path"
        lines += ["", f"{what} is not whole yet: {len(needed)} setting{'s' * (len(needed) > 1)} to train "
                  f"(`python -m tools.search --steps` goes on)."]
    best = study.best_value  # the best trial's own score: the path ends on it, and the ablation starts from it
    if back and not any(v is None for v in back.values()):
        lines += ["", "## Backwards: each change taken out of the best", "",
                  "| change taken back | held-out accuracy | change from the best |", "|---|---|---|",
                  *(f"| {change(k, target, path[0]['params'])} | {v:.4f} | {v - best:+.4f} |"
                    for k, v in back.items())]
        helped_late = [k for i, p in enumerate(path[1:], 1) for k, v in p["tried"].items()
                       if v < path[i - 1]["value"] and back.get(k) is not None and back[k] < best]
        if helped_late:
            lines += ["", "Changes that hurt when tried at some step, yet cost accuracy when taken out of the best: "
                      + ", ".join(sorted({change(k, path[0]['params'], target) for k in helped_late}))
                      + ". Each works only with changes made after it: the interaction the report met with Adam at "
                      "lr 0.1."]
    return lines + [""]


def change(knob: str, before: dict, after: dict) -> str:
    """A change in words: "optimizer sgd → adamw weight decay 0.0123"."""
    name = steps.NAMES.get(knob, knob)
    return f"{name} {steps.words(knob, before).removeprefix(name + ' ')} → {steps.words(knob, after).removeprefix(name + ' ')}"


def best_params(study) -> dict:
    return dict(study.best_trial.params)


def guide_lines(setup, study, trials: list[dict]) -> list[str]:
    s = summary(setup, study, trials)
    if not s["best"]:
        return ["No search has finished a trial yet."]
    lines = [f"The committed study: {s['finished']} finished trials ({s['pruned']} pruned, {s['epochs']} of "
             f"{s['unpruned']} epochs trained), {s['seconds'] / 3600:.1f} h of wall time on one machine. Its best, trial "
             f"{s['best']['number']}: {described(s['best']['settings'])}, held-out accuracy {s['best']['value']:.4f} "
             f"after {setup.epochs} epochs."]
    final = final_record(setup)
    if final:
        seeds = ", ".join(str(run["seed"]) for run in final["runs"])
        lines += ["", f"Trained as `{final['experiment']}.py` ({final['config']['epochs']} epochs on all "
                  f"{final['data']['train_size']:,} training images, validated on the test set, seeds {seeds}): test "
                  f"accuracy {spread(last(final, 'val_acc'))} at the last epoch."]
        lines[-1] += "".join(f" {line}" for line in report_best(setup))
    return lines


# ---------------------------------------------------------------- the best setting as an experiment


def final_lines(setup) -> list[str]:
    record = final_record(setup)
    if not record:
        return []
    lines = ["## The best setting, trained as an experiment", "",
             f"`{record['experiment']}.py`: {record['model']}; {record['optimizer']}, batch "
             f"{record['config']['batch_size']}; {record['config']['epochs']} epochs on all "
             f"{record['data']['train_size']:,} training images, validated on the {record['data']['val_size']:,} test "
             f"images, seeds {', '.join(str(r['seed']) for r in record['runs'])}: test accuracy at the last epoch "
             f"{spread(last(record, 'val_acc'))}."]
    lines += [line for said in report_best(setup) + against_the_report(setup, record) for line in ("", said)]
    return lines + [""]


def against_the_report(setup, record: dict) -> list[str]:
    """The gain over the report's best, seed by seed, beside the spread of each one's seeds; and the study's goal."""
    path = places.lab_files("08_final_sgd")[1]
    if not (path.is_file() and setup.is_the_labs):
        return []
    ours = {run["seed"]: run["history"]["val_acc"][-1] for run in record["runs"]}
    theirs = {run["seed"]: run["history"]["val_acc"][-1] for run in json.loads(path.read_text())["runs"]}
    seeds = sorted(set(ours) & set(theirs))
    if len(seeds) < 2:
        return []
    gains = [ours[s] - theirs[s] for s in seeds]
    spreads = [statistics.stdev(ours[s] for s in seeds), statistics.stdev(theirs[s] for s in seeds)]
    lines = [f"Its gain over `08_final_sgd`, seed by seed ({', '.join(map(str, seeds))}): "
             f"{', '.join(f'{g:+.4f}' for g in gains)}; {statistics.mean(gains):+.4f} on average, against a spread "
             f"between seeds (standard deviation) of {spreads[0]:.4f} for it and {spreads[1]:.4f} for 08: the gain is "
             f"{statistics.mean(gains) / max(spreads):.1f} times the larger."]
    goal = LAB_STUDIES[setup.study].goal
    if goal is not None:
        mean = statistics.mean(ours.values())
        lines.append(f"The goal, set before it was trained: a mean test accuracy of at least {goal}. "
                     + ("Reached." if mean >= goal else f"Missed by {goal - mean:.4f}."))
    return lines


def report_best(setup) -> list[str]:
    """The report's best trained the same way, beside the lab's study's best; a student's study reports its own runs,
    and no other."""
    path = places.lab_files("08_final_sgd")[1]
    if not (path.is_file() and setup.is_the_labs):
        return []
    return [f"The report's best, `08_final_sgd`, the same way: {spread(last(json.loads(path.read_text()), 'val_acc'))}."]


def ablation_lines(setup, study) -> list[str]:
    out = setup.folder / "ablation"
    if not out.is_dir():
        return []
    plan = ablation_plan(setup, study)
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
