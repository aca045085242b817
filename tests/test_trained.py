"""The trained model kept, loaded and asked; what it predicts, recorded and drawn; compare."""
import json

import pytest
import torch

import common
from conftest import ROOT, run_program
from test_examples import EXAMPLES
from tools import compare, config as flags, data as datafiles, places, predict, records, report, runs, trained
from tools.files import UserError


def quick_run(lab, tiny_dir, name="08_final_sgd", *flags_):
    code, out, err = run_program(ROOT / f"{name}.py", "--quick", "--data-dir", tiny_dir, *flags_)
    assert code == 0, err
    folder = next(iter((lab / "runs" / name).glob("*quick*")))
    return folder, json.loads((folder / places.RESULTS).read_text())


@pytest.mark.parametrize("extra", [(), ("--inputs", "standard", "--validation", "heldout")])
def test_loading_a_run_s_weights_gives_its_last_validation_figures_exactly(extra, tiny_dir, lab):
    folder, record = quick_run(lab, tiny_dir, "08_final_sgd", *extra)
    assert (folder / "seed=0.pt").is_file() and record["runs"][0]["weights"]["file"] == "seed=0.pt"
    loaded = trained.load(folder)  # a quick run: by its folder (by name, never)
    assert loaded.folder == folder and loaded.config.hidden == (512, 256)
    config = loaded.config
    data = common.load_data(str(tiny_dir), inputs=config.inputs, validation=config.validation,
                            sizes=(flags.QUICK["train_size"], flags.QUICK["val_size"]))
    history = record["runs"][0]["history"]
    assert common.evaluate(loaded.model, data.val_x, data.val_y) == (history["val_loss"][-1], history["val_acc"][-1])


def test_a_student_s_own_model_is_rebuilt_by_the_script_s_make_model(tiny_dir, lab):
    (lab / "09_cnn.py").write_text(EXAMPLES["09_cnn"])
    code, _, err = run_program(lab / "09_cnn.py", "--quick", "--data-dir", tiny_dir)
    assert code == 0, err
    record = json.loads((lab / "runs" / "09_cnn" / "quick,seed=0" / places.RESULTS).read_text())
    loaded = trained.load(lab / "runs" / "09_cnn" / "quick,seed=0")
    assert isinstance(loaded.model[1], torch.nn.Conv2d)
    data = common.load_data(str(tiny_dir), sizes=(flags.QUICK["train_size"], flags.QUICK["val_size"]))
    history = record["runs"][0]["history"]
    assert common.evaluate(loaded.model, data.val_x, data.val_y) == (history["val_loss"][-1], history["val_acc"][-1])


def test_weights_that_are_not_the_record_s_are_refused(tiny_dir, lab):
    folder, _ = quick_run(lab, tiny_dir)
    state = torch.load(folder / "seed=0.pt", weights_only=True)
    state["0.bias"][0] += 1
    torch.save(state, folder / "seed=0.pt")
    with pytest.raises(UserError, match="checksum differs"):
        trained.load(folder)


def test_the_checksum_is_of_the_tensors_not_of_the_file_s_bytes():
    state = {"w": torch.arange(6.0).reshape(2, 3), "b": torch.zeros(2)}
    assert records.checksum(state) == records.checksum({k: v.clone() for k, v in state.items()})
    assert records.checksum(state) != records.checksum({"w": state["w"], "b": torch.ones(2)})
    with_batch_norm = torch.nn.Sequential(torch.nn.Linear(784, 8), torch.nn.BatchNorm1d(8)).state_dict()
    assert with_batch_norm["1.num_batches_tracked"].dim() == 0  # a 0-d tensor, which has no byte view
    assert len(records.checksum(with_batch_norm)) == 16


def test_a_damaged_weights_file_or_a_model_changed_since_is_one_line(tiny_dir, lab):
    (lab / "09_cnn.py").write_text(EXAMPLES["09_cnn"])
    assert run_program(lab / "09_cnn.py", "--quick", "--data-dir", tiny_dir)[0] == 0
    (lab / "09_cnn.py").write_text(EXAMPLES["09_cnn"].replace("nn.Conv2d(1, 16", "nn.Conv2d(1, 8").replace(
        "nn.Conv2d(16, 32", "nn.Conv2d(8, 32"))
    with pytest.raises(UserError, match="trained with another model than 09_cnn's make_model builds now"):
        trained.load(lab / "runs" / "09_cnn" / "quick,seed=0")
    (lab / "09_cnn.py").write_text(EXAMPLES["09_cnn"])
    weights = lab / "runs" / "09_cnn" / "quick,seed=0" / "seed=0.pt"
    weights.write_bytes(weights.read_bytes()[:1000])
    with pytest.raises(UserError, match=r"seed=0\.pt cannot be read"):
        trained.load(lab / "runs" / "09_cnn" / "quick,seed=0")


def test_no_kept_model_names_the_command_that_makes_one(lab):
    (lab / "01_base.py").write_text("")
    with pytest.raises(UserError, match=r"no trained model of 01_base .* python 01_base\.py"):
        trained.load("01_base")


def test_every_run_records_its_first_images_predictions_and_its_most_confident_mistakes(tiny_dir, lab):
    _, record = quick_run(lab, tiny_dir, "01_base")
    run = record["runs"][0]
    shown, mistakes = run["shown"], run["mistakes"]
    assert shown["index"] == list(range(records.SHOWN))
    confusion = torch.tensor(run["confusion"])
    wrong = confusion.sum().item() - confusion.trace().item()
    assert len(mistakes["index"]) == min(records.MISTAKES, wrong) > 0
    assert all(p != t for p, t in zip(mistakes["predicted"], mistakes["true"]))
    assert mistakes["probability"] == sorted(mistakes["probability"], reverse=True)
    test_y = datafiles.load_split(*(datafiles.find_files(tiny_dir)[n] for n in datafiles.SPLIT_FILES["val"]))[1]
    assert test_y[mistakes["index"]].tolist() == mistakes["true"]


def test_the_report_draws_predictions_and_mistakes_of_a_record_that_has_them(tiny_dir, lab, tmp_path):
    _, record = quick_run(lab, tiny_dir, "01_base")
    for which in report.GRIDS:
        images = report.recorded_images(record, which, str(tiny_dir))
        fig = report.image_grid(record, which, images, common.CLASSES)
        titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
        said = record["runs"][0][which]
        assert len(titles) == len(said["index"])
        assert titles[0].startswith(f"#{said['index'][0]}: {common.CLASSES[said['predicted'][0]]}")
        assert all(("WRONG" in title) == (p != t) for title, p, t in zip(titles, said["predicted"], said["true"]))


def test_predict_prints_classes_and_probabilities_for_test_indices_and_image_files(tiny_dir, lab, tmp_path):
    from PIL import Image
    folder, _ = quick_run(lab, tiny_dir)
    Image.new("RGB", (90, 60), "white").save(tmp_path / "blank.png")
    code, out, err = run_program("tools.predict", folder, 0, 1, 2, 3, 4, tmp_path / "blank.png",
                                 "--data-dir", tiny_dir)
    assert code == 0, err
    lines = out.strip().splitlines()
    assert lines[0].startswith("08_final_sgd/quick,seed=0: ") and lines[0].endswith(", seed 0:") and len(lines) == 7
    for line in lines[1:]:
        probabilities = [float(part.rsplit(" ", 1)[1]) for part in line.rsplit(": ", 1)[1].split(", ")]
        assert len(probabilities) == predict.TOP and probabilities == sorted(probabilities, reverse=True)
    assert lines[1].startswith("  test image 0 (true: ")


def test_predict_says_in_one_line_what_is_wrong(tiny_dir, lab, tmp_path):
    (tmp_path / "notes.png").write_text("not an image")
    code, _, err = run_program("tools.predict", "08_final_sgd", tmp_path / "notes.png")
    assert code == 1 and err.count("\n") == 1 and "not an image" in err
    code, _, err = run_program("tools.predict", "08_final_sgd", 3)
    assert code == 1 and err.count("\n") == 1 and "python 08_final_sgd.py" in err


def test_a_28x28_grey_image_passes_untouched_and_any_other_is_made_fashion_mnist_like(tmp_path):
    from PIL import Image, ImageDraw
    pixels = torch.randint(0, 256, (28, 28), dtype=torch.uint8)
    Image.frombytes("L", (28, 28), pixels.numpy().tobytes()).save(tmp_path / "small.png")
    assert torch.equal(predict.as_fashion_mnist(tmp_path / "small.png"), pixels.flatten().float() / 255)
    photo = Image.new("RGB", (300, 200), "white")  # a dark, wide object on a light background
    ImageDraw.Draw(photo).rectangle((50, 80, 249, 119), fill=(20, 20, 20))
    photo.save(tmp_path / "photo.jpg")
    image = predict.as_fashion_mnist(tmp_path / "photo.jpg").view(28, 28)
    lit = (image > 0.5).nonzero()
    assert image[0, 0] < 0.1  # inverted: a dark background
    assert lit[:, 1].min() == 0 and lit[:, 1].max() == 27  # its longest side fills the 28 pixels
    assert 10 <= lit[:, 0].min() and lit[:, 0].max() <= 17  # centred


def test_compare_draws_two_experiments_on_one_pair_of_axes(tiny_dir, lab, tmp_path):
    named = [quick_run(lab, tiny_dir, name)[0] for name in ("01_base", "05_lr01")]  # quick runs: by their folders
    code, out, err = run_program("tools.compare", *named, "--out", tmp_path / "c.png")
    assert code == 0, err
    assert (tmp_path / "c.png").read_bytes().startswith(b"\x89PNG")
    assert out.count("2 epochs, 1 seed; QUICK RUN, 300 training images: not a result") == 2, out
    fig = compare.compare([(runs.label(found), records.read(found)) for found in map(runs.find, named)])
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert [label.split(":")[0] for label in labels] == ["01_base/quick,seed=0", "05_lr01/quick,seed=0"]
    code, _, err = run_program("tools.compare", named[0], "09_nothing")
    assert code == 1 and "09_nothing" in err and err.count("\n") == 1


def test_a_record_of_another_format_is_refused_in_one_line_by_what_reads_it(tiny_dir, lab):
    """One record format: a record without this format's version (as the lab wrote them before 2026-12) is named,
    with what to do, by every reader, never read half-way."""
    folder, record = quick_run(lab, tiny_dir, "01_base")
    del record["format"]
    (folder / places.RESULTS).write_text(json.dumps(record))
    for program, *arguments in (("tools.compare", str(folder), str(folder)), ("tools.predict", str(folder), "0")):
        code, _, err = run_program(program, *arguments)
        assert code == 1 and err.count("\n") == 1, err
        assert f"has record format None, and this lab reads format {records.RECORD_FORMAT}; remake it" in err
    with pytest.raises(UserError, match="has record format None"):
        trained.load(folder)
