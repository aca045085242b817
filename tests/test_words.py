"""Figures in the report's Spanish: every word of a figure drawn with --lang es (or LAB_LANG=es) is Spanish, the
classes too; the lab's own figures stay English; an unknown language is one line; nothing of it outlasts the run."""
import os

import matplotlib.text
import pytest
import torch

import common
from conftest import a_record, run_program
from tools import compare, files, places, records, report, words

HISTORY = dict(train_loss=[1.0, 0.5], val_loss=[1.1, 0.6], running_loss=[1.2, 0.7], train_acc=[0.6, 0.8],
               val_acc=[0.55, 0.75], running_acc=[0.5, 0.7], lr=[0.001, 0.001], epoch_seconds=[1.0, 1.0])
ENGLISH = ("epoch", "accuracy", "training", "validation", "seed", "mean", "parameters", "batch", "images", "class",
           "Shirt", "Trouser", "WRONG", "true:")


def texts(fig) -> str:
    return "\n".join(t.get_text() for t in fig.findobj(matplotlib.text.Text) if t.get_text())


@pytest.mark.parametrize("figure", ["experiment", "overview", "confusion", "grid", "compare"])
def test_a_figure_in_spanish_has_no_english_word_left(figure):
    record = dict(a_record("01_base", [HISTORY, HISTORY]), quick=True)
    record["runs"][0]["shown"] = dict(index=[0, 1], predicted=[6, 1], probability=[0.9, 0.8], true=[0, 1])
    draw = {"experiment": lambda: common.draw(record),
            "overview": lambda: report.overview({"01_base": record, "02_adam": record}),
            "confusion": lambda: report.confusion(record),
            "grid": lambda: report.image_grid(record, "shown", torch.zeros(2, 784).numpy(), common.CLASSES),
            "compare": lambda: compare.compare([("01_base", record), ("02_adam", record)])}[figure]
    with words.speaking("es"):
        said = texts(draw())
    english = texts(draw())
    for word in ENGLISH:
        assert word not in said.replace("Cross Entropy Loss", ""), (word, said)
    assert any(word in said for word in ("época", "Camisa", "Camiseta/top")), said
    assert said != english and ("epoch" in english or "Shirt" in english)
    if figure == "experiment":
        assert "entrenamiento INCORRECTO" in said and "PRUEBA RÁPIDA" in said and "INCORRECT training" in english


def test_a_script_draws_in_spanish_and_the_lab_s_own_figure_stays_english(lab, tiny_dir, monkeypatch):
    monkeypatch.delenv(words.ENVIRONMENT, raising=False)
    monkeypatch.setattr(places, "FULL_DATA", dict(train_size=300, val_size=100))  # the tiny data as the whole set
    monkeypatch.setattr(common.Config, "epochs", 2)  # as if 2 were the script's own epochs
    code, _, err = run_program(lab / "03_no_dropout.py", "--seeds", 3, "--lang", "es", "--data-dir", tiny_dir)
    assert code == 0, err
    folder = places.RUNS / "03_no_dropout" / "seeds=0-2"
    record = records.read(folder / places.RESULTS)
    lab_figure = places.lab_files("03_no_dropout")[0].read_bytes()
    english = files.png_bytes(common.draw(record), source=records.digest((folder / places.RESULTS).read_bytes()))
    assert lab_figure == english != (folder / places.FIGURE).read_bytes()
    code, _, err = run_program(lab / "01_base.py", "--quick", "--lang", "es", "--data-dir", tiny_dir)
    assert code == 0, err
    assert words.current() == "en" and words.ENVIRONMENT not in os.environ  # as it was before the runs


@pytest.mark.parametrize("program, argv", [("01_base.py", ("--quick", "--lang", "xx")),
                                           ("tools.compare", ("02_adam", "05_lr01", "--lang", "xx"))])
def test_an_unknown_language_is_one_line_that_lists_those_there_are(program, argv, lab, tiny_dir):
    code, out, err = run_program(lab / program if program.endswith(".py") else program, *argv)
    name = program.removesuffix(".py").replace("tools.", "")
    assert (code, err) == (1, f"{name}: error: --lang: no language 'xx'; there are en (English), es (español)\n")
    assert not places.RUNS.exists()


def test_an_unknown_language_in_the_environment_is_refused_before_training(lab, tiny_dir, monkeypatch):
    monkeypatch.setenv(words.ENVIRONMENT, "fr")
    code, out, err = run_program(lab / "01_base.py", "--quick", "--data-dir", tiny_dir)
    assert (code, err) == (1, "01_base: error: $LAB_LANG: no language 'fr'; there are en (English), es (español)\n")
    assert not places.RUNS.exists()


def test_a_figure_drawn_in_spanish_keeps_its_language_in_its_digest(lab, tiny_dir, monkeypatch):
    """So that a later English report into the same folder draws it again rather than take it as up to date."""
    monkeypatch.setenv("FASHION_MNIST_DIR", str(tiny_dir))
    code, _, err = run_program("tools.run_all", "01_base", "--seeds", 1, "--quick", "--lang", "es", "--out",
                               lab / "mine")
    assert code == 0, err
    figure, results = places.lab_files("01_base", lab / "mine")
    assert files.png_source(figure) == records.digest(results.read_bytes()) + " es"
