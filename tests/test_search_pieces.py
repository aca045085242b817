"""The search's pieces (tools/search/pieces.py): each runs as the script the search writes for a best trial that
chose it, the optimizers that stand for the lesson's train exactly as the lesson's do, and the augmentation moves
each image by at most two pixels and flips about half."""
import json
from dataclasses import replace

import optuna
import pytest
import torch

import common
from conftest import run_program
from tools import places
from tools.search import cli, followups, pieces, steps, study as studies

UNIFORM = optuna.distributions.FloatDistribution(1e-5, 1.0)


def best_trial(params: dict):
    """A finished trial of these settings, as a study's best."""
    distributions = {k: optuna.distributions.CategoricalDistribution([v]) if isinstance(v, str) else
                     optuna.distributions.IntDistribution(1, 4096) if isinstance(v, int) else UNIFORM
                     for k, v in params.items()}
    return type("Study", (), {"best_trial": optuna.trial.create_trial(params=params, distributions=distributions,
                                                                      value=0.9)})


SCRIPTS = {  # every piece of tools/search/pieces.py but sgd and adam, which are written as Config's optimizer
    "09_nesterov_cosine": (dict(make_optimizer="nesterov", lr=0.05, make_schedule="cosine", loss="smoothed",
                                **{"smoothed.label_smoothing": 0.05}, step="augmented"),
                           "SGD lr 0.05, momentum 0.9, nesterov True", "CosineAnnealingLR T_max 2, per epoch",
                           "Augmented: each image moved by up to 2 pixels each way, and half of them flipped left to "
                           "right, on the device"),
    "09_adamw_warmup": (dict(make_optimizer="adamw", **{"adamw.weight_decay": 0.0123}, lr=0.002,
                             make_schedule="warmup_cosine"),
                        "AdamW lr 0.002, weight decay 0.0123", "SequentialLR per epoch",
                        "One batch: forward, loss, backward, one optimizer step"),
}


@pytest.mark.parametrize("name", list(SCRIPTS))
def test_each_piece_runs_as_the_script_the_search_writes_for_it(name, lab, tiny_dir, monkeypatch):
    params, optimizer, schedule, step = SCRIPTS[name]
    monkeypatch.setattr(studies, "FOLDER", lab / "lab-searches")
    setup = studies.configure(cli.parser().parse_args(["--study", "prueba"]))
    text = followups.script_text(setup, best_trial(params))
    for piece in ("nesterov", "adamw", "cosine", "warmup_cosine", "smoothed", "augmented"):
        assert (f"def {piece}(" in text) == (piece in params.values()), piece
    (lab / f"{name}.py").write_text(text)
    code, out, err = run_program(lab / f"{name}.py", "--quick", "--data-dir", tiny_dir)
    assert code == 0, err
    record = json.loads((places.RUNS / name / "quick,seed=0" / places.RESULTS).read_text())
    assert (record["optimizer"], record["schedule"], record["step"]) == (optimizer, schedule, step)
    lr = record["runs"][0]["history"]["lr"]
    assert lr == pytest.approx([0.05, 0.025] if name == "09_nesterov_cosine" else [0.002 * 0.1, 0.002 * 0.4])
    assert ("label smoothing" in record["loss"]) == ("loss" in params)


@pytest.mark.parametrize("piece, optimizer", [(pieces.sgd, "sgd"), (pieces.adam, "adam")])
def test_the_sgd_and_adam_pieces_train_exactly_as_the_lesson_s_optimizers(piece, optimizer, tiny_data):
    config = common.Config(optimizer=optimizer, epochs=2, lr=0.01)
    quiet = dict(log=lambda line: None)
    lesson = common.train(config, tiny_data, **quiet)[2]
    chosen = common.train(replace(config, optimizer="sgd" if optimizer == "adam" else "adam"), tiny_data,
                          make_optimizer=piece, **quiet)[2]
    for key in ("train_loss", "val_loss", "running_loss", "val_acc"):
        assert chosen[key] == lesson[key], key


def test_augmentation_moves_each_image_at_most_two_pixels_and_flips_about_half(monkeypatch):
    torch.manual_seed(0)
    images = torch.zeros(2000, 28, 28)
    images[:, 10, 5] = 1.0  # one lit pixel, left of the middle: a flip puts it at column 22
    seen = {}
    monkeypatch.setattr(common, "train_step", lambda model, optimizer, inputs, targets, loss: seen.update(x=inputs))
    pieces.augmented(None, None, images.reshape(-1, 784), torch.zeros(2000, dtype=torch.long), None)
    moved = seen["x"].view(-1, 28, 28)
    assert torch.equal(moved.sum((1, 2)), torch.ones(2000))  # nothing lost at these distances from the edge
    where = moved.flatten(1).argmax(1)
    rows, cols = where // 28, where % 28
    flipped = cols > 14
    assert ((rows - 10).abs() <= 2).all()
    assert torch.where(flipped, (cols - 22).abs(), (cols - 5).abs()).le(2).all()
    assert 0.45 < flipped.float().mean() < 0.55
    assert len(set(zip(rows.tolist(), cols.tolist()))) == 2 * 25  # every shift, flipped or not


def test_a_knob_of_hidden_choices_is_changed_whole():
    assert steps.with_knob({"lr": 0.001, "hidden": "128x64"}, "hidden", {"hidden": "512x256", "lr": 0.1}) == \
        {"lr": 0.001, "hidden": "512x256"}
    assert steps.with_knob({"lr": 0.001, "layers": 1, "width1": 64}, "hidden",
                           {"layers": 2, "width1": 8, "width2": 4}) == {"lr": 0.001, "layers": 2, "width1": 8, "width2": 4}


OWN_MODEL = '''"""A student's own model: one linear layer."""
import torch.nn as nn

import common


def linear(config):
    return nn.Sequential(nn.Linear(784, 10))


if __name__ == "__main__":
    common.main(__file__, make_model=linear, lr=0.05)
'''


def test_the_best_s_script_keeps_the_script_s_own_pieces_the_search_left(lab, tiny_dir, monkeypatch):
    (lab / "09_linear.py").write_text(OWN_MODEL)
    monkeypatch.setattr(studies, "FOLDER", lab / "lab-searches")
    setup = studies.configure(cli.parser().parse_args(["--experiment", "09_linear", "--study", "prueba", "--range",
                                                       "loss=cross_entropy,smoothed", "--range",
                                                       "smoothed.label_smoothing=0:0.2"]))
    text = followups.script_text(setup, best_trial({"loss": "smoothed", "smoothed.label_smoothing": 0.05}))
    assert 'make_model=experiments.of("09_linear").pieces["make_model"]' in text and "lr=0.05" in text
    (lab / "09_linear_searched.py").write_text(text)
    code, _, err = run_program(lab / "09_linear_searched.py", "--quick", "--data-dir", tiny_dir)
    assert code == 0, err
    record = json.loads((places.RUNS / "09_linear_searched" / "quick,seed=0" / places.RESULTS).read_text())
    assert record["parameters"] == 784 * 10 + 10 and "label smoothing" in record["loss"]
