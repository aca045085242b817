"""Every run in TensorBoard: a run's folder holds event files with its record's history, its settings and final
figures (HParams), a precision-recall curve per class, the predictions, the graph and a projector of the last
hidden layer; the lab's record trained by run_all brings each seed's events from the trainings it started."""
import json
import struct

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import common
from conftest import ROOT, run_program
from tools import board, places, run_all

CURVES = {f"{name}/{curve}": f"{prefix}_{metric}" for metric, name in (("loss", "loss"), ("acc", "accuracy"))
          for prefix, curve in board.CURVES}


def as_stored(value: float) -> float:
    """A float as an event file keeps a scalar: 32 bits."""
    return struct.unpack("f", struct.pack("f", value))[0]


def events(folder):
    accumulator = EventAccumulator(str(folder), size_guidance={"scalars": 0, "tensors": 0, "images": 0})
    accumulator.Reload()
    return accumulator


def test_a_quick_run_writes_its_record_s_history_settings_curves_and_projector_beside_its_results(lab, tiny_dir):
    code, _, err = run_program(lab / "01_base.py", "--quick", "--data-dir", tiny_dir)
    assert code == 0, err
    folder = places.RUNS / "01_base" / "quick,seed=0"
    record = json.loads((folder / places.RESULTS).read_text())
    history = record["runs"][0]["history"]
    found = events(folder / board.FOLDER / "seed=0")
    for tag, key in {**CURVES, "learning rate": "lr"}.items():
        assert [(e.step, e.value) for e in found.Scalars(tag)] == [
            (epoch, as_stored(value)) for epoch, value in enumerate(history[key], 1)], tag
    assert "INCORRECT" in " ".join(found.Tags()["scalars"])
    assert found.Scalars("final/validation accuracy")[0].value == as_stored(history["val_acc"][-1])
    hparams = found.PluginTagToContent("hparams")
    assert b"experiment" in hparams["_hparams_/session_start_info"] and b"01_base" in \
        hparams["_hparams_/session_start_info"]
    assert sorted(found.PluginTagToContent("pr_curves")) == sorted(f"precision-recall/{c}" for c in common.CLASSES)
    assert found.Tags()["images"] == ["predictions against the truth"] and found.Tags()["graph"]
    projector = (folder / board.FOLDER / "seed=0" / "projector_config.pbtxt").read_text()
    assert 'tensor_name: "last hidden layer:00002"' in projector and "sprite" in projector
    [labels] = (folder / board.FOLDER / "seed=0").glob("*/last hidden layer/metadata.tsv")
    names = labels.read_text().splitlines()
    assert len(names) == min(board.PROJECTED, record["data"]["val_size"]) and set(names) <= set(common.CLASSES)
    [tensors] = labels.parent.glob("tensors.tsv")
    assert len(tensors.read_text().splitlines()[0].split("\t")) == 64  # the base's last hidden layer: 64 units
    assert not (folder / board.STAGING).exists()


def test_run_all_brings_each_seed_s_events_into_the_run_s_folder(lab, tiny_dir, monkeypatch):
    monkeypatch.setenv("FASHION_MNIST_DIR", str(tiny_dir))
    code, _, err = run_program("tools.run_all", "01_base", "--seeds", 2, "--quick")
    assert code == 0, err
    folder = places.RUNS / "01_base" / "quick,seeds=0-1"
    record = json.loads((folder / places.RESULTS).read_text())
    for run in record["runs"]:
        found = events(folder / board.FOLDER / f"seed={run['seed']}")
        assert [e.value for e in found.Scalars("accuracy/validation")] == list(map(as_stored, run["history"]["val_acc"]))
