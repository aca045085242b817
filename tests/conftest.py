"""A tiny made-up Fashion-MNIST written as real IDX files, so every test goes through the same loading
code as the real data and none needs the network or the real dataset."""
import dataclasses
import gzip
import importlib
import io
import os
import runpy
import shutil
import struct
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from unittest import mock

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import common  # noqa: E402
from tools import data as datafiles, places, records  # noqa: E402

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
        images_name, labels_name = datafiles.SPLIT_FILES[split]
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


@pytest.fixture(autouse=True)
def english_unless_a_test_says(monkeypatch):
    """A user's LAB_LANG=es (the README suggests it for make) must not change what the tests draw."""
    monkeypatch.delenv("LAB_LANG", raising=False)


@pytest.fixture(autouse=True)
def threads_as_they_were():
    """A training sets torch's thread count for the whole process; no test may inherit another's."""
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


@pytest.fixture
def no_data_anywhere(tmp_path, monkeypatch):
    """Every place the data is looked for is empty, and the network is unreachable."""
    monkeypatch.delenv("FASHION_MNIST_DIR", raising=False)
    monkeypatch.setattr(datafiles, "PROJECT_DATA_DIR", tmp_path / "project-data")
    monkeypatch.setattr(datafiles, "DEBIAN_DATA_DIR", tmp_path / "debian")

    def unreachable(folder):
        raise OSError("<urlopen error [Errno -3] Temporary failure in name resolution>")
    monkeypatch.setattr(datafiles, "download", unreachable)
    return tmp_path


def real_data_or_skip() -> common.Data:
    for place in (datafiles.DEBIAN_DATA_DIR, datafiles.PROJECT_DATA_DIR):
        if datafiles.find_files(place):
            return common.load_data(str(place))
    pytest.skip("the real Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)")


def run_program(path_or_module: str | Path, *flags) -> tuple[int, str, str]:
    """A script (a path) or a tool (`tools.report`) run in this process as `python path flags` or `python -m module
    flags` runs it: its exit status and what it printed to stdout and stderr. Saves a Python start and torch's
    import per run; the tests that are about the process itself start one."""
    out, err = io.StringIO(), io.StringIO()
    argv = [str(path_or_module), *map(str, flags)]
    with mock.patch.object(sys, "argv", argv), redirect_stdout(out), redirect_stderr(err):
        try:
            if isinstance(path_or_module, Path):
                runpy.run_path(str(path_or_module), run_name="__main__")
            else:
                # the module as imported, so that what a test patched in it (calibrate.FOLDER) is what runs
                importlib.import_module(path_or_module).main()
            code = 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) or e.code is None else 1
            if not isinstance(e.code, (int, type(None))):
                print(e.code, file=err)
    return code or 0, out.getvalue(), err.getvalue()


@pytest.fixture
def lab(tmp_path, monkeypatch) -> Path:
    """A lab of its own for the test: a copy of the lab's experiment scripts, and runs/, figures/ and results/
    under a temporary folder, so that no test writes into the project's (nor depends on what a user has run there)."""
    for script in ROOT.glob("[0-9][0-9]_*.py"):
        shutil.copy2(script, tmp_path / script.name)  # a copy, not a link: a test may write over its own
    monkeypatch.setattr(places, "ROOT", tmp_path)
    monkeypatch.setattr(places, "RUNS", tmp_path / "runs")
    return tmp_path


@pytest.fixture(scope="session")
def postgres_server():
    """A PostgreSQL 15 server of the session's own (tools/postgres.py). Without one installed the tests that need
    it skip, except in CI (the CI variable set), where that is a failure: CI installs it."""
    from tools import postgres
    if not postgres.installed():
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL 15 is not installed ({postgres.BIN}), and CI must run its tests: "
                        "apt-get install postgresql")
        pytest.skip(f"PostgreSQL 15 is not installed ({postgres.BIN}); apt-get install postgresql")
    server = postgres.start()
    yield server
    postgres.stop(server)


def a_record(name: str, histories: list[dict], **config) -> dict:
    """A results record of the lab's format, every field filled as a run fills it, with these histories (one per
    seed) and these changes of Config."""
    shown = dict(index=[0], predicted=[0], probability=[0.9], true=[0])
    runs = [{"seed": seed, "seconds": 30.0, "history": h,
             "confusion": [[100 if i == j else 1 for j in range(10)] for i in range(10)],
             "shown": shown, "mistakes": shown, "weights": {"file": f"seed={seed}.pt", "checksum": "0" * 16}}
            for seed, h in enumerate(histories)]
    return {"format": records.RECORD_FORMAT, "experiment": name, "script": None,
            "config": dataclasses.asdict(dataclasses.replace(common.Config(), epochs=len(histories[0]["val_acc"]),
                                                              **config)),
            "changed": {}, "quick": False, "seeds": len(runs), "torch": "2", "data": {
                "source": "made up", "train_size": 60_000, "val_size": 10_000, "validation": "test", "scaling": [0, 1]},
            "schedule": "no schedule", "loss": "Cross-entropy, the report's loss",
            "step": "One batch: forward, loss, backward, one optimizer step", "differs": [], "runs": runs,
            "model": "MLP 784-128-64-10, ReLU, dropout 0.2", "parameters": 109_386, "layers": "Sequential()",
            "optimizer": "SGD lr 0.001"}
