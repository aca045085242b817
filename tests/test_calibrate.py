"""calibrate.py: the grid it sweeps, that it resumes, and that report.py's claims run on its cells unchanged."""
import json
import shutil

import pytest

import calibrate
import report
from test_report import write_results


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
    assert done["standard-b100"] == report.claims(report.load(results))
    text = "\n".join(calibrate.section())
    assert "| unit-b32 (the lab's default) | " in text and "2 of 12 cells are done" in text


def test_a_damaged_cell_file_is_named(sweep, tmp_path):
    results = write_results(tmp_path / "made")
    shutil.copytree(results, sweep / "unit-b32" / "results")
    path = sweep / "unit-b32" / "results" / "02_adam.json"
    path.write_text(json.dumps({"experiment": "02_adam"}))
    with pytest.raises(report.common.UserError, match=f"{path} lacks config"):
        calibrate.verdicts()


def test_the_lab_s_own_cell_is_seed_0_of_the_committed_results(sweep, tmp_path):
    results = write_results(tmp_path / "made")
    for path in results.iterdir():
        record = json.loads(path.read_text())
        record["config"].update(inputs="unit", threads=1)
        path.write_text(json.dumps(dict(record, seeds=3)))
    calibrate.default_cell_from_results(results)
    for name in report.REPORT_EXPERIMENTS:
        taken = json.loads((sweep / "unit-b32" / "results" / f"{name}.json").read_text())
        committed = json.loads((results / f"{name}.json").read_text())
        assert taken["seeds"] == 1 and taken["runs"] == committed["runs"][:1]
    assert not [r for r in calibrate.missing_runs() if r.out.name == "unit-b32"]
