"""The report's claims checked against results/*.json: writes REPRODUCTION.md, figures/overview.png and
figures/confusion_08_final_sgd.png, the README's results table and the claims that do not hold, and redraws any
experiment's figure that was not drawn from its results. It trains nothing: run the experiments first. Every
results file is an experiment of the tables and the overview, the report's eight and any added; the claims are
the report's, about its eight.

    python -m tools.report [--results results] [--out .]     (or: make report)
    python -m tools.report --check                           (or: make check) is the repository what it writes?
"""
from __future__ import annotations

import argparse
import statistics
from pathlib import Path

import torch

from common import CLASSES, draw
from tools import places, words
from tools.claims import FAILS, HOLDS, METHOD, NOISE, claims, curves, final, load, spread
from tools.data import DATA_DIR_HELP, split_images
from tools.drawing import band, image_grid, seeds_legend
from tools.files import Made, UserError, bring_up_to_date, one_line_errors, png_bytes, pyplot, section_text, \
    write_together
from tools.places import REPORT_EXPERIMENTS, RESULTS, lab_files
from tools.records import digest, mean_seconds, read, what_ran

BEST = "08_final_sgd"  # the report's best model, whose confusion matrix is drawn


def results_table(r: dict) -> list[str]:
    lines = ["| experiment | what ran | final validation accuracy | best validation accuracy (epoch) "
             "| final training loss | wall time per run |", "|---|---|---|---|---|---|"]
    for name, record in r.items():
        mean_curve = [statistics.mean(values) for values in zip(*curves(record, "val_acc"))]
        best = max(range(len(mean_curve)), key=mean_curve.__getitem__)
        lines.append(f"| {name} | {record['model']}; {what_ran(record)} | "
                     f"{spread(final(record, 'val_acc'))} | {mean_curve[best]:.3f} ({best + 1}) | "
                     f"{spread(final(record, 'train_loss'))} | "
                     f"{mean_seconds(record):.0f} s |")
    return lines


CLOSE, LAST = 0.03, 10  # the overview's inset: the experiments that end within CLOSE of the best, their LAST epochs


def overview(r: dict):
    """Validation loss and accuracy of every experiment on one pair of axes; a third draws apart the last epochs of
    those that end close together."""
    finals = {name: statistics.mean(final(record, "val_acc")) for name, record in r.items()}
    longest = max(len(c) for record in r.values() for c in curves(record, "val_acc"))
    close = [name for name in r if finals[name] >= max(finals.values()) - CLOSE  # they end in one bundle
             and len(curves(r[name], "val_acc")[0]) == longest]  # and at the same epoch, as the zoom's axis says
    fig, axes = pyplot().subplots(1, 3 if len(close) > 1 else 2, figsize=(16 if len(close) > 1 else 12, 5.6),
                                  layout="constrained", width_ratios=(1, 1, 0.75) if len(close) > 1 else None)
    inset = axes[2] if len(close) > 1 else None
    for i, (name, record) in enumerate(r.items()):
        # Ten colours, then the same colours dotted; the report's failure (07) dashed, as it is the odd one.
        style = dict(color=f"C{i % 10}", lw=1.8, ls="--" if name.startswith("07_") else ":" if i >= 10 else "-")
        for ax, key in zip(axes[:2], ("val_loss", "val_acc")):
            band(ax, curves(record, key), label=name, **style)
        if inset and name in close:
            band(inset, [c[-LAST:] for c in curves(record, "val_acc")], **style)
    say = words.say
    axes[0].set(xlabel=say("epoch"), ylabel=say("validation cross-entropy loss"), ylim=(0, 2.5))
    axes[1].set(xlabel=say("epoch"), ylabel=say("validation accuracy"), ylim=(0, 1))
    if inset:
        inset.set_xticks(range(1, LAST + 1, 3), [str(longest - LAST + e) for e in range(1, LAST + 1, 3)])
        inset.set(xlabel=say("epoch"), ylabel=say("validation accuracy"))
        inset.set_title(say("zoomed: the last {last} epochs of those\nending within {close} of the best", last=LAST,
                            close=CLOSE), fontsize=9)
    for ax in axes:
        ax.grid(alpha=0.3)
    seeds = sorted({len(record["runs"]) for record in r.values()})
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncol=4, fontsize=8.5,
               title=seeds_legend(max(seeds)) if seeds == [max(seeds)] else
               say("mean of each experiment's seeds ({seeds}), band: lowest to highest seed",
                   seeds=", ".join(map(str, seeds))),
               title_fontsize=8.5)
    fig.suptitle(say("All {count} experiments on the validation set", count=len(r)))
    return fig


def confusion(record: dict):
    """The validation confusion matrix of the final models, summed over seeds, as shares of each true class."""
    total = [[sum(run["confusion"][i][j] for run in record["runs"]) for j in range(10)] for i in range(10)]
    shares = [[count / sum(row) for count in row] for row in total]
    fig, ax = pyplot().subplots(figsize=(7.5, 6.5), constrained_layout=True)
    image = ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    for i in range(10):
        for j in range(10):
            if shares[i][j] >= 0.005:
                ax.text(j, i, f"{shares[i][j]:.2f}", ha="center", va="center", fontsize=7,
                        color="white" if shares[i][j] > 0.6 else "black")
    ax.set_xticks(range(10), words.classes(), rotation=45, ha="right")
    ax.set_yticks(range(10), words.classes())
    ax.set(xlabel=words.say("predicted class"), ylabel=words.say("true class"))
    fig.colorbar(image, ax=ax, label=words.say("share of the true class"))
    runs = len(record["runs"])
    ax.set_title(words.say("{experiment}: validation confusion after the last epoch", experiment=record["experiment"])
                 + (words.say("\n(summed over {runs} seeds)", runs=runs) if runs > 1 else ""))
    return fig


def reproduction(r: dict, rows: list[dict]) -> str:
    seeds = sorted({len(record["runs"]) for record in r.values()})
    return "\n".join([
        "# Reproduction of the report's claims",
        "",
        "Written by `python -m tools.report` from `results/*.json` (seeds per experiment: "
        f"{', '.join(map(str, seeds))}); every number below is measured, none is copied from the report.",
        "",
        *METHOD,
        "",
        "## Claims",
        "",
        "| # | the report says | measured as | measured: mean ± sd [min, max] | verdict |",
        "|---|---|---|---|---|",
        *(f"| {c['number']} | {c['statement']} | {c['measure']}"
          f"{'. ' + c['note'] if c['note'] else ''} | {c['measured']} | **{c['verdict']}** |" for c in rows),
        "",
        "## Results",
        "",
        *results_table(r),
        "",
        "![All experiments](figures/overview.png)",
        "",
        f"![Confusion matrix of the final SGD model](figures/confusion_{BEST}.png)",
        "",
        "## Which setup did the report run?",
        "",
        "The report leaves its batch size unsaid and its pixel scaling loosely said; "
        "[tools/calibration/CALIBRATION.md](tools/calibration/CALIBRATION.md) trains the eight experiments over a "
        "grid of both and checks these claims on every cell.",
        "",
    ])


def differences(rows: list[dict], r: dict) -> list[str]:
    """The README's summary of what does not reproduce: every claim that does not plainly hold, with its numbers."""
    seeds = sorted({len(r[name]["runs"]) for name in REPORT_EXPERIMENTS})
    count = {verdict: sum(row["verdict"] == verdict for row in rows) for verdict in (HOLDS, FAILS, NOISE)}
    return [f"Of the report's {len(rows)} quantitative statements, {count[HOLDS]} hold over "
            f"{' or '.join(map(str, seeds))} seeds, {count[FAILS]} do not and {count[NOISE]} are within noise "
            "([REPRODUCTION.md](REPRODUCTION.md) says how each is measured):", ""] + [
        f"- {row['number']}. {row['statement']} **{row['verdict']}**: {row['measured']}, measured as "
        f"{row['measure']}{'. ' + row['note'] if row['note'] else ''}." for row in rows if row["verdict"] != HOLDS]


GRIDS = {"shown": "predictions", "mistakes": "mistakes"}  # recorded in each run: figure name


def grid_path(root: Path, which: str, name: str) -> Path:
    return root / "figures" / f"{GRIDS[which]}_{name}.png"


def recorded_images(record: dict, which: str, data_dir: str | None = None) -> torch.Tensor:
    """The pixels (in [0, 1]) of the images a run's record names in `which` ("shown" or "mistakes"), read from
    the data files: the test set's, or the training set's for a run validated on held-out images."""
    images, _ = split_images("val" if record["config"]["validation"] == "test" else "train", data_dir)
    return images[record["runs"][0][which]["index"]]


def run_grids(folder: Path, data_dir: str | None = None) -> list[Path]:
    """A run's predictions and mistakes drawn into its own folder (predictions.png, mistakes.png)."""
    record = read(folder / RESULTS, remedy="run the experiment again")
    grids = {folder / f"{GRIDS[which]}.png": png_bytes(image_grid(record, which, recorded_images(record, which, data_dir),
                                                                  CLASSES), digest((folder / RESULTS).read_bytes()))
             for which in GRIDS}
    write_together(grids)
    return list(grids)


def outputs(r: dict, folder: Path, root: Path, shown=(BEST,), data_dir: str | None = None) -> dict[Path, Made]:
    """Every file the report makes from the records `r` (read from `folder`). Experiments in `shown` get their
    predictions and mistakes drawn too, which reads their images from the data files."""
    sources = {name: words.marked(digest((folder / f"{name}.json").read_bytes())) for name in r}
    rows = claims(r)
    made = {root / "REPRODUCTION.md": Made(reproduction(r, rows).encode()),
            root / "figures" / "overview.png": Made(source=words.marked(digest("".join(sources.values()).encode())),
                                                    draw=lambda: overview(r)),
            root / "figures" / f"confusion_{BEST}.png": Made(source=sources[BEST], draw=lambda: confusion(r[BEST]))}
    for name in shown:
        for which in GRIDS:
            made[grid_path(root, which, name)] = Made(source=sources[name], draw=lambda record=r[name], which=which:
                                                      image_grid(record, which, recorded_images(record, which, data_dir),
                                                                 CLASSES))
    for name, record in r.items():
        made[lab_files(name, root)[0]] = Made(source=sources[name], draw=lambda record=record: draw(record))
    readme = root / "README.md"
    if readme.is_file():
        text = readme.read_text()
        for section, lines in (("results", results_table(r)), ("claims", differences(rows, r))):
            text = section_text(text, section, lines) or text
        made[readme] = Made(text.encode())
    return made


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tools.report", description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=Path, default=None, help="the records' folder (default: the lab's results/)")
    parser.add_argument("--out", type=Path, default=None, help="folder for REPRODUCTION.md, README.md and figures/ "
                        "(default: the lab's)")
    parser.add_argument("--check", action="store_true", help="write nothing; fail if any file differs from what the "
                        "report would write")
    parser.add_argument("--predictions", nargs="+", default=[BEST], metavar="NAME",
                        help=f"experiments whose recorded predictions and mistakes are drawn (default: {BEST}), or "
                             "runs' folders, whose grids go into the folder; drawing reads the images from the data")
    parser.add_argument("--data-dir", help=DATA_DIR_HELP + " (for the predictions' images)")
    parser.add_argument("--lang", help=words.FLAG_HELP + "; with --out or for a run's folder only: the lab's own "
                        "figures stay English")
    args = parser.parse_args(argv)
    results, out = args.results or places.ROOT / "results", args.out or places.ROOT
    runs_named = [what for what in args.predictions if (Path(what) / RESULTS).is_file()]
    with one_line_errors("report"), words.speaking(args.lang):
        if runs_named and not args.check:
            for folder in map(Path, runs_named):
                print(f"report: wrote {', '.join(map(places.shown_path, run_grids(folder, args.data_dir)))}")
            if len(runs_named) == len(args.predictions):
                return  # only runs' grids were asked for: the lab's files stay as they are
        records = load(results)
        unknown = sorted(set(args.predictions) - set(records) - set(runs_named))
        if unknown:
            raise UserError(f"--predictions {' '.join(unknown)}: no such results in {places.shown_path(results)}")
        with words.in_english(lab=args.out is None):  # the lab's own figures are English, whatever the language
            made = outputs(records, results, out, [name for name in args.predictions if name not in runs_named],
                           args.data_dir)
            wrote = bring_up_to_date(made, args.check, "make report (or make all)", out)
    if args.check:
        print(f"report: REPRODUCTION.md, the README's tables and {len(made) - 2} figures are what "
              f"{places.shown_path(results)} makes")
        return
    for row in claims(records):
        print(f"{row['number']:>3} {row['verdict']:<14} {row['measured']:<40} {row['statement']}")
    print(f"report: wrote {', '.join(str(path.relative_to(out)) for path in wrote)}" if wrote else
          "report: every file was already what the results make")


if __name__ == "__main__":
    main()
