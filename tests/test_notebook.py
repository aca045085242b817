"""The lab as the course's notebook: lab.ipynb is committed without outputs, runs end to end in Jupyter's own
runner (nbclient) in its quick mode on the tests' tiny data, its experiments are the scripts' own settings, and
outside the lab's folder its first cell says what it needs."""
import ast
import os
import re
import shutil

import nbformat
import pytest
from nbclient import NotebookClient

from conftest import ROOT
from tools import experiments

NOTEBOOK = nbformat.read(ROOT / "lab.ipynb", as_version=4)
CODE = [cell for cell in NOTEBOOK.cells if cell.cell_type == "code"]


def test_the_committed_notebook_has_no_outputs():
    assert all(not cell.outputs and cell.execution_count is None for cell in CODE)


def test_each_experiment_cell_runs_its_script_s_own_settings():
    found = {}
    for cell in CODE:
        match = re.search(r'common\.run\("notebook_(\w+)"(.*?)quick=QUICK\)', cell.source)
        if match:
            call = ast.parse(f"f({match.group(2).strip().strip(',')})").body[0].value
            found[match.group(1)] = {k.arg: ast.literal_eval(k.value) for k in call.keywords}
    scripts = {name: experiments.read(ROOT / f"{name}.py").keywords for name in found}
    assert found == scripts and len(found) == 8


def test_the_notebook_runs_end_to_end_in_quick_mode(tmp_path, tiny_dir, monkeypatch):
    """In a copy of the lab (its runs/ then the copy's own), as Jupyter runs it: every cell, in one kernel."""
    for path in [ROOT / "common.py", ROOT / "lab.ipynb", *ROOT.glob("[0-9][0-9]_*.py")]:
        shutil.copy(path, tmp_path / path.name)
    shutil.copytree(ROOT / "tools", tmp_path / "tools",
                    ignore=shutil.ignore_patterns("searches", "calibration", "__pycache__"))
    monkeypatch.setenv("FASHION_MNIST_DIR", str(tiny_dir))
    monkeypatch.setenv("LAB_NOTEBOOK_QUICK", "1")
    monkeypatch.delenv("LAB_LANG", raising=False)
    notebook = nbformat.read(tmp_path / "lab.ipynb", as_version=4)
    NotebookClient(notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    table = [o for o in outputs if "text/markdown" in o.get("data", {})]
    assert "| 08_final_sgd | MLP 784-512-256-10" in table[0].data["text/markdown"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) == 1 + 8 + 1  # the mosaic, each experiment's figure, the predictions
    for name in ("01_base", "04_batch1000", "08_final_sgd"):
        assert (tmp_path / "runs" / f"notebook_{name}" / "quick,seed=0" / "results.json").is_file()


def test_outside_the_lab_s_folder_the_first_cell_says_what_it_needs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit, match="set LAB_REPOSITORY to the lab's git address"):
        exec(CODE[0].source, {})
    assert os.getcwd() == str(tmp_path)
