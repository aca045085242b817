import copy
from dataclasses import fields, replace

import pytest
import torch
import torch.nn.functional as F

import common
from conftest import a_record, ROOT, real_data_or_skip, run_program
from tools import data as datafiles, records
from tools.config import configure, resolve_device
from tools.files import ConfigError
from tools.files import pyplot
from tools.records import describe_model, describe_optimizer

TINY = common.Config(lr=0.1, batch_size=16, epochs=3)
QUIET = dict(log=lambda line: None)


def measured(history):
    return {key: values for key, values in history.items() if key != "epoch_seconds"}


def test_model_shapes():
    base, wide = common.make_model(common.Config()), common.make_model(common.Config(hidden=(512, 256), dropout=0.0))
    assert base(torch.zeros(5, 784)).shape == (5, 10)
    assert [p.shape for p in base.parameters()][::2] == [(128, 784), (64, 128), (10, 64)]
    assert not any(isinstance(layer, torch.nn.Dropout) for layer in wide)
    assert sum(isinstance(layer, torch.nn.Dropout) and layer.p == 0.2 for layer in base) == 2


def test_short_training_lowers_the_loss(tiny_data):
    _, _, history = common.train(TINY, tiny_data, **QUIET)
    assert history["train_loss"][-1] < 0.8 * history["train_loss"][0]
    assert history["val_acc"][-1] > 0.5


def test_running_figures_are_the_batch_weighted_mean_of_what_each_batch_saw(tiny_data):
    """The incorrect curve, recomputed here one batch at a time from a twin of the model. 300 images in
    batches of 64 leave a last batch of 44, so a plain mean over batches would not match."""
    x, y, size = tiny_data.train_x, tiny_data.train_y, 64
    torch.manual_seed(0)
    model = common.make_model(common.Config())
    twin = copy.deepcopy(model)
    optimizer, twin_optimizer = (torch.optim.SGD(m.parameters(), lr=0.1) for m in (model, twin))
    dropout_state = torch.get_rng_state()
    running_loss, running_acc = common.train_epoch(model, optimizer, x, y, size, torch.Generator().manual_seed(1))

    torch.set_rng_state(dropout_state)  # the same dropout masks, batch by batch
    twin.train()
    losses, hits, sizes = [], [], []
    for batch in torch.randperm(len(x), generator=torch.Generator().manual_seed(1)).split(size):
        logits = twin(x[batch])
        loss = F.cross_entropy(logits, y[batch])
        twin_optimizer.zero_grad()
        loss.backward()
        twin_optimizer.step()
        losses.append(loss.item())
        hits.append((logits.argmax(1) == y[batch]).sum().item())
        sizes.append(len(batch))
    weighted = sum(loss * n for loss, n in zip(losses, sizes)) / len(x)
    assert sizes[-1] == 44 and abs(weighted - sum(losses) / len(losses)) > 1e-4  # the test can tell them apart
    assert running_loss == pytest.approx(weighted, rel=1e-6)
    assert running_acc == sum(hits) / len(x)


def test_evaluation_is_the_whole_set_in_eval_mode_whatever_the_chunk(tiny_data):
    x, y = tiny_data.train_x, tiny_data.train_y
    torch.manual_seed(0)
    model = common.make_model(common.Config(dropout=0.5))
    loss, accuracy = common.evaluate(model, x, y, chunk=7)  # 300 = 42 chunks of 7 and one of 6
    model.eval()
    with torch.no_grad():
        logits = model(x)
    assert loss == pytest.approx(F.cross_entropy(logits, y).item(), rel=1e-6)
    assert accuracy == (logits.argmax(1) == y).sum().item() / len(y)


def test_the_history_keeps_each_figure_under_its_own_name(tiny_data, monkeypatch):
    """Distinct made-up figures, to catch a training figure filed as a validation one or the reverse."""
    figures = iter([(10.0, 0.1), (20.0, 0.2)] * 2)  # evaluate: training set, then validation set, each epoch
    monkeypatch.setattr(common, "evaluate", lambda model, x, y: next(figures))
    monkeypatch.setattr(common, "train_epoch", lambda *args: (30.0, 0.3))
    _, _, history = common.train(replace(TINY, epochs=2), tiny_data, **QUIET)
    assert measured(history) == dict(train_loss=[10.0] * 2, train_acc=[0.1] * 2, val_loss=[20.0] * 2,
                                     val_acc=[0.2] * 2, running_loss=[30.0] * 2, running_acc=[0.3] * 2,
                                     lr=[TINY.lr] * 2)


def test_same_seed_same_numbers_other_seed_other_numbers(tiny_data):
    first, again = (common.train(replace(TINY, seed=3), tiny_data, **QUIET)[2] for _ in range(2))
    other = common.train(replace(TINY, seed=4), tiny_data, **QUIET)[2]
    assert measured(first) == measured(again)
    assert measured(first) != measured(other)


def test_a_training_uses_the_threads_its_config_asks_for(tiny_data):
    """Two, not one: an earlier test's training (or torch's default on a one-core machine) may have left one."""
    torch.set_num_threads(1)  # threads_as_they_were puts back whatever was there before
    common.train(replace(TINY, epochs=1, threads=2), tiny_data, **QUIET)
    assert torch.get_num_threads() == 2


def test_divergence_is_a_clear_error(tiny_data):
    with pytest.raises(common.UserError, match="diverged.*--lr"):
        common.train(common.Config(lr=1e8, epochs=3), tiny_data, **QUIET)


def test_a_model_and_an_optimizer_of_ones_own(tiny_data):
    """What a script passes to main: built from the config, trained by the same loop, described as it is."""
    def small_cnn(config):
        return torch.nn.Sequential(torch.nn.Unflatten(1, (1, 28, 28)), torch.nn.Conv2d(1, 4, 3, padding=1),
                                   torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Dropout(config.dropout),
                                   torch.nn.Linear(4 * 28 * 28, 10))

    def sgd_with_momentum(parameters, config):
        return torch.optim.SGD(parameters, lr=config.lr, momentum=0.9)

    model, optimizer, history = common.train(replace(TINY, lr=0.01), tiny_data, small_cnn, sgd_with_momentum, **QUIET)
    assert history["train_loss"][-1] < history["train_loss"][0]
    assert describe_model(model) == "Unflatten, Conv2d 1→4 3x3, ReLU, Flatten, Dropout 0.2, Linear 3136→10"
    assert describe_optimizer(optimizer) == "SGD lr 0.01, momentum 0.9"


@pytest.mark.parametrize("config, model, optimizer", [
    (common.Config(), "MLP 784-128-64-10, ReLU, dropout 0.2", "SGD lr 0.001"),
    (common.Config(optimizer="adam", lr=0.1, hidden=(512, 256), dropout=0.0), "MLP 784-512-256-10, ReLU, no dropout",
     "Adam lr 0.1"),
])
def test_the_report_s_models_and_optimizers_are_described_plainly(config, model, optimizer):
    built = common.make_model(config)
    assert describe_model(built) == model
    assert describe_optimizer(common.make_optimizer(built.parameters(), config)) == optimizer


def test_one_epoch_of_adam_on_the_real_data_passes_80_percent():
    data = real_data_or_skip()
    _, _, history = common.train(common.Config(optimizer="adam", epochs=1), data, **QUIET)
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
    model = common.make_model(common.Config())
    optimizer = common.make_optimizer(model.parameters(), common.Config(optimizer="adam"))
    common.train_epoch(model, optimizer, tiny_data.train_x, tiny_data.train_y, 8, torch.Generator())
    host_steps = [state["step"] for state in optimizer.state.values()]
    device_reads = [m for m, tensor in reads if not any(tensor is step for step in host_steps)]
    assert len(tiny_data.train_x) // 8 > 30 and device_reads == ["item", "item"]


def test_auto_device_prefers_cuda_then_mps(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto").type == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert resolve_device("auto").type == "mps"
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert resolve_device("auto").type == "cpu"


def test_confusion_matrix_counts_every_validation_image(tiny_data):
    model, _, _ = common.train(TINY, tiny_data, **QUIET)
    matrix = torch.tensor(common.confusion_matrix(model, tiny_data.val_x, tiny_data.val_y))
    assert matrix.sum() == len(tiny_data.val_y)
    assert torch.equal(matrix.sum(1), torch.bincount(tiny_data.val_y, minlength=10))
    _, accuracy = common.evaluate(model, tiny_data.val_x, tiny_data.val_y)
    assert matrix.trace().item() / len(tiny_data.val_y) == pytest.approx(accuracy)


@pytest.mark.parametrize("seeds", [1, 3])
def test_band_is_drawn_only_for_several_seeds(tiny_data, seeds):
    histories = [common.train(replace(TINY, seed=s), tiny_data, **QUIET)[2] for s in range(seeds)]
    record = a_record("test", histories, batch_size=16) | dict(model="MLP", parameters=1, optimizer="SGD lr 0.1")
    fig = common.draw(record)
    bands = [c for ax in fig.axes for c in ax.collections]
    assert len(bands) == (0 if seeds == 1 else 6)  # three curves on each of two panels
    assert len(fig.axes[0].lines) == 3
    said = f"{seeds} seed{'s' * (seeds > 1)}"
    assert f"test: MLP (1 parameters)\nSGD lr 0.1, batch 16; 3 epochs, {said}" == fig._suptitle.get_text()


def test_a_one_epoch_run_is_drawn_as_points_not_invisible_lines(tiny_data):
    fig = common.draw(a_record("test", [common.train(replace(TINY, epochs=1), tiny_data, **QUIET)[2]]))
    assert [line.get_marker() for line in fig.axes[0].lines] == ["o", "o", "x"]  # the incorrect curve keeps its own


def made_up_history(epochs: int, seed: int = 0) -> dict:
    g = torch.Generator().manual_seed(seed)
    return {key: torch.rand(epochs, generator=g, dtype=torch.float64).tolist() for key in records.HISTORY_KEYS}


def record_of(histories: list[dict], **what) -> dict:
    """A record as main makes it, with made-up curves: draw needs no training."""
    return a_record("test", histories, batch_size=16) | dict(model="MLP", parameters=1, optimizer="SGD lr 0.1") | what


def test_the_epoch_axis_shows_whole_epochs_only():
    """Two epochs would get ticks at 1.2, 1.4, ... from matplotlib's own choice: there is no epoch 1.5."""
    fig = common.draw(record_of([made_up_history(2)]))
    fig.canvas.draw()  # the ticks are chosen when the figure is drawn
    for ax in fig.axes:
        ticks = ax.get_xticks()
        low, high = ax.get_xlim()
        assert all(tick == int(tick) for tick in ticks), ticks
        assert {1, 2} <= {tick for tick in ticks if low <= tick <= high}  # both epochs have their tick
    pyplot().close(fig)


def test_a_long_model_description_wraps_in_the_title_and_keeps_every_word():
    """A model of one's own that is not the report's kind of MLP is described layer by layer, which can run to
    hundreds of characters: the title wraps it rather than running off the figure's edges."""
    layers, width = [], 784
    for size in (512, 256, 128, 64, 32, 16, 16):
        layers += [torch.nn.Linear(width, size), torch.nn.BatchNorm1d(size), torch.nn.ReLU(), torch.nn.Dropout(0.2)]
        width = size
    model = torch.nn.Sequential(*layers, torch.nn.Linear(width, 10))
    description = describe_model(model)
    assert len(description) >= 300 and "BatchNorm1d" in description  # layer by layer, no MLP shorthand
    fig = common.draw(record_of([made_up_history(3)], model=description,
                                parameters=sum(p.numel() for p in model.parameters())))
    title = fig.get_suptitle()
    lines = title.splitlines()
    assert max(map(len, lines)) <= 110 and len(lines) >= 4, lines
    assert " ".join(description.split()) in " ".join(title.split())  # every word, in order
    assert lines[-1] == "SGD lr 0.1, batch 16; 3 epochs, 1 seed"  # the second line of the title stays its own
    pyplot().close(fig)


# ---------------------------------------------------------------- the one check of a configuration

@pytest.mark.parametrize("field, keyword, texts", [
    ("optimizer", "sgdd", ["sgdd"]),
    ("dropout", 1.5, ["1.5"]),
    ("lr", 0.0, ["0"]),
    ("lr", 0, ["0"]),  # an int from a script, shown as the flag's 0.0
    ("epochs", 0, ["0"]),
    ("batch_size", -32, ["-32"]),
    ("threads", 0, ["0"]),
    ("inputs", "0-255", ["0-255"]),
    ("device", "tpu", ["tpu"]),  # refused as a choice before any device is looked for
    ("hidden", (128, 0), ["128", "0"]),
])
def test_a_bad_value_is_refused_in_the_same_words_from_a_script_and_from_a_flag(field, keyword, texts):
    """common.main(__file__, dropout=1.5) and --dropout 1.5 go through one check: the same line, naming both."""
    flag = "--" + field.replace("_", "-")
    with pytest.raises(ConfigError) as from_script:
        configure("01_base", common.Config(), {field: keyword}, argv=[])
    with pytest.raises(ConfigError) as from_flag:
        configure("01_base", common.Config(), {}, argv=[flag, *texts])
    assert str(from_script.value) == str(from_flag.value)
    assert str(from_flag.value).startswith(f"{flag} (Config.{field}) must be ") and "\n" not in str(from_flag.value)


def test_a_script_s_keywords_are_taken_in_their_field_s_type():
    config, _ = configure("09_x", common.Config(), dict(hidden=[512, 256], lr=1), argv=[])
    assert config.hidden == (512, 256) and type(config.hidden) is tuple
    assert config.lr == 1.0 and type(config.lr) is float


def test_a_fraction_of_an_epoch_is_refused():
    with pytest.raises(ConfigError, match=r"^--epochs \(Config\.epochs\) must be a whole number; got 2\.5$"):
        configure("09_x", common.Config(), dict(epochs=2.5), argv=[])


def test_a_keyword_config_does_not_have_is_refused_naming_the_fields_it_has():
    with pytest.raises(ConfigError) as error:
        configure("09_typo", common.Config(), dict(learning_rate=0.1), argv=[])
    assert str(error.value) == ("main() got learning_rate, which Config does not have; it has "
                                + ", ".join(f.name for f in fields(common.Config))
                                + "; main also takes seeds, quick, data_dir, out, lang, make_model, make_optimizer, "
                                  "make_schedule, loss and step")


def test_a_bad_value_stops_the_script_before_any_data_is_touched(lab, monkeypatch):
    touched = []

    def untouchable(*args, **kwargs):
        touched.append(args)
        raise common.UserError("the data was touched")
    for module, name in ((common, "load_data"), (datafiles, "load_data"), (datafiles, "locate_data")):
        monkeypatch.setattr(module, name, untouchable)
    code, stdout, stderr = run_program(ROOT / "01_base.py", "--dropout", "1.5")
    assert (code, stdout, touched) == (2, "", [])
    assert stderr == "01_base: error: --dropout (Config.dropout) must be at least 0 and below 1; got 1.5\n"
    assert not (lab / "runs").exists()
    # The control: a good configuration does reach the data, through what is patched here.
    code, _, stderr = run_program(ROOT / "01_base.py", "--quick", "--out", lab / "out")
    assert code == 1 and "the data was touched" in stderr and len(touched) == 1
