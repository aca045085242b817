"""tools.calibrate: the grid it sweeps, that it resumes, that the report's claims (tools.claims) run on its cells
unchanged, and that --draw writes CALIBRATION.md and its figure beside the data from whatever cells are done."""
import json
import re
import shutil

import pytest

from conftest import ROOT, run_program
from tools import calibrate, claims
from tools.files import UserError
from test_report import TYPICAL, write_results


@pytest.fixture
def sweep(tmp_path, monkeypatch):
    monkeypatch.setattr(calibrate, "FOLDER", tmp_path / "calibration")
    return tmp_path / "calibration"


def test_the_grid_is_three_scalings_by_four_batch_sizes_the_lab_s_own_first():
    assert len(calibrate.cells()) == 12 and calibrate.cells()[0] == ("unit", 32)
    assert {inputs for inputs, _ in calibrate.cells()} == {"unit", "symmetric", "standard"}
    assert {batch for _, batch in calibrate.cells()} == {16, 32, 64, 100}


def test_each_run_changes_the_cell_s_scaling_and_batch_and_batch_1000_keeps_its_own(sweep):
    runs = calibrate.missing_runs()
    assert len(runs) == 12 * 7 + 3  # 04_batch1000 once per scaling
    [cnn] = [r for r in runs if r.name == "01_base" and r.out.name == "standard-b16"]
    assert cnn.flags == ("--inputs", "standard", "--batch-size", "16") and cnn.seed == 0
    shared = [r for r in runs if r.name == "04_batch1000"]
    assert [r.flags for r in shared] == [("--inputs", inputs) for inputs in ("unit", "symmetric", "standard")]


def test_an_experiment_done_in_a_cell_is_not_run_again(sweep, tmp_path):
    done = write_results(tmp_path / "made")
    (sweep / "symmetric-b64" / "results").mkdir(parents=True)
    shutil.copy(done / "06_wide.json", sweep / "symmetric-b64" / "results")
    runs = calibrate.missing_runs()
    assert len(runs) == 12 * 7 + 3 - 1
    assert not [r for r in runs if r.name == "06_wide" and r.out.name == "symmetric-b64"]


def test_claims_of_every_finished_cell_with_report_s_thresholds(sweep, tmp_path):
    results = write_results(tmp_path / "made")
    for cell in ("unit-b32", "standard-b100"):
        shutil.copytree(results, sweep / cell / "results")
    (sweep / "standard-b32" / "results").mkdir(parents=True)  # standard's shared 04_batch1000 lives here
    shutil.move(sweep / "standard-b100" / "results" / "04_batch1000.json", sweep / "standard-b32" / "results")
    done = calibrate.verdicts()
    assert list(done) == ["unit-b32", "standard-b100"]  # standard-b32 itself lacks seven experiments
    assert done["standard-b100"] == claims.claims(claims.load(first_seed(results, tmp_path / "seed0")))
    assert calibrate.verdicts(seeds=3)["standard-b100"] == claims.claims(claims.load(results))
    text = "\n".join(calibrate.section())
    assert "| unit-b32 (the lab's default) | " in text and "2 of 12 cells are done" in text


def test_a_damaged_cell_file_is_named(sweep, tmp_path):
    results = write_results(tmp_path / "made")
    shutil.copytree(results, sweep / "unit-b32" / "results")
    path = sweep / "unit-b32" / "results" / "02_adam.json"
    path.write_text(json.dumps({"experiment": "02_adam"}))
    with pytest.raises(UserError, match=f"{path} lacks config"):
        calibrate.verdicts()


def test_the_lab_s_own_cell_is_the_committed_results(sweep, tmp_path):
    results = write_results(tmp_path / "made")
    for path in results.iterdir():
        record = json.loads(path.read_text())
        record["config"].update(inputs="unit", threads=1)
        path.write_text(json.dumps(dict(record, seeds=3)))
    calibrate.default_cell_from_results(results, seeds=1)
    calibrate.default_cell_from_results(results)  # a cell with one seed gets the other two
    for name in claims.REPORT_EXPERIMENTS:
        taken = json.loads((sweep / "unit-b32" / "results" / f"{name}.json").read_text())
        committed = json.loads((results / f"{name}.json").read_text())
        assert taken["seeds"] == 3 and taken["runs"] == committed["runs"]
    assert not [r for r in calibrate.missing_runs() if r.out.name == "unit-b32"]


def draw(tmp_path):
    """`python -m tools.calibrate --draw`, on the module as the test patched it (its FOLDER)."""
    return run_program("tools.calibrate", "--draw")


def projects_calibration():
    """The project's own CALIBRATION.md and figure, which no test may write."""
    return {path: path.read_bytes() for path in sorted((ROOT / "tools" / "calibration").glob("*.*"))}


def image_links(markdown):
    return re.findall(r"!\[[^\]]*\]\(([^)]*)\)", markdown)


@pytest.mark.parametrize("seeds", [1, 3])
def test_draw_with_only_the_lab_s_own_cell_done_writes_the_table_and_the_figure(sweep, tmp_path, seeds):
    """Right after default_cell_from_results, unit-b32 is the only cell done, at one seed or at three: there is no
    other cell to set against it, and --draw still writes CALIBRATION.md and calibration.png beside the data."""
    results = write_results(tmp_path / "made")
    shutil.copytree(results if seeds == 3 else first_seed(results, tmp_path / "seed0"), sweep / "unit-b32" / "results")
    project = projects_calibration()
    code, out, err = draw(tmp_path)
    assert code == 0, err
    assert f"calibrate: wrote {sweep / 'CALIBRATION.md'} and {sweep / 'calibration.png'}" in out
    assert sorted(path.name for path in sweep.iterdir()) == ["CALIBRATION.md", "calibration.png", "unit-b32"]
    text = (sweep / "CALIBRATION.md").read_text()
    assert "| unit-b32 (the lab's default) | " in text and "1 of 12 cells are done" in text
    assert (sweep / "calibration.png").read_bytes().startswith(b"\x89PNG")
    assert projects_calibration() == project


def test_calibration_md_links_its_figure_beside_it(sweep, tmp_path):
    shutil.copytree(write_results(tmp_path / "made"), sweep / "unit-b32" / "results")
    code, out, err = draw(tmp_path)
    assert code == 0, err
    [link] = image_links((sweep / "CALIBRATION.md").read_text())
    assert link == "calibration.png" and (sweep / link).is_file()


def test_check_fails_on_a_hand_edited_calibration_md_and_passes_on_what_draw_wrote(sweep, tmp_path):
    """make check covers CALIBRATION.md and its figure: --draw --check writes nothing, and fails on either one
    that is not what the cells make."""
    shutil.copytree(write_results(tmp_path / "made"), sweep / "unit-b32" / "results")
    assert draw(tmp_path)[0] == 0
    written = {path: path.read_bytes() for path in sweep.glob("*.*")}
    code, out, err = run_program("tools.calibrate", "--draw", "--check")
    assert (code, err) == (0, "") and "are what the cells make" in out
    document = sweep / "CALIBRATION.md"
    document.write_text(document.read_text().replace("holds", "keeps", 1))
    code, _, err = run_program("tools.calibrate", "--draw", "--check")
    assert code == 1 and err.count("\n") == 1 and "CALIBRATION.md is not what their data make; run make " \
        "calibrate" in err, err
    assert document.read_bytes() != written[document]  # --check wrote nothing back
    document.write_bytes(written[document])
    json_file = sweep / "unit-b32" / "results" / "02_adam.json"
    record = json.loads(json_file.read_text())
    record["runs"][0]["history"]["val_acc"][-1] += 0.01
    json_file.write_text(json.dumps(record))  # other data: the figure is stale too
    code, _, err = run_program("tools.calibrate", "--draw", "--check")
    assert code == 1 and "calibration.png" in err, err


def first_seed(results, folder):
    folder.mkdir(parents=True)
    for path in results.iterdir():
        record = json.loads(path.read_text())
        (folder / path.name).write_text(json.dumps(dict(record, seeds=1, runs=record["runs"][:1])))
    return folder


def fill_every_cell(sweep, tmp_path, better):
    """Every cell done at one seed with the same made-up numbers, except `better`: {cell: TYPICAL's changes}."""
    for inputs, batch in calibrate.cells():
        cell = calibrate.cell_name(inputs, batch)
        made = write_results(tmp_path / "made" / cell, dict(TYPICAL, **better.get(cell, {})))
        shutil.copytree(first_seed(made, tmp_path / "one" / cell), sweep / cell / "results")
        if batch != 32:
            (sweep / cell / "results" / "04_batch1000.json").unlink()  # it lives in the scaling's b32 cell
    return tmp_path / "made"


LOW_LOSS = {"08_final_sgd": ([0.89, 0.891, 0.889], [0.12, 0.12, 0.13])}  # 8b holds
LOW_LOSSES = dict(LOW_LOSS, **{"02_adam": ([0.88, 0.885, 0.882], [0.15, 0.16, 0.15])})  # 2b and 8b hold


def test_once_every_cell_is_done_the_best_get_their_other_seeds(sweep, tmp_path):
    made = fill_every_cell(sweep, tmp_path, {"standard-b64": LOW_LOSSES, "standard-b100": LOW_LOSS})
    assert calibrate.best_cells() == [("standard", 64), ("standard", 100), ("unit", 32)]  # ties: the grid's order
    shutil.copytree(made / "unit-b32", sweep / "unit-b32" / "results", dirs_exist_ok=True)  # results/'s 3 seeds
    runs = calibrate.missing_runs()
    assert {(r.out.name, r.seed) for r in runs} == {(cell, seed) for cell in ("standard-b64", "standard-b100",
                                                                              "standard-b32") for seed in (1, 2)}
    assert [r for r in runs if r.out.name == "standard-b32"] == [r for r in runs if r.name == "04_batch1000"]
    assert len(runs) == 2 * 7 * 2 + 2  # seven per cell, and standard's 04_batch1000 once
    assert all(r.flags[:2] == ("--inputs", r.out.name.split("-")[0]) for r in runs)
    assert list(calibrate.verdicts(seeds=3)) == ["unit-b32"]  # the others wait for their seeds


def test_the_answer_names_the_cell_that_holds_most_over_three_seeds_and_where_it_parts_from_the_default(
        sweep, tmp_path):
    made = fill_every_cell(sweep, tmp_path, {"standard-b64": LOW_LOSSES, "standard-b100": LOW_LOSS})
    text = "\n".join(calibrate.section())
    assert "answers nothing yet" in text  # the best lack their seeds
    assert image_links(text) == ["calibration.png"]
    for cell in ("standard-b64", "standard-b100", "unit-b32"):
        for path in (sweep / cell / "results").iterdir():
            shutil.copy(made / cell / path.name, path)  # all three seeds
    shutil.copy(made / "standard-b32" / "04_batch1000.json", sweep / "standard-b32" / "results")
    text = "\n".join(calibrate.section())
    assert "answers nothing yet" not in text and image_links(text) == ["calibration.png"]
    assert "**Over 3 seeds, standard-b64 holds the most claims: 13 of 20.** standard-b100 holds 12 (1 fewer); " \
           "unit-b32 holds 11 (2 fewer)." in text
    assert "closest to its own is standard-b64 (pixels scaled to mean 0 and sd 1 by the training set's statistics, " \
           "batches of 64)." in text
    parted = [line.split(" | ")[0] for line in text.splitlines() if "3 seeds ✗ | " in line]
    assert parted == ["| 2b", "| 8b"]  # where it parts from the default, and nowhere else
    assert "| standard-b64, 3 seeds" not in text and "| standard-b64 | 13 of 20 |" in text


def test_a_tie_is_called_one_and_every_tied_cell_is_set_against_the_default(sweep, tmp_path):
    low_adam_loss = {"02_adam": LOW_LOSSES["02_adam"]}  # 2b holds
    better = {"unit-b32": low_adam_loss, "standard-b64": LOW_LOSS, "standard-b100": low_adam_loss}
    made = fill_every_cell(sweep, tmp_path, better)
    for cell in better:
        for path in (sweep / cell / "results").iterdir():
            shutil.copy(made / cell / path.name, path)
    shutil.copy(made / "standard-b32" / "04_batch1000.json", sweep / "standard-b32" / "results")
    text = "\n".join(calibrate.section())
    assert "**Over 3 seeds, unit-b32, standard-b64 and standard-b100 hold the most claims: 12 of 20.** A tie: none " \
           "of the 3 holds more claims than another." in text
    assert "[0, 1], what the text says, is among them" in text
    assert "Where the lab's default (unit-b32), standard-b64 and standard-b100 part" in text
    parted = [line for line in text.splitlines() if line.startswith("| 2b |") or line.startswith("| 8b |")]
    assert [[cell.strip()[-1] for cell in line.rstrip(" |").split(" | ")[2:]] for line in parted] == [["✓", "✗", "✓"],
                                                                                         ["✗", "✓", "✗"]]
    assert len([line for line in text.splitlines() if line.startswith("| ") and "3 seeds" in line]) == 2
