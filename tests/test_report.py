"""The report (tools.report, tools.claims) on hand-made results: the verdicts follow the numbers, whatever they
are, and --check tells a repository that is what the report writes from one that is not."""
import json
import shutil

import pytest

import common
from conftest import a_record, run_program
from tools import claims, report
from tools.files import UserError, png_bytes, png_source
from tools.records import digest

EPOCHS = 30


def history(acc_start, acc_end, loss_start, loss_end, wiggle=0.0):
    """Straight-line curves; `wiggle` makes accuracy fall every other epoch by that much."""
    step = lambda a, b: [a + (b - a) * e / (EPOCHS - 1) for e in range(EPOCHS)]  # noqa: E731
    acc = [a - (wiggle if e % 2 else 0) for e, a in enumerate(step(acc_start, acc_end))]
    loss = step(loss_start, loss_end)
    return {"train_loss": loss, "train_acc": acc, "val_loss": [v + 0.02 for v in loss], "val_acc": acc,
            "running_loss": loss, "running_acc": acc, "epoch_seconds": [1.0] * EPOCHS, "lr": [0.001] * EPOCHS}


# Final accuracies chosen per experiment and seed; the rest of each curve follows from them.
TYPICAL = {  # experiment: (final validation accuracy per seed, final training loss per seed)
    "01_base": ([0.81, 0.812, 0.808], [0.50, 0.50, 0.50]),
    "02_adam": ([0.88, 0.885, 0.882], [0.25, 0.26, 0.25]),
    "03_no_dropout": ([0.815, 0.808, 0.809], [0.48, 0.49, 0.48]),  # seed by seed: +0.005, -0.004, +0.001
    "04_batch1000": ([0.45, 0.46, 0.44], [1.70, 1.72, 1.71]),
    "05_lr01": ([0.87, 0.872, 0.871], [0.30, 0.30, 0.30]),
    "06_wide": ([0.86, 0.862, 0.858], [0.45, 0.45, 0.45]),      # +0.05: more than marginal
    "07_final_adam": ([0.10, 0.10, 0.10], [2.30, 2.30, 2.30]),
    "08_final_sgd": ([0.89, 0.891, 0.889], [0.20, 0.21, 0.20]),
}


def write_results(folder, typical=TYPICAL, wiggle=None):
    folder.mkdir(parents=True, exist_ok=True)
    for name, (accs, losses) in typical.items():
        histories = [history(0.1, acc, 2.3, loss) if name == "04_batch1000" else
                     history(0.6 if name == "01_base" else acc - 0.1, acc, 2.0, loss, (wiggle or {}).get(name, 0.0))
                     for acc, loss in zip(accs, losses)]
        record = a_record(name, histories, batch_size=1000 if name == "04_batch1000" else 32)
        (folder / f"{name}.json").write_text(json.dumps(record))
    return folder


def verdicts(folder):
    return {row["number"]: row["verdict"] for row in claims.claims(claims.load(folder))}


def test_verdicts_follow_the_numbers(tmp_path):
    v = verdicts(write_results(tmp_path))
    assert v["1b"] == claims.FAILS        # base accuracy at epoch 5 is about 0.63, below 0.7
    assert v["1c"] == claims.HOLDS        # ends at 0.81, within 0.03 of 0.8
    assert v["2b"] == claims.FAILS        # Adam's training loss ends at 0.25, not below 0.2
    assert v["3a"] == claims.NOISE        # no dropout: +0.005, -0.004, +0.001 against the base
    assert v["4a"] == claims.HOLDS and v["4b"] == claims.HOLDS
    assert v["5c"] == claims.FAILS        # straight lines do not oscillate
    assert v["6a"] == claims.FAILS        # a 0.05 gain is not marginal
    assert v["7"] == claims.HOLDS
    assert v["8a"] == claims.HOLDS and v["8b"] == claims.FAILS


def test_oscillation_and_a_flipped_claim(tmp_path):
    typical = dict(TYPICAL, **{"02_adam": ([0.88, 0.885, 0.882], [0.15, 0.16, 0.15]),
                               "08_final_sgd": ([0.85, 0.86, 0.85], [0.12, 0.12, 0.13])})
    v = verdicts(write_results(tmp_path, typical, wiggle={"05_lr01": 0.02}))
    assert v["2b"] == claims.HOLDS
    assert v["5c"] == claims.HOLDS
    assert v["8a"] == claims.FAILS        # 02_adam is better in every seed
    assert v["8b"] == claims.HOLDS


def test_a_slight_gain_holds_and_a_small_same_sign_lead_is_within_noise(tmp_path):
    """The branches behind the committed verdicts of 3a and 6a (a slight gain that holds) and of 8a (every seed
    ahead, but by less than twice the spread of the leads)."""
    typical = dict(TYPICAL, **{"03_no_dropout": ([0.82, 0.822, 0.817], [0.48, 0.49, 0.48]),   # +0.010 each
                               "06_wide": ([0.825, 0.826, 0.824], [0.45, 0.45, 0.45]),         # +0.015, +0.014, +0.016
                               "08_final_sgd": ([0.881, 0.895, 0.8825], [0.20, 0.21, 0.20])})  # +0.001, +0.010, +0.0005
    v = verdicts(write_results(tmp_path, typical))
    assert v["3a"] == claims.HOLDS and v["6a"] == claims.HOLDS
    assert v["8a"] == claims.NOISE


def test_seeds_disagreeing_on_a_threshold_is_within_noise(tmp_path):
    typical = dict(TYPICAL, **{"01_base": ([0.81, 0.84, 0.79], [0.50, 0.50, 0.50])})
    assert verdicts(write_results(tmp_path, typical))["1c"] == claims.NOISE  # 0.84 is not near 0.8


README = ("# Lab\n\n<!-- results: written by tools/report.py -->\nold table\n<!-- end of results -->"
          "\n\nMore.\n<!-- claims: written by tools/report.py -->\nold claims\n<!-- end of claims -->\n")


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """A lab whose results are write_results()'s and whose README has both sections, after `tools.report` wrote
    everything from them once (the drawing is the slow part: each test copies this lab rather than drawing again)."""
    lab = tmp_path_factory.mktemp("written")
    results = write_results(lab / "results")
    (lab / "README.md").write_text(README)
    code, out, err = run_program("tools.report", "--results", results, "--out", lab)
    assert code == 0, err
    return lab


@pytest.fixture
def copied(written, tmp_path):
    """A copy of `written` of the test's own, to change as it likes."""
    return shutil.copytree(written, tmp_path / "lab")


def everything(folder):
    """Every file under `folder`, with its content and when it was last written."""
    return {path: (path.read_bytes(), path.stat().st_mtime_ns) for path in sorted(folder.rglob("*")) if path.is_file()}


def check(lab):
    return run_program("tools.report", "--results", lab / "results", "--out", lab, "--check")


def test_report_writes_markdown_and_figures(written):
    results = written / "results"
    text = (written / "REPRODUCTION.md").read_text()
    assert text.count("| **") == len(claims.claims(claims.load(results)))
    assert "| 07_final_adam | MLP 784-128-64-10, ReLU, dropout 0.2; SGD lr 0.001, batch 32 | 0.100 ± 0.000" in text
    readme = (written / "README.md").read_text()
    assert "old table" not in readme and "| 07_final_adam | MLP 784-128-64-10, ReLU, dropout 0.2; SGD lr 0.001, batch 32 | 0.100 ± 0.000" in readme
    assert readme.startswith("# Lab\n") and readme.endswith("<!-- end of claims -->\n") and "\n\nMore.\n" in readme
    assert "old claims" not in readme and "- 8b. Final SGD: loss below 0.15. **does not hold**: 0.203" in readme
    for figure in ("overview.png", "confusion_08_final_sgd.png", *(f"{name}.png" for name in claims.REPORT_EXPERIMENTS)):
        assert (written / "figures" / figure).read_bytes().startswith(b"\x89PNG")
    for name in claims.REPORT_EXPERIMENTS:  # each experiment's figure says which results it was drawn from
        assert png_source(written / "figures" / f"{name}.png") == digest((results / f"{name}.json").read_bytes())


def test_check_passes_on_what_the_report_wrote_and_writes_nothing(copied):
    before = everything(copied)
    code, out, err = check(copied)
    assert code == 0, err
    assert "are what" in out and err == ""
    assert everything(copied) == before


def test_check_names_a_readme_section_edited_by_hand_and_writes_nothing(copied):
    readme = copied / "README.md"
    text = readme.read_text()
    assert "| 07_final_adam | MLP 784-128-64-10, ReLU, dropout 0.2; SGD lr 0.001, batch 32 | 0.100 ± 0.000" in text
    readme.write_text(text.replace("| 07_final_adam | MLP 784-128-64-10, ReLU, dropout 0.2; SGD lr 0.001, batch 32 "
                                   "| 0.100 ± 0.000", "| 07_final_adam | MLP 784-128-64-10, ReLU, dropout 0.2; SGD "
                                   "lr 0.001, batch 32 | 0.900 ± 0.000"))
    before = everything(copied)
    code, out, err = check(copied)
    assert code != 0
    assert named(err) == ["README.md"] and "run make report" in err
    assert everything(copied) == before


def test_check_names_a_figure_drawn_from_other_numbers_and_the_report_redraws_it(copied):
    """A figure saved from other results than results/'s (05_lr01 with one seed's final accuracy changed) is named,
    and only it; `tools.report` then redraws it, and only it, and --check passes."""
    path = copied / "results" / "05_lr01.json"
    record = json.loads(path.read_text())
    record["runs"][0]["history"]["val_acc"][-1] = 0.5
    other = json.dumps(record).encode()
    figure = copied / "figures" / "05_lr01.png"
    figure.write_bytes(png_bytes(common.draw(record), source=digest(other)))
    assert png_source(figure) != digest(path.read_bytes())
    before = everything(copied)
    code, out, err = check(copied)
    assert code != 0
    assert named(err) == ["figures/05_lr01.png"]
    assert everything(copied) == before
    code, out, err = run_program("tools.report", "--results", copied / "results", "--out", copied)
    assert code == 0, err
    assert "report: wrote figures/05_lr01.png\n" in out
    assert {path for path, state in everything(copied).items() if before.get(path) != state} == {figure}
    assert png_source(figure) == digest(path.read_bytes())
    code, out, err = check(copied)
    assert code == 0, err


def named(err):
    """The files a failed --check names."""
    assert err.startswith("report: error: ") and " not what their data make; run make report" in err
    return err.removeprefix("report: error: ").split(" is not ")[0].split(" are not ")[0].split(", ")


def test_check_names_what_a_changed_results_file_changes_and_the_report_remakes_them(copied):
    """A results file remade (one seed's final accuracy changed) without the report run after: its figure, the
    overview and the tables are named; the report remakes exactly them, and --check passes."""
    path = copied / "results" / "05_lr01.json"
    record = json.loads(path.read_text())
    record["runs"][0]["history"]["val_acc"][-1] = 0.5
    path.write_text(json.dumps(record))
    before = everything(copied)
    code, out, err = check(copied)
    assert code != 0
    remade = ["REPRODUCTION.md", "figures/overview.png", "figures/05_lr01.png", "README.md"]
    assert named(err) == remade
    assert everything(copied) == before
    code, out, err = run_program("tools.report", "--results", copied / "results", "--out", copied)
    assert code == 0, err
    assert f"report: wrote {', '.join(remade)}\n" in out
    assert {path for path, state in everything(copied).items() if before.get(path) != state} == {
        copied / name for name in remade}
    code, out, err = check(copied)
    assert code == 0, err


def test_every_results_file_is_an_experiment_of_the_tables_and_the_overview(tmp_path):
    folder = write_results(tmp_path)
    extra = json.loads((folder / "02_adam.json").read_text())
    extra.update(experiment="09_cnn", model="Unflatten, Conv2d 1→16 3x3, ReLU", optimizer="SGD lr 0.001, momentum 0.9")
    for run in extra["runs"]:
        run["history"] = {key: values[:3] for key, values in run["history"].items()}  # its own, shorter run
    (folder / "09_cnn.json").write_text(json.dumps(extra))
    records = claims.load(folder)
    assert list(records) == [*claims.REPORT_EXPERIMENTS, "09_cnn"]
    [row] = [line for line in report.results_table(records) if line.startswith("| 09_cnn |")]
    assert "Unflatten, Conv2d 1→16 3x3, ReLU; SGD lr 0.001, momentum 0.9, batch 32" in row
    fig = report.overview(records)
    try:
        assert [line.get_label() for line in fig.axes[1].lines] == list(records)
    finally:
        common.pyplot().close(fig)
    fig = report.confusion(records["08_final_sgd"])
    try:
        assert fig.axes[0].get_title().startswith("08_final_sgd: validation confusion after the last epoch")
    finally:
        common.pyplot().close(fig)
    assert len(claims.claims(records)) == 20


def test_the_overview_draws_apart_the_experiments_that_end_close_together(tmp_path):
    """02, 05 and 08 end within 0.03 of the best (08's 0.89), and 06 (0.85 here) does not: a third panel zooms on
    their last epochs, so that lines ending a few thousandths apart are not one bundle."""
    records = claims.load(write_results(tmp_path, dict(TYPICAL, **{"06_wide": ([0.85, 0.852, 0.848], [0.45] * 3)})))
    fig = report.overview(records)
    try:
        assert len(fig.axes) == 3 and len(fig.axes[2].lines) == 3
        assert {round(line.get_ydata()[-1], 3) for line in fig.axes[2].lines} == {0.882, 0.871, 0.89}
        assert len(fig.axes[2].lines[0].get_xdata()) == report.LAST
    finally:
        common.pyplot().close(fig)


def lasting(text, epochs):
    """A results file's text with every curve of every run cut to `epochs` epochs, or its last value repeated up to
    them."""
    record = json.loads(text)
    for run in record["runs"]:
        run["history"] = {key: values[:epochs] + values[-1:] * (epochs - len(values))
                          for key, values in run["history"].items()}
    return json.dumps(record)


def test_the_claims_read_runs_of_exactly_the_report_s_epochs_and_an_added_experiment_runs_as_long_as_it_likes(
        tmp_path):
    """An experiment of the report's with 31 epochs would have its claims read at epoch 31 as if it were 30: refused.
    A student's own experiment is no claim's, and is listed whatever its length."""
    folder = write_results(tmp_path)
    cnn = json.loads(lasting((folder / "02_adam.json").read_text(), 3))
    cnn.update(experiment="09_cnn", model="Unflatten, Conv2d 1→16 3x3, ReLU")
    (folder / "09_cnn.json").write_text(json.dumps(cnn))
    records = claims.load(folder)
    assert [len(run["history"]["val_acc"]) for run in records["09_cnn"]["runs"]] == [3, 3, 3]
    [row] = [line for line in report.results_table(records) if line.startswith("| 09_cnn |")]
    at_3 = claims.spread([run["history"]["val_acc"][2] for run in cnn["runs"]])
    assert row.startswith(f"| 09_cnn | Unflatten, Conv2d 1→16 3x3, ReLU; SGD lr 0.001, batch 32 | {at_3} | ")
    path = folder / "05_lr01.json"
    path.write_text(lasting(path.read_text(), 31))
    with pytest.raises(UserError, match=f"^{path} has a run of 31 epochs, where exactly 30 "
                                        r"are read; remake it with make all \(or: python 05_lr01.py --seeds 3\)$"):
        claims.load(folder)


@pytest.mark.parametrize("damage, problem", [
    (lambda text: text[:len(text) // 2], "is not readable JSON"),
    (lambda text: "<html>", "is not readable JSON"),
    (lambda text: json.dumps(dict(json.loads(text), runs=None)), "holds no runs"),
    (lambda text: json.dumps({k: v for k, v in json.loads(text).items() if k != "model"}), "lacks model"),
    (lambda text: text.replace('"val_acc"', '"val_accuracy"'), "has a run whose history lacks val_acc"),
    (lambda text: json.dumps(dict(json.loads(text), runs=[dict(run, history={k: v[:10] for k, v in run["history"].items()})
                                                         for run in json.loads(text)["runs"]])),
     "has a run of 10 epochs, where exactly 30 are read"),
])
def test_a_damaged_results_file_is_named_with_what_is_wrong_and_how_to_remake_it(tmp_path, damage, problem):
    folder = write_results(tmp_path / "results")
    path = folder / "05_lr01.json"
    path.write_text(damage(path.read_text()))
    code, out, err = run_program("tools.report", "--results", folder, "--out", tmp_path)
    assert code == 1 and err.count("\n") == 1 and "Traceback" not in err
    assert f"report: error: {path} {problem}" in err
    assert "make all (or: python 05_lr01.py --seeds 3)" in err
    assert not (tmp_path / "REPRODUCTION.md").exists()


def test_missing_results_is_a_clear_error(tmp_path):
    (tmp_path / "01_base.json").write_text("{}")
    with pytest.raises(UserError, match="lacks the results of 02_adam.*make all"):
        claims.load(tmp_path)
