"""Which setup did the report run? Trains the report's eight experiments over a grid of what the report leaves
unsaid or says loosely, and checks report.py's 20 claims, with its thresholds as they are, on every cell.

    .venv/bin/python calibrate.py [--jobs N]    train what is missing, one training per core; it resumes:
                                                an experiment already done in a cell is not redone
    .venv/bin/python calibrate.py --draw        the table and figures/calibration.png from calibration/ alone
                                                (make calibrate)

The grid: how pixels are scaled (`--inputs`: unit [0, 1] as the report says, symmetric [-1, 1] as most
PyTorch tutorials do, standard by the training set's mean and sd) times the batch size (16, 32, 64, and the
course guide's 100). 04_batch1000 keeps its batch of 1000 in every cell, so it runs once per scaling and serves
that scaling's cells. One seed per cell; results in calibration/<inputs>-b<batch>/results/, the shape of
results/, so that report.py's claims run on any cell unchanged. The cell the lab runs by default, unit-b32, is
not trained again: its seed 0 is taken from results/.
"""
import argparse
import sys
import tempfile
from pathlib import Path

import common
import report
from run_all import Run, cores, expected_seconds, run

FOLDER = common.ROOT / "calibration"
INPUTS = ("unit", "symmetric", "standard")
BATCHES = (16, 32, 64, 100)
DEFAULT = ("unit", 32)
SHARED = "04_batch1000"  # batch 1000 whatever the cell


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
    """What is left to train, cell by cell so that cells complete in order, the longest first within a cell."""
    runs = []
    for inputs, batch in cells():
        for name in sorted(report.REPORT_EXPERIMENTS, key=lambda name: -expected_seconds(name)):
            path = result_path(inputs, batch, name)
            if path.is_file() or any(r.out == path.parent.parent and r.name == name for r in runs):
                continue
            flags = ("--inputs", inputs) + (() if name == SHARED else ("--batch-size", str(batch)))
            runs.append(Run(name, 0, path.parent.parent, flags, tag=f"{cell_name(inputs, batch)} "))
    return runs


def default_cell_from_results(results: Path = common.ROOT / "results") -> None:
    """unit-b32, seed 0, is what results/ already holds (the same flags, the same numbers): taken from there
    rather than trained again."""
    for name in report.REPORT_EXPERIMENTS:
        target = result_path(*DEFAULT, name)
        source = results / f"{name}.json"
        if target.is_file() or not source.is_file():
            continue
        record = report.load_record(source, report.REPORT_EPOCHS)  # checked as the report checks it
        config = record["config"]
        if (config.get("inputs"), config.get("threads"), record["runs"][0]["seed"]) != ("unit", 1, 0):
            continue  # made by another setup: trained again instead
        record = dict(record, seeds=1, runs=record["runs"][:1])
        common.write_together({target: common.json_bytes(record)})


def load_cell(inputs: str, batch: int) -> dict | None:
    """The cell's eight records, or None while any is missing."""
    paths = {name: result_path(inputs, batch, name) for name in report.REPORT_EXPERIMENTS}
    if not all(path.is_file() for path in paths.values()):
        return None
    return {name: report.load_record(path, report.REPORT_EPOCHS) for name, path in paths.items()}


MARK = {report.HOLDS: "✓", report.FAILS: "✗", report.NOISE: "~"}


def verdicts() -> dict[str, list[dict]]:
    """Each finished cell's claims, by cell name, in the order of cells()."""
    done = {}
    for inputs, batch in cells():
        records = load_cell(inputs, batch)
        if records is not None:
            done[cell_name(inputs, batch)] = report.claims(records)
    return done


def held(rows: list[dict]) -> int:
    return sum(row["verdict"] == report.HOLDS for row in rows)


def section() -> list[str]:
    """REPRODUCTION.md's answer to "which setup did the report run?", from calibration/ alone."""
    done = verdicts()
    if not done:
        return []
    numbers = [row["number"] for row in next(iter(done.values()))]
    lines = ["## Which setup did the report run?", "",
             "The report leaves the batch size unsaid, and says its pixels were scaled to [0, 1] where most PyTorch "
             "tutorials scale them to [-1, 1]. `calibrate.py` trains the eight experiments over a grid of both "
             f"(scaling: {', '.join(INPUTS)}; batch: {', '.join(map(str, BATCHES))}; 04_batch1000 keeps its batch "
             "of 1000), one seed per cell, and checks the claims above on each with the same thresholds, fixed "
             "before the sweep. ✓ holds, ✗ does not, ~ within noise (with one seed: only where a comparison's "
             "difference is zero).", "",
             f"| cell | claims that hold | {' | '.join(numbers)} |", "|---|---|" + "---|" * len(numbers)]
    for cell, rows in done.items():
        mark = " (the lab's default)" if cell == cell_name(*DEFAULT) else ""
        lines.append(f"| {cell}{mark} | {held(rows)} of {len(rows)} | "
                     + " | ".join(MARK[row["verdict"]] for row in rows) + " |")
    lines.append("")
    if len(done) < len(cells()):
        lines += [f"The sweep is not finished: {len(done)} of {len(cells())} cells are done (`make calibrate-sweep` "
                  "goes on where it stopped). Until all are, and the best have three seeds, this table answers "
                  "nothing yet.", ""]
    lines += ["![Claims held per cell](figures/calibration.png)", ""]
    return lines


def draw(path: Path) -> None:
    """Claims held per cell as a heat map; the base's and the final SGD model's validation accuracy in the other
    cell that holds the most claims, against the lab's default."""
    done = verdicts()
    cells_done, table = list(done), list(done.values())
    plt = common.pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(14, 0.45 * len(cells_done) + 2.8), layout="constrained",
                             gridspec_kw=dict(width_ratios=(3, 2)))
    value = {report.HOLDS: 1.0, report.NOISE: 0.5, report.FAILS: 0.0}
    axes[0].imshow([[value[row["verdict"]] for row in rows] for rows in table], cmap="RdYlGn", vmin=0, vmax=1,
                   aspect="auto")
    axes[0].set_xticks(range(len(table[0])), [row["number"] for row in table[0]])
    axes[0].set_yticks(range(len(cells_done)), [f"{cell} ({held(rows)})" for cell, rows in done.items()])
    axes[0].set_title("claims: green holds, red does not, yellow within noise", fontsize=10)
    others = [cell for cell in cells_done if cell != cell_name(*DEFAULT)] or cells_done
    best = max(others, key=lambda cell: held(done[cell]))  # the best other than the default, to compare with it
    for cell, style in ((cell_name(*DEFAULT), "-"), (best, "--")):
        inputs, batch = cell.split("-b")
        records = load_cell(inputs, int(batch))
        for name, color in (("01_base", "C0"), ("08_final_sgd", "C3")):
            axes[1].plot(range(1, 31), records[name]["runs"][0]["history"]["val_acc"], ls=style, color=color,
                         label=f"{name}, {cell}")
    axes[1].set(xlabel="epoch", ylabel="validation accuracy", title=f"the default against the best other cell ({best})")
    axes[1].grid(alpha=0.3)
    axes[1].legend(fontsize=8)
    fig.suptitle("Calibration: which setup reproduces the report's claims (one seed per cell)")
    common.save_figure(fig, path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=common.positive(int), default=cores())
    parser.add_argument("--draw", action="store_true", help="only the table and figure, from calibration/")
    args = parser.parse_args()
    try:
        if not args.draw:
            default_cell_from_results()
            runs = missing_runs()
            print(f"calibrate: {len(runs)} runs to go over {len(cells())} cells, {args.jobs} at a time", flush=True)
            with tempfile.TemporaryDirectory(prefix="calibrate-") as scratch:
                failed = run(runs, args.jobs, Path(scratch))
            if failed:
                sys.exit(f"calibrate: {failed}")
        done = verdicts()
    except common.UserError as e:
        sys.exit(f"calibrate: error: {e}")
    for cell, rows in done.items():
        print(f"{cell:>14}: {held(rows):2d} of {len(rows)} hold; "
              + " ".join(f"{row['number']}{MARK[row['verdict']]}" for row in rows))
    if done:
        draw(common.ROOT / "figures" / "calibration.png")
        print("wrote figures/calibration.png; report.py puts the table in REPRODUCTION.md")


if __name__ == "__main__":
    main()
