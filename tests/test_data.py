import gzip

import pytest
import torch

import common
from conftest import (ROOT, TINY_TRAIN_PER_CLASS, TINY_VAL_PER_CLASS, make_split, real_data_or_skip, run_program,
                      write_dataset, write_idx)
from tools import data as datafiles
from tools.files import UserError


def test_tiny_split_shapes_dtypes_and_range(tiny_data):
    assert tiny_data.train_x.shape == (10 * TINY_TRAIN_PER_CLASS, 784)
    assert tiny_data.val_x.shape == (10 * TINY_VAL_PER_CLASS, 784)
    assert tiny_data.train_x.dtype == torch.float32 and tiny_data.train_y.dtype == torch.int64
    assert 0 <= tiny_data.train_x.min() and tiny_data.train_x.max() == 1.0


def test_loaded_pixels_and_labels_are_those_written(tiny_data):
    images, labels = make_split(TINY_TRAIN_PER_CLASS, seed=1)
    assert torch.equal(tiny_data.train_y, labels.long())
    assert torch.allclose(tiny_data.train_x * 255, images.reshape(-1, 784).float(), atol=1e-4)
    assert torch.equal(torch.bincount(tiny_data.train_y, minlength=10), torch.full((10,), TINY_TRAIN_PER_CLASS))


@pytest.mark.parametrize("gz", [True, False])
@pytest.mark.parametrize("layout", ["", "FashionMNIST/raw"])
def test_files_are_found_gzipped_or_not_flat_or_in_torchvision_layout(tmp_path, gz, layout, tiny_data):
    data = datafiles.load_data(str(write_dataset(tmp_path, gz=gz, layout=layout)))
    assert torch.equal(data.train_x, tiny_data.train_x) and torch.equal(data.val_y, tiny_data.val_y)


def test_search_order_data_dir_before_environment(tmp_path, monkeypatch, no_data_anywhere):
    first, second = write_dataset(tmp_path / "first"), write_dataset(tmp_path / "second")
    monkeypatch.setenv("FASHION_MNIST_DIR", str(second))
    assert datafiles.load_data(str(first)).source == first
    assert datafiles.load_data(None).source == second
    monkeypatch.delenv("FASHION_MNIST_DIR")
    write_dataset(datafiles.PROJECT_DATA_DIR)
    write_dataset(datafiles.DEBIAN_DATA_DIR)
    assert datafiles.load_data(None).source == datafiles.PROJECT_DATA_DIR


def test_missing_data_is_one_clear_line(no_data_anywhere):
    with pytest.raises(UserError) as error:
        datafiles.load_data(None)
    message = str(error.value)
    assert "\n" not in message
    assert "apt-get install dataset-fashion-mnist" in message and "internet" in message
    assert str(datafiles.DEBIAN_DATA_DIR) in message and "name resolution" in message


def test_damaged_files_are_an_error_not_a_reason_to_look_elsewhere(tmp_path, monkeypatch, no_data_anywhere):
    write_dataset(datafiles.DEBIAN_DATA_DIR)  # good data further down the list must not be used instead
    broken = write_dataset(tmp_path / "broken")
    path = broken / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(UserError, match="damaged"):
        datafiles.load_data(str(broken))


def test_truncated_uncompressed_file_is_caught_by_its_header(tmp_path):
    folder = write_dataset(tmp_path, gz=False)
    path = folder / "t10k-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-28])
    with pytest.raises(UserError, match="truncated or corrupt"):
        datafiles.load_data(str(folder))


def test_a_file_that_is_not_idx_is_refused(tmp_path):
    folder = write_dataset(tmp_path)
    (folder / "train-labels-idx1-ubyte.gz").write_bytes(gzip.compress(b"<html>404 Not Found</html>"))
    with pytest.raises(UserError, match="not an IDX file"):
        datafiles.load_data(str(folder))


def test_a_folder_with_some_of_the_files_names_the_missing_ones(tmp_path):
    folder = write_dataset(tmp_path)
    (folder / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(UserError, match="missing t10k-labels-idx1-ubyte"):
        datafiles.load_data(str(folder))


def test_real_data_shapes_and_class_balance():
    data = real_data_or_skip()
    assert data.train_x.shape == (60_000, 784) and data.val_x.shape == (10_000, 784)
    assert torch.equal(torch.bincount(data.train_y, minlength=10), torch.full((10,), 6000))
    assert torch.equal(torch.bincount(data.val_y, minlength=10), torch.full((10,), 1000))
    assert data.train_x.min() == 0 and data.train_x.max() == 1


@pytest.mark.parametrize("how", ["missing", "empty"])
@pytest.mark.parametrize("who", ["--data-dir", "FASHION_MNIST_DIR"])
def test_a_folder_the_user_names_is_used_or_refused_never_passed_over(tmp_path, monkeypatch, no_data_anywhere, how,
                                                                        who):
    write_dataset(datafiles.PROJECT_DATA_DIR)  # good data further down the list must not be used instead
    named = tmp_path / "named"
    if how == "empty":
        named.mkdir()
    if who == "FASHION_MNIST_DIR":
        monkeypatch.setenv("FASHION_MNIST_DIR", str(named))
    with pytest.raises(UserError) as error:
        datafiles.load_data(str(named) if who == "--data-dir" else None)
    message = str(error.value)
    assert message.startswith(f"{who} names {named}, which ")
    assert ("is not a folder" if how == "missing" else "holds none of the four Fashion-MNIST files") in message
    assert "\n" not in message


def test_a_named_folder_that_does_not_exist_stops_the_script_with_one_line(tmp_path):
    nowhere = tmp_path / "nowhere"
    code, _, stderr = run_program(ROOT / "01_base.py", "--quick", "--data-dir", nowhere, "--out", tmp_path / "out")
    assert code == 1 and stderr.count("\n") == 1 and "Traceback" not in stderr
    assert f"--data-dir names {nowhere}, which is not a folder" in stderr
    assert not (tmp_path / "out").exists()


def rewrite(folder, name, array):
    write_idx(folder / (name + ".gz"), array)


def test_a_label_above_9_is_refused(tmp_path):
    folder = write_dataset(tmp_path)
    _, labels = make_split(TINY_VAL_PER_CLASS, seed=2)
    labels[3] = 10
    rewrite(folder, "t10k-labels-idx1-ubyte", labels)
    with pytest.raises(UserError, match="t10k-labels-idx1-ubyte.gz holds label 10, and Fashion-MNIST has "
                                        "classes 0-9; delete it"):
        datafiles.load_data(str(folder))


def test_images_that_are_not_28x28_are_refused(tmp_path):
    folder = write_dataset(tmp_path)
    rewrite(folder, "train-images-idx3-ubyte", torch.zeros(10 * TINY_TRAIN_PER_CLASS, 32, 32, dtype=torch.uint8))
    with pytest.raises(UserError, match=r"train-images-idx3-ubyte.gz holds \(300, 32, 32\), not 28x28 images"):
        datafiles.load_data(str(folder))


def test_a_label_count_other_than_the_image_count_is_refused(tmp_path):
    folder = write_dataset(tmp_path)
    _, labels = make_split(TINY_TRAIN_PER_CLASS, seed=1)
    rewrite(folder, "train-labels-idx1-ubyte", labels[:-1])
    with pytest.raises(UserError, match=r"train-labels-idx1-ubyte.gz holds \(299,\) labels for 300 images"):
        datafiles.load_data(str(folder))


def test_inputs_scaled_as_asked_with_the_training_set_s_statistics_for_both_splits(tiny_dir):
    unit = datafiles.load_data(str(tiny_dir))
    symmetric = datafiles.load_data(str(tiny_dir), inputs="symmetric")
    standard = datafiles.load_data(str(tiny_dir), inputs="standard")
    assert unit.train_x.min() == 0 and unit.train_x.max() == 1
    assert torch.equal(symmetric.train_x, (unit.train_x - 0.5) / 0.5) and symmetric.train_x.min() == -1
    assert torch.equal(symmetric.val_x, (unit.val_x - 0.5) / 0.5)
    mean, sd = unit.train_x.mean(), unit.train_x.std()
    assert standard.train_x.mean().abs() < 1e-5 and (standard.train_x.std() - 1).abs() < 1e-5
    assert torch.allclose(standard.val_x, (unit.val_x - mean) / sd)  # the training set's figures, not its own
    assert standard.val_x.mean().abs() > 1e-3
    assert torch.equal(standard.train_y, unit.train_y)


def test_the_lesson_re_exports_the_data_it_loads():
    """common keeps Data, load_data and UserError for notebooks and the scripts: the very objects, not copies."""
    assert common.load_data is datafiles.load_data and common.Data is datafiles.Data
    assert common.UserError is UserError


def test_the_data_tool_prints_the_folder_that_holds_the_files(tiny_dir):
    code, stdout, stderr = run_program("tools.data", "--data-dir", tiny_dir)
    assert (code, stdout, stderr) == (0, f"{tiny_dir}\n", "")


def test_the_data_tool_refuses_a_missing_folder_in_one_line(tmp_path):
    code, stdout, stderr = run_program("tools.data", "--data-dir", tmp_path / "nowhere")
    assert code == 1 and stdout == "" and stderr.count("\n") == 1 and "Traceback" not in stderr
    assert stderr.startswith(f"data: error: --data-dir names {tmp_path / 'nowhere'}, which is not a folder")
