"""A tiny made-up Fashion-MNIST written as real IDX files, so every test goes through the same loading
code as the real data and none needs the network or the real dataset."""
import gzip
import struct
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import common  # noqa: E402

TINY_TRAIN_PER_CLASS, TINY_VAL_PER_CLASS = 30, 10


def write_idx(path: Path, array: torch.Tensor, gz: bool = True) -> Path:
    data = bytes([0, 0, 8, array.dim()]) + struct.pack(f">{array.dim()}I", *array.shape) + array.numpy().tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def make_split(per_class: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Noise with a bright band whose row depends on the class: learnable in a few steps."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(10).repeat_interleave(per_class)[torch.randperm(10 * per_class, generator=g)]
    images = torch.randint(0, 60, (len(labels), 28, 28), generator=g)
    for i, label in enumerate(labels.tolist()):
        images[i, 2 * label + 4: 2 * label + 7, 4:24] = 255
    return images.to(torch.uint8), labels.to(torch.uint8)


def write_dataset(folder: Path, gz: bool = True, layout: str = "") -> Path:
    for split, per_class, seed in (("train", TINY_TRAIN_PER_CLASS, 1), ("val", TINY_VAL_PER_CLASS, 2)):
        images, labels = make_split(per_class, seed)
        images_name, labels_name = common.SPLIT_FILES[split]
        suffix = ".gz" if gz else ""
        write_idx(folder / layout / (images_name + suffix), images, gz)
        write_idx(folder / layout / (labels_name + suffix), labels, gz)
    return folder


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory) -> Path:
    return write_dataset(tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="session")
def tiny_data(tiny_dir) -> common.Data:
    return common.load_data(str(tiny_dir))


@pytest.fixture
def no_data_anywhere(tmp_path, monkeypatch):
    """Every place the data is looked for is empty, and the network is unreachable."""
    monkeypatch.delenv("FASHION_MNIST_DIR", raising=False)
    monkeypatch.setattr(common, "PROJECT_DATA_DIR", tmp_path / "project-data")
    monkeypatch.setattr(common, "DEBIAN_DATA_DIR", tmp_path / "debian")

    def unreachable(folder):
        raise OSError("<urlopen error [Errno -3] Temporary failure in name resolution>")
    monkeypatch.setattr(common, "download", unreachable)
    return tmp_path


def real_data_or_skip() -> common.Data:
    for place in (common.DEBIAN_DATA_DIR, common.PROJECT_DATA_DIR):
        if common.find_files(place):
            return common.load_data(str(place))
    pytest.skip("the real Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)")
