"""A student iterates: every run kept, comparisons that say what they compare, figures that say how they were made,
a runner for one's own scripts that runs them all, and flags that say what they do not change."""
import json

import pytest

import common
from conftest import a_record, run_program
from test_examples import EXAMPLES
from tools import config as flags, places, runs

MINE = '''"""My own: lr {lr}."""
import common

if __name__ == "__main__":
    common.main(__file__, lr={lr})
'''


def results(folder):
    return json.loads((folder / places.RESULTS).read_text())


def test_editing_a_script_between_two_runs_keeps_both_and_the_same_run_again_replaces_itself(tiny_dir, lab):
    script = lab / "10_mine.py"
    script.write_text(MINE.format(lr=0.03))
    assert run_program(script, "--quick", "--data-dir", tiny_dir)[0] == 0
    first = lab / "runs" / "10_mine" / "quick,seed=0"
    script.write_text(MINE.format(lr=0.05))
    code, out, err = run_program(script, "--quick", "--data-dir", tiny_dir)
    assert code == 0, err
    second = lab / "runs" / "10_mine" / "quick,seed=0,run2"
    assert results(first)["config"]["lr"] == 0.03 and results(second)["config"]["lr"] == 0.05
    assert f"kept the earlier run of other settings, pieces or script in {first}/" in out.splitlines()[-1]
    code, out, err = run_program(script, "--quick", "--data-dir", tiny_dir)
    assert code == 0, err
    assert "it replaced the run made there before with the same settings" in out.splitlines()[-1]
    assert sorted(p.name for p in (lab / "runs" / "10_mine").iterdir()) == ["quick,seed=0", "quick,seed=0,run2"]


def test_a_folder_claimed_by_a_run_training_now_is_not_taken(tiny_dir, lab):
    """Two runs started at once: the first claims its folder before it trains, and the second, another run, takes
    the next folder rather than writing over the first when both are done."""
    (lab / "10_mine.py").write_text(MINE.format(lr=0.03))
    busy = lab / "runs" / "10_mine" / "quick,seed=0"
    busy.mkdir(parents=True)
    (busy / ".run").write_text(json.dumps({"experiment": "10_mine", "config": "another run's"}))
    code, out, err = run_program(lab / "10_mine.py", "--quick", "--data-dir", tiny_dir)
    assert code == 0, err
    assert (lab / "runs" / "10_mine" / "quick,seed=0,run2" / places.RESULTS).is_file()
    assert sorted(path.name for path in busy.iterdir()) == [".run"]  # the other run's folder, as it left it
    assert not (lab / "runs" / "10_mine" / "quick,seed=0,run2" / ".run").exists()  # done: its claim is gone


def test_two_places_decided_before_either_trains_are_two_folders(lab):
    """The race itself: two runs of the same name place themselves before either has trained (or written anything
    but its claim); the second does not get the first's folder."""
    first = a_record("10_mine", [dict(val_acc=[0.5])]) | dict(changed={}, quick=True)
    second = dict(first, config=dict(first["config"], lr=0.5))
    pieces = dict(layers="MLP", optimizer="SGD")
    a, b = runs.place(first, pieces), runs.place(second, pieces)
    assert a.folder != b.folder and b.folder.name == a.folder.name + ",run2" and not a.replaces
    assert runs.place(first, pieces).folder == a.folder  # the same run again: its own folder


def test_another_optimizer_from_a_notebook_is_another_run(tiny_dir, lab):
    import torch

    def momentum(parameters, config):
        return torch.optim.SGD(parameters, lr=config.lr, momentum=0.9)
    common.run("my_sgd", epochs=1, data_dir=str(tiny_dir))
    common.run("my_sgd", epochs=1, data_dir=str(tiny_dir), make_optimizer=momentum)
    optimizers = {folder.name: results(folder)["optimizer"] for folder in (lab / "runs" / "my_sgd").iterdir()}
    assert optimizers == {"seed=0": "SGD lr 0.001", "seed=0,run2": "SGD lr 0.001, momentum 0.9"}


def test_two_notebook_calls_with_other_epochs_keep_both(tiny_dir, lab):
    common.run("my_lr01", lr=0.1, epochs=2, data_dir=str(tiny_dir))
    common.run("my_lr01", lr=0.1, epochs=1, data_dir=str(tiny_dir))
    kept = {folder.name: results(folder)["config"]["epochs"] for folder in (lab / "runs" / "my_lr01").iterdir()}
    assert kept == {"seed=0": 2, "seed=0,run2": 1}
    assert (lab / "runs" / "my_lr01" / "seed=0" / "seed=0.pt").is_file()  # the first model is kept too


def test_compare_by_name_never_picks_a_quick_run_and_says_what_it_chose(tiny_dir, lab, monkeypatch):
    monkeypatch.setattr(places, "FULL_DATA", dict(train_size=300, val_size=100))  # the tiny data is the whole here
    (lab / "10_mine.py").write_text(MINE.format(lr=0.03))
    assert run_program(lab / "10_mine.py", "--epochs", 2, "--data-dir", tiny_dir)[0] == 0
    assert run_program(lab / "10_mine.py", "--quick", "--data-dir", tiny_dir)[0] == 0  # newer, and quick
    lab_results = lab / "results" / "05_lr01.json"
    lab_results.parent.mkdir()
    lab_results.write_text(json.dumps(a_record("05_lr01", [a_record("x", [dict.fromkeys(
        ("train_loss", "train_acc", "val_loss", "val_acc", "running_loss", "running_acc", "epoch_seconds", "lr"),
        [0.5] * 30)])["runs"][0]["history"]] * 3, lr=0.1)))
    code, out, err = run_program("tools.compare", "05_lr01", "10_mine", "--out", lab / "c.png")
    assert code == 0, err
    said = [line for line in out.splitlines() if line.startswith("compare: ") and "wrote" not in line]
    assert said[0] == f"compare: 05_lr01 (the lab's): {lab / 'results'}/ (30 epochs, 3 seeds; 60,000 training images)"
    assert said[1].startswith("compare: 10_mine/epochs=2,seed=0: ") and "2 epochs, 1 seed" in said[1]
    assert "QUICK" not in out
    (lab / "runs" / "10_mine" / "epochs=2,seed=0" / places.RESULTS).unlink()
    code, _, err = run_program("tools.compare", "05_lr01", "10_mine")
    assert code == 1 and "only quick runs" in err and "name one by its folder" in err
    code, out, err = run_program("tools.compare", "05_lr01", lab / "runs" / "10_mine" / "quick,seed=0",
                                 "--out", lab / "c.png")
    assert code == 0 and "QUICK RUN" in out, err  # named by its folder, it is used, and said to be quick


def test_a_name_not_found_gets_the_nearest_names(lab):
    code, _, err = run_program("tools.predict", "08_final_sdg", "0")
    assert code == 1 and err.count("\n") == 1 and "did you mean 08_final_sgd" in err


def test_a_quick_run_s_figure_says_quick_in_its_title(tiny_dir, lab):
    record, _ = common.run("my_quick", quick=True, data_dir=str(tiny_dir))
    title = common.draw(record).get_suptitle()
    assert "QUICK RUN, 300 training images: not a result" in title and "2 epochs, 1 seed" in title
    common.pyplot().close("all")


def test_make_mine_runs_every_script_of_one_s_own_and_reports_each_failure(tiny_dir, lab):
    (lab / "10_good.py").write_text(MINE.format(lr=0.03))
    (lab / "11_broken.py").write_text(MINE.format(lr=0.03).replace("import common", "import common)"))
    code, out, err = run_program("tools.run_all", "--mine", "--data-dir", tiny_dir)
    assert code == 1
    assert "run_all: 11_broken seed 0 failed: SyntaxError: unmatched ')'" in out
    assert "10_good: wrote " in out and (lab / "runs" / "10_good" / "quick,seed=0" / places.RESULTS).is_file()
    assert err == "run_all: 1 of 2 runs failed: 11_broken seed 0\n"
    assert not any((lab / "runs" / name).exists() for name in places.LAB_EXPERIMENTS)  # the lab's are not its


@pytest.mark.parametrize("written", [["256x128"], ["256,128"], ["256", "128"]])
def test_hidden_takes_the_sizes_as_the_lab_writes_them(written):
    config, options = flags.configure("01_base", common.Config(), {}, argv=["--hidden", *written])
    assert config.hidden == (256, 128) and options.changed["hidden"] == (256, 128)


def test_a_flag_the_experiment_s_own_model_never_reads_is_said(tiny_dir, lab):
    (lab / "10_cnn.py").write_text(EXAMPLES["09_cnn"])
    code, out, err = run_program(lab / "10_cnn.py", "--quick", "--hidden", "512x256", "--lr", "0.01",
                                 "--data-dir", tiny_dir)
    assert code == 0, err
    assert "10_cnn: --hidden is not read by this experiment's model, optimizer or schedule: it changes nothing" in out
    assert "--lr is not read" not in out  # the CNN's optimizer is the lesson's, which reads lr


@pytest.mark.parametrize("folder", ["figures", "results", "tools/x", "."])
def test_out_into_the_lab_s_own_folders_is_refused(folder, lab):
    code, out, err = run_program(lab / "01_base.py", "--quick", "--out", lab / folder)
    assert code == 2 and "is one of the lab's own folders" in err and not out
    code, out, err = run_program("tools.run_all", "01_base", "--quick", "--out", lab / folder)  # its OUT/results/ too
    assert code == 2 and "is one of the lab's own folders" in err and "runs" not in out


def test_report_draws_a_run_s_predictions_into_its_folder(tiny_dir, lab):
    assert run_program(lab / "01_base.py", "--quick", "--data-dir", tiny_dir)[0] == 0
    folder = lab / "runs" / "01_base" / "quick,seed=0"
    code, out, err = run_program("tools.report", "--predictions", folder, "--data-dir", tiny_dir)
    assert code == 0, err
    assert (folder / "predictions.png").read_bytes().startswith(b"\x89PNG") and (folder / "mistakes.png").is_file()
    assert not (lab / "REPRODUCTION.md").exists()  # only the run's grids were asked for
