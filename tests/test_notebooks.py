"""The worked examples in notebooks/ run from top to bottom and show their plots.

Set ``QNETLAB_NOTEBOOK_OUTPUT_DIR`` (CI does) to keep each executed notebook, outputs and
plots included, for a reader.
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(path):
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(
        notebook, timeout=240, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    outputs = [o for cell in notebook.cells for o in cell.get("outputs", [])]
    if os.environ.get("QNETLAB_NOTEBOOK_OUTPUT_DIR"):
        keep = Path(os.environ["QNETLAB_NOTEBOOK_OUTPUT_DIR"])
        keep.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, keep / path.name)
    assert not [o for o in outputs if o.get("output_type") == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs), "the notebook shows no plot (inline backend?)"


def test_there_are_notebooks():
    assert NOTEBOOKS
