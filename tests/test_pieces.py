"""A schedule, a loss and a step of one's own; the per-epoch callback; held-out validation; the lab from a notebook."""
import json
import re
import sys
from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F

import common
from conftest import ROOT
from tools import data as datafiles, places

TINY = common.Config(lr=0.1, batch_size=16, epochs=3)
QUIET = dict(log=lambda line: None)


def halving(optimizer, config):
    return torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)


def test_a_schedule_is_stepped_once_per_epoch_and_each_epoch_s_lr_is_recorded(tiny_data):
    _, optimizer, history = common.train(TINY, tiny_data, make_schedule=halving, **QUIET)
    assert history["lr"] == [0.1, 0.05, 0.025]
    assert optimizer.param_groups[0]["lr"] == 0.0125
    assert common.train(TINY, tiny_data, **QUIET)[2]["lr"] == [0.1] * 3


def test_a_schedule_that_watches_the_validation_loss_gets_it(tiny_data):
    def on_plateau(optimizer, config):
        return torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, patience=0, factor=0.5, threshold=10.0)
    history = common.train(TINY, tiny_data, make_schedule=on_plateau, **QUIET)[2]
    assert history["lr"] == [0.1, 0.05, 0.025]  # no epoch improves by the (huge) threshold: halved after each


def test_losses_are_recorded_by_what_they_are():
    import functools
    from tools.records import describe_function
    assert describe_function(common.cross_entropy) == "Cross-entropy, the report's loss"
    assert describe_function(functools.partial(F.cross_entropy, label_smoothing=0.1)) == \
        "cross_entropy(label_smoothing=0.1)"
    assert describe_function(torch.nn.CrossEntropyLoss(label_smoothing=0.1)) == "CrossEntropyLoss(label_smoothing=0.1)"


def test_the_step_gets_the_script_s_loss_and_the_running_curve_is_what_was_optimised(tiny_data):
    def doubled(logits, targets):
        """Twice cross-entropy."""
        return 2 * F.cross_entropy(logits, targets)
    got = []

    def recording_step(model, optimizer, inputs, targets, loss):
        got.append(loss)
        return common.train_step(model, optimizer, inputs, targets, loss)

    plain = common.train(replace(TINY, lr=0.2), tiny_data, **QUIET)[2]
    mine = common.train(TINY, tiny_data, loss=doubled, step=recording_step, make_schedule=halving, **QUIET)[2]
    assert set(got) == {doubled}
    # Twice the loss at half the lr is the same first epoch (every factor of 2 is exact in floating point): its
    # running loss doubled, its training and validation curves (plain cross-entropy) the same.
    assert mine["running_loss"][0] == pytest.approx(2 * plain["running_loss"][0], rel=1e-6)
    assert (mine["train_loss"][0], mine["val_loss"][0]) == pytest.approx((plain["train_loss"][0], plain["val_loss"][0]),
                                                                           rel=1e-6)
    assert mine["lr"] == [0.1, 0.05, 0.025]


def test_the_per_epoch_callback_sees_each_epoch_s_figures_and_can_stop_the_training(tiny_data):
    seen = []

    class Enough(Exception):
        pass

    def on_epoch(epoch, figures):
        seen.append((epoch, figures["val_acc"], figures["lr"]))
        if epoch == 2:
            raise Enough
    with pytest.raises(Enough):
        common.train(TINY, tiny_data, on_epoch=on_epoch, **QUIET)
    history = common.train(replace(TINY, epochs=2), tiny_data, **QUIET)[2]
    assert seen == [(1, history["val_acc"][0], 0.1), (2, history["val_acc"][1], 0.1)]


def test_held_out_validation_is_a_fixed_sixth_of_the_training_set_and_never_reads_the_test_set(tiny_dir, monkeypatch):
    read = []
    real = datafiles.read_idx
    monkeypatch.setattr(datafiles, "read_idx", lambda path: read.append(path.name) or real(path))
    held = common.load_data(str(tiny_dir), validation="heldout", inputs="standard")
    assert read and not any(name.startswith("t10k") for name in read)
    train_x, train_y = datafiles.load_split(*(datafiles.find_files(tiny_dir)[n] for n in datafiles.SPLIT_FILES["train"]))
    assert (len(held.train_x), len(held.val_x)) == (len(train_x) - len(train_x) // 6, len(train_x) // 6)
    assert torch.equal(held.val_y, train_y[held.val_index])
    others = sorted(set(range(len(train_x))) - set(held.val_index))
    shift, scale = train_x[others].mean().item(), train_x[others].std().item()  # from the images trained on only
    assert held.scaling == (shift, scale)
    assert torch.allclose(held.val_x, (train_x[held.val_index] - shift) / scale)
    again = common.load_data(str(tiny_dir), validation="heldout")
    assert again.val_index == held.val_index


def test_a_notebook_runs_the_lab_without_its_command_line_or_an_exit(tiny_dir, lab, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["ipykernel_launcher.py", "-f", "/root/.local/kernel-1.json"])
    record, model = common.run("my_lr01", lr=0.1, epochs=2, quick=True, data_dir=str(tiny_dir))
    assert isinstance(model, torch.nn.Module) and record["config"]["lr"] == 0.1
    assert (lab / "runs" / "my_lr01" / "quick,seed=0" / "seed=0.pt").is_file()
    with pytest.raises(common.UserError, match="dropout"):
        common.run("my_lr01", dropout=2.0)
    (lab / "05_lr01.py").write_text("")  # a script's name is its own: a notebook's run would pass for it
    with pytest.raises(common.UserError, match="05_lr01 is the experiment script 05_lr01.py"):
        common.run("05_lr01", lr=0.3)


NOTEBOOK = re.search(r"```python\n(import common +# in a notebook.*?)```", (ROOT / "README.md").read_text(), re.DOTALL)


def test_the_readme_s_notebook_lines_run(tiny_dir, lab, monkeypatch):
    monkeypatch.setenv("FASHION_MNIST_DIR", str(tiny_dir))
    monkeypatch.setattr(sys, "argv", ["ipykernel_launcher.py", "-f", "kernel.json"])
    lines = NOTEBOOK.group(1).strip().splitlines()
    assert len(lines) == 3
    namespace = {}
    exec(NOTEBOOK.group(1), namespace)
    record = namespace["record"]
    [results] = (lab / "runs" / "my_lr01").glob(f"*/{places.RESULTS}")
    assert json.loads(results.read_text()) == json.loads(json.dumps(record))
