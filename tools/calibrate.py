"""Which setup did the report run? Trains the report's eight experiments over a grid of what the report leaves
unsaid or says loosely, and checks the report's 20 claims (tools/claims.py), with their thresholds as they are, on every cell.

    python -m tools.calibrate [--jobs N]    train what is missing, one training per core; it resumes: an
                                            experiment already done in a cell is not redone (make calibrate-sweep)
    python -m tools.calibrate --draw        CALIBRATION.md and calibration.png beside the data, from the data
                                            alone (make calibrate)

The grid: how pixels are scaled (`--inputs`: unit [0, 1] as the report says, symmetric [-1, 1] as most
PyTorch tutorials do, standard by the training set's mean and sd) times the batch size (16, 32, 64, and the
course guide's 100). 04_batch1000 keeps its batch of 1000 in every cell, so it runs once per scaling and serves
that scaling's cells. One seed per cell; then, once every cell is done, seeds 1 and 2 for the BEST cells that
hold the most claims at one seed. Results in tools/calibration/<inputs>-b<batch>/results/, the shape of results/,
so that the claims (tools/claims.py) run on any cell unchanged. The cell the lab runs by default, unit-b32, is not trained
again: its seeds are taken from results/.
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from tools import claims as report, places, records
from tools.config import positive
from tools.drawing import band
from tools.files import Made, UserError, bring_up_to_date, one_line_errors, pyplot, write_together
from tools.run_all import Run, cores, expected_seconds, run

FOLDER = Path(__file__).resolve().parent / "calibration"
INPUTS = ("unit", "symmetric", "standard")
BATCHES = (16, 32, 64, 100)
DEFAULT = ("unit", 32)
SHARED = "04_batch1000"  # batch 1000 whatever the cell
SEEDS = 3  # for the best cells, and for the default, whose three seeds are results/'s
BEST = 3  # how many cells get SEEDS seeds: those holding the most claims at one seed (the default among them or not)


def cells() -> list[tuple[str, int]]:
    """The lab's setup first, then the other scalings at its batch size, then the rest."""
    return sorted(((inputs, batch) for inputs in INPUTS for batch in BATCHES),
                  key=lambda cell: (cell != DEFAULT, cell[1] != DEFAULT[1], INPUTS.index(cell[0]), cell[1]))


def cell_name(inputs: str, batch: int) -> str:
    return f"{inputs}-b{batch}"


def result_path(inputs: str, batch: int, name: str) -> Path:
    home = (inputs, DEFAULT[1]) if name == SHARED else (inputs, batch)
    return FOLDER / cell_name(*home) / "results" / f"{name}.json"


def missing_runs() -> list[Run]:
    """What is left to train, cell by cell so that cells complete in order, the longest first within a cell: seed 0
    of every cell, then, once all are done, the other seeds of the best cells."""
    runs = []
    for inputs, batch in cells():
        for name in by_length(report.REPORT_EXPERIMENTS):
            path = result_path(inputs, batch, name)
            if not path.is_file() and not any(r.out == path.parent.parent and r.name == name for r in runs):
                runs.append(cell_run(inputs, batch, name, seed=0))
    if runs:
        return runs
    for inputs, batch in best_cells():
        for name in by_length(report.REPORT_EXPERIMENTS):
            path = result_path(inputs, batch, name)
            for seed in range(len(seeds_done(path)), SEEDS):
                if not any(r.out == path.parent.parent and r.name == name and r.seed == seed for r in runs):
                    runs.append(cell_run(inputs, batch, name, seed))
    return runs


def by_length(names) -> list[str]:
    return sorted(names, key=lambda name: -expected_seconds(name))


def cell_run(inputs: str, batch: int, name: str, seed: int) -> Run:
    path = result_path(inputs, batch, name)
    flags = ("--inputs", inputs) + (() if name == SHARED else ("--batch-size", str(batch)))
    return Run(name, seed, path.parent.parent, flags, tag=f"{cell_name(inputs, batch)} ")


def seeds_done(path: Path) -> list[dict]:
    """The file's runs, each as a single-seed record, the way run_all.run merges them with new seeds."""
    if not path.is_file():
        return []
    record = read_cell(path)
    return [dict(record, seeds=1, runs=[one]) for one in record["runs"]]


def read_cell(path: Path) -> dict:
    """A cell's record, checked for the history the claims read, 30 epochs of it (the cells were trained before the
    record had its other fields, and the claims need none of them)."""
    return records.read(path, report.REPORT_EPOCHS, "train it again: python -m tools.calibrate", report.CLAIMED,
                        any_format=True)


def best_cells() -> list[tuple[str, int]]:
    """The BEST cells that hold the most claims at one seed; ties go to the one with more within noise, then to
    the earlier cell in cells()."""
    done = verdicts(seeds=1)
    if len(done) < len(cells()):
        return []
    ranked = sorted(cells(), key=lambda cell: standing(done[cell_name(*cell)]), reverse=True)  # stable: ties keep order
    return ranked[:BEST]


def default_cell_from_results(results: Path | None = None, seeds: int = SEEDS) -> None:
    """unit-b32 is what results/ already holds (the same flags, the same numbers): its first `seeds` seeds are
    taken from there rather than trained again."""
    for name in report.REPORT_EXPERIMENTS:
        target = result_path(*DEFAULT, name)
        source = (results or places.ROOT / "results") / f"{name}.json"
        if len(seeds_done(target)) >= seeds or not source.is_file():
            continue
        record = read_cell(source)
        config = record["config"]
        if (config.get("inputs"), config.get("threads"), record["runs"][0]["seed"]) != ("unit", 1, 0):
            continue  # made by another setup: trained again instead
        record = dict(record, seeds=min(seeds, len(record["runs"])), runs=record["runs"][:seeds])
        write_together({target: records.json_bytes(record)})


def load_cell(inputs: str, batch: int, seeds: int | None = None) -> dict | None:
    """The cell's eight records (their first `seeds` seeds, or all), or None while any is missing."""
    paths = {name: result_path(inputs, batch, name) for name in report.REPORT_EXPERIMENTS}
    if not all(path.is_file() for path in paths.values()):
        return None
    cell = {name: read_cell(path) for name, path in paths.items()}
    return {name: dict(record, seeds=len(record["runs"][:seeds]), runs=record["runs"][:seeds])
            for name, record in cell.items()}


SCALED = {"unit": "[0, 1]", "symmetric": "[-1, 1]", "standard": "mean 0 and sd 1 by the training set's statistics"}
MARK = {report.HOLDS: "✓", report.FAILS: "✗", report.NOISE: "~"}


def verdicts(seeds: int = 1) -> dict[str, list[dict]]:
    """The claims of each cell done with `seeds` seeds (its first ones), by cell name, in the order of cells()."""
    done = {}
    for inputs, batch in cells():
        records = load_cell(inputs, batch, seeds)
        if records is not None and all(record["seeds"] == seeds for record in records.values()):
            done[cell_name(inputs, batch)] = report.claims(records)
    return done


def held(rows: list[dict]) -> int:
    return sum(row["verdict"] == report.HOLDS for row in rows)


def noise(rows: list[dict]) -> int:
    return sum(row["verdict"] == report.NOISE for row in rows)


def standing(rows: list[dict]) -> tuple[int, int]:
    """How a cell ranks: by the claims it holds, then by those within noise."""
    return held(rows), noise(rows)


def section() -> list[str]:
    """CALIBRATION.md's answer to "which setup did the report run?", from the data beside it alone."""
    done = verdicts(seeds=1)
    if not done:
        return []
    numbers = [row["number"] for row in next(iter(done.values()))]
    header = [f"| cell | claims that hold | {' | '.join(numbers)} |", "|---|---|" + "---|" * len(numbers)]
    lines = ["# Calibration: which setup did the report run?", "",
             "Written by `python -m tools.calibrate --draw` (`make calibrate`) from the results in this folder; "
             "the claims and their thresholds are [REPRODUCTION.md](../../REPRODUCTION.md)'s.", "",
             "The report leaves the batch size unsaid, and says its pixels were scaled to [0, 1] where most PyTorch "
             "tutorials scale them to [-1, 1]. `python -m tools.calibrate` trains the eight experiments over a grid of both "
             f"(scaling: {', '.join(INPUTS)}; batch: {', '.join(map(str, BATCHES))}; 04_batch1000 keeps its batch "
             f"of 1000), one seed per cell, then {SEEDS} seeds for the {BEST} cells that hold the most claims at one "
             "seed, and checks the report's claims on each with the same thresholds, fixed before the sweep. "
             "✓ holds, ✗ does not, ~ within noise (with one seed: only where a comparison's difference is zero). "
             "unit is [0, 1], symmetric [-1, 1], standard the training set's mean and sd.", "",
             "One seed (seed 0) per cell:", "", *header, *table_rows(done), ""]
    if len(done) < len(cells()):
        return lines + [f"The sweep is not finished: {len(done)} of {len(cells())} cells are done (`make "
                        "calibrate-sweep` goes on where it stopped). Until all are, and the best have three seeds, "
                        "this table answers nothing yet.", "", "![Claims held per cell](calibration.png)", ""]
    confirmed = verdicts(seeds=SEEDS)
    also = "" if DEFAULT in best_cells() else " and for the lab's default"
    lines += [f"{SEEDS} seeds, for the {BEST} cells that hold the most claims at one seed"
              f" ({', '.join(cell_name(*cell) for cell in best_cells())}){also}:", "",
              *header, *table_rows(confirmed), ""]
    waiting = [cell_name(*cell) for cell in best_cells() if cell_name(*cell) not in confirmed]
    if waiting:
        return lines + [f"Not finished: {listed(waiting)} still lack{'s its' if len(waiting) == 1 else ' their'} other seeds "
                        "(`make calibrate-sweep` goes on where it stopped); until then, this answers "
                        "nothing yet.", "", "![Claims held per cell](calibration.png)", ""]
    return lines + answer(confirmed) + ["![Claims held per cell](calibration.png)", ""]


def table_rows(done: dict[str, list[dict]]) -> list[str]:
    mark = {cell_name(*DEFAULT): " (the lab's default)"}
    return [f"| {cell}{mark.get(cell, '')} | {held(rows)} of {len(rows)} | "
            + " | ".join(MARK[row["verdict"]] for row in rows) + " |" for cell, rows in done.items()]


def answer(confirmed: dict[str, list[dict]]) -> list[str]:
    """The cells that hold the most claims over SEEDS seeds, how far the others are, and where they differ from the
    lab's default, in the numbers the claims measured."""
    ranked = sorted(confirmed, key=lambda cell: standing(confirmed[cell]), reverse=True)
    most = held(confirmed[ranked[0]])
    best = [cell for cell in ranked if held(confirmed[cell]) == most]
    rest = [cell for cell in ranked if cell not in best]
    default = cell_name(*DEFAULT)
    lines = [f"**Over {SEEDS} seeds, {listed(best)} hold{'s' * (len(best) == 1)} the most claims: {most} of "
             f"{len(confirmed[best[0]])}.** " + ("; ".join(
                 f"{cell} holds {held(confirmed[cell])} ({most - held(confirmed[cell])} fewer)" for cell in rest) + "."
                 if rest else f"A tie: none of the {len(best)} holds more claims than another."), ""]
    setups = [f"{cell} (pixels scaled to {SCALED[cell.split('-b')[0]]}, batches of {cell.split('-b')[1]})"
              for cell in best]
    lines += [f"The report's text says its pixels were scaled to [0, 1] and does not give the batch size; the "
              f"setup{'s' * (len(best) > 1)} whose numbers come closest to its own {'are' if len(best) > 1 else 'is'} "
              f"{listed(setups)}. " + ("[0, 1], what the text says, is among them: its numbers do not contradict its "
                                       "text." if any(cell.startswith("unit-") for cell in best) else
                                       "None of them scales to [0, 1], what the text says: its numbers point away "
                                       "from its text."),
              ""]
    others = [cell for cell in best if cell != default] or rest[:1]
    differ = [row for row in zip(*(confirmed[cell] for cell in [default, *others]))
              if len({claim["verdict"] for claim in row}) > 1]
    compared = listed([f"the lab's default ({default})", *others])
    lines += [f"Where {compared} part, the measured values ({SEEDS} seeds):", "",
              f"| claim | what is measured | {' | '.join([default, *others])} |",
              "|---|---|" + "---|" * (1 + len(others))]
    lines += [f"| {row[0]['number']} | {row[0]['measure']} | "
              + " | ".join(f"{claim['measured']} {MARK[claim['verdict']]}" for claim in row) + " |" for row in differ]
    return lines + [""]


def listed(names: list[str]) -> str:
    return " and ".join(filter(None, [", ".join(names[:-1]), names[-1]]))


def draw():
    """Claims held per cell as a heat map (one seed, then the cells with three); the base's and the final SGD
    model's curves in the best cell other than the default, against the default, means over their seeds."""
    single, confirmed = verdicts(seeds=1), verdicts(seeds=SEEDS)
    rows = [(f"{cell} ({held(verdict)})", verdict) for cell, verdict in single.items()]
    rows += [(f"{cell}, {SEEDS} seeds ({held(verdict)})", verdict) for cell, verdict in confirmed.items()]
    fig, axes = pyplot().subplots(1, 3, figsize=(19, 0.4 * len(rows) + 3), layout="constrained",
                             gridspec_kw=dict(width_ratios=(3, 2, 2)))
    value = {report.HOLDS: 1.0, report.NOISE: 0.5, report.FAILS: 0.0}
    axes[0].imshow([[value[row["verdict"]] for row in verdict] for _, verdict in rows], cmap="RdYlGn", vmin=0,
                   vmax=1, aspect="auto")
    axes[0].set_xticks(range(len(rows[0][1])), [row["number"] for row in rows[0][1]])
    axes[0].set_yticks(range(len(rows)), [label for label, _ in rows])
    if confirmed:
        axes[0].axhline(len(single) - 0.5, color="black", lw=2)
    axes[0].set_title("claims held: green holds, red does not, yellow within noise", fontsize=10)
    done = confirmed if len(confirmed) > 1 else single
    default = cell_name(*DEFAULT)
    others = [cell for cell in done if cell != default]
    best = max(others, key=lambda cell: standing(done[cell])) if others else None
    seeds = SEEDS if done is confirmed else 1
    for cell, style in ((default, "-"), (best, "--")) if best else ((default, "-"),) if default in done else ():
        inputs, batch = cell.split("-b")
        shown = load_cell(inputs, int(batch), seeds)
        for name, color in (("01_base", "C0"), ("08_final_sgd", "C3")):
            for ax, key in zip(axes[1:], ("val_acc", "train_loss")):
                band(ax, report.curves(shown[name], key), ls=style, color=color, label=f"{name}, {cell}")
    axes[1].axhline(0.7, color="gray", lw=0.8)
    axes[1].axvline(5, color="gray", lw=0.8)
    axes[1].set(xlabel="epoch", ylabel="validation accuracy", title="1b: 0.7 passed at epoch 5")
    axes[2].axhline(0.15, color="gray", lw=0.8)
    axes[2].set(xlabel="epoch", ylabel="training loss (eval mode)", title="8b: final SGD's loss below 0.15")
    for ax in axes[1:]:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    against = f" against the best other cell ({best})" if best else ""
    fig.suptitle(f"Calibration: which setup reproduces the report's claims; curves: the default ({default}){against}, "
                 f"{seeds} seed{'s' * (seeds > 1)}")
    return fig


def outputs() -> dict[Path, Made]:
    """CALIBRATION.md and its figure, made from the cells' records alone (the figure names their digest)."""
    data = b"".join(path.read_bytes() for path in sorted(FOLDER.glob("*/results/*.json")))
    return {FOLDER / "CALIBRATION.md": Made("\n".join(section()).encode()),
            FOLDER / "calibration.png": Made(source=records.digest(data), draw=draw)}


def main():
    parser = argparse.ArgumentParser(prog="python -m tools.calibrate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=positive(int), default=cores())
    parser.add_argument("--draw", action="store_true", help="only CALIBRATION.md and its figure, from the data")
    parser.add_argument("--check", action="store_true", help="with --draw: write nothing; fail if CALIBRATION.md "
                        "or its figure is not what the data make (make check)")
    args = parser.parse_args()
    if args.check and not args.draw:
        parser.error("--check goes with --draw")
    with one_line_errors("calibrate", interrupted="every cell finished before is kept; run it again to go on"):
        if not args.draw:
            default_cell_from_results()
            while runs := missing_runs():  # seed 0 of every cell, then the best cells' other seeds
                stage = "the best cells' other seeds" if runs[0].seed else f"seed 0 of {len(cells())} cells"
                print(f"calibrate: {len(runs)} runs to go ({stage}), {args.jobs} at a time", flush=True)
                earlier = {(r.name, r.out): seeds_done(r.out / "results" / f"{r.name}.json") for r in runs}
                with tempfile.TemporaryDirectory(prefix="calibrate-") as scratch:
                    failed = run(runs, args.jobs, Path(scratch), earlier)
                if failed:
                    raise UserError(failed)
        done = verdicts()
        if not args.check:
            for cell, rows in done.items():
                print(f"{cell:>14}: {held(rows):2d} of {len(rows)} hold; "
                      + " ".join(f"{row['number']}{MARK[row['verdict']]}" for row in rows))
        if not done:
            raise UserError(f"no cell of the calibration is done in {places.shown_path(FOLDER)}; run python -m "
                            f"tools.calibrate first")
        wrote = bring_up_to_date(outputs(), args.check, "make calibrate")
    print("calibrate: " + ("CALIBRATION.md and calibration.png are what the cells make" if args.check else
                           f"wrote {' and '.join(map(places.shown_path, wrote))}" if wrote else
                           "CALIBRATION.md and calibration.png were already what the cells make"))


if __name__ == "__main__":
    main()
