import pytest
import torch

import common
from conftest import real_data_or_skip

TINY = common.Config(lr=0.1, batch_size=16, epochs=3)


def measured(history):
    return {key: values for key, values in history.items() if key != "epoch_seconds"}


def test_model_shapes():
    base, wide = common.make_model(), common.make_model((512, 256), 0.0)
    assert base(torch.zeros(5, 784)).shape == (5, 10)
    assert [p.shape for p in base.parameters()][::2] == [(128, 784), (64, 128), (10, 64)]
    assert not any(isinstance(layer, torch.nn.Dropout) for layer in wide)
    assert sum(isinstance(layer, torch.nn.Dropout) and layer.p == 0.2 for layer in base) == 2


def test_short_training_lowers_the_loss(tiny_data):
    _, history = common.train(TINY, tiny_data, seed=0, log=lambda line: None)
    assert history["train_loss"][-1] < 0.8 * history["train_loss"][0]
    assert history["val_acc"][-1] > 0.5
    assert all(0 <= a <= 1 for a in history["val_acc"] + history["running_acc"])


def test_incorrect_running_figures_differ_from_the_measured_ones_with_dropout(tiny_data):
    _, history = common.train(TINY, tiny_data, seed=0, log=lambda line: None)
    assert all(abs(r - t) > 1e-4 for r, t in zip(history["running_loss"], history["train_loss"]))


def test_evaluation_is_in_eval_mode_and_changes_nothing(tiny_data):
    torch.manual_seed(0)
    model = common.make_model(dropout=0.5)
    before = [p.clone() for p in model.parameters()]
    first = common.evaluate(model, tiny_data.train_x, tiny_data.train_y, chunk=7)
    assert common.evaluate(model, tiny_data.train_x, tiny_data.train_y) == pytest.approx(first, rel=1e-5)
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))


def test_same_seed_same_numbers_other_seed_other_numbers(tiny_data):
    quiet = dict(log=lambda line: None)
    first, again = (common.train(TINY, tiny_data, seed=3, **quiet)[1] for _ in range(2))
    other = common.train(TINY, tiny_data, seed=4, **quiet)[1]
    assert measured(first) == measured(again)
    assert measured(first) != measured(other)


def test_divergence_is_a_clear_error(tiny_data):
    with pytest.raises(common.UserError, match="diverged.*--lr"):
        common.train(common.Config(lr=1e8, epochs=3), tiny_data, seed=0, log=lambda line: None)


def test_one_epoch_of_adam_on_the_real_data_passes_80_percent():
    data = real_data_or_skip()
    _, history = common.train(common.Config(optimizer="adam", epochs=1), data, seed=0, log=lambda line: None)
    assert history["val_acc"][0] > 0.8


def test_a_training_epoch_waits_on_the_device_only_at_its_end(tiny_data, monkeypatch):
    """On a GPU every .item() stalls the device: the loop may read its sums once per epoch, never per step.
    (Adam reads its step count, which PyTorch keeps on the host whatever the device: no stall, not counted.)"""
    reads = []
    for method in ("item", "tolist", "cpu", "numpy", "__bool__", "__float__"):
        original = getattr(torch.Tensor, method)
        monkeypatch.setattr(torch.Tensor, method, lambda self, *a, _f=original, _m=method, **k:
                            reads.append((_m, self)) or _f(self, *a, **k))
    torch.manual_seed(0)
    model = common.make_model()
    optimizer = common.make_optimizer("adam", model.parameters(), 1e-3)
    common.train_epoch(model, optimizer, tiny_data.train_x, tiny_data.train_y, 8, torch.Generator())
    host_steps = [state["step"] for state in optimizer.state.values()]
    device_reads = [m for m, tensor in reads if not any(tensor is step for step in host_steps)]
    assert len(tiny_data.train_x) // 8 > 30 and device_reads == ["item", "item"]


def test_auto_device_prefers_cuda_then_mps(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert common.resolve_device("auto").type == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert common.resolve_device("auto").type == "mps"
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert common.resolve_device("auto").type == "cpu"


def test_confusion_matrix_counts_every_validation_image(tiny_data):
    torch.manual_seed(0)
    model, _ = common.train(TINY, tiny_data, seed=0, log=lambda line: None)
    matrix = torch.tensor(common.confusion_matrix(model, tiny_data.val_x, tiny_data.val_y))
    assert matrix.sum() == len(tiny_data.val_y)
    assert torch.equal(matrix.sum(1), torch.bincount(tiny_data.val_y, minlength=10))
    _, accuracy = common.evaluate(model, tiny_data.val_x, tiny_data.val_y)
    assert matrix.trace().item() / len(tiny_data.val_y) == pytest.approx(accuracy)


@pytest.mark.parametrize("seeds", [1, 3])
def test_band_is_drawn_only_for_several_seeds(tiny_data, seeds):
    runs = [{"seed": s, "history": common.train(TINY, tiny_data, seed=s, log=lambda line: None)[1]}
            for s in range(seeds)]
    fig = common.draw("test", TINY, runs)
    bands = [c for ax in fig.axes for c in ax.collections]
    assert len(bands) == (0 if seeds == 1 else 6)  # three curves on each of two panels
    assert len(fig.axes[0].lines) == 3
