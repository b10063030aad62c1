"""The worked examples in notebooks/ run from top to bottom and show their plots.

Each executed notebook, outputs and plots included, is kept for a reader in
``$QNETLAB_NOTEBOOK_OUTPUT_DIR``, else in ``build/notebooks/`` of the checkout (ignored by
git), so a CI run of the suite leaves them beside its other artefacts.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))


def _kept_dir() -> Path:
    return Path(os.environ.get("QNETLAB_NOTEBOOK_OUTPUT_DIR") or REPO / "build" / "notebooks")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(path):
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(
        notebook, timeout=240, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    keep = _kept_dir()
    keep.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, keep / path.name)
    outputs = [o for cell in notebook.cells for o in cell.get("outputs", [])]
    errors = [f"{o.get('ename')}: {o.get('evalue')}" for o in outputs if o.get("output_type") == "error"]
    assert not errors, errors
    images = [o["data"]["image/png"] for o in outputs if "image/png" in o.get("data", {})]
    assert images, "the notebook shows no plot (inline backend?)"
    for number, image in enumerate(images):  # each plot also as a PNG, to look at
        (keep / f"{path.stem}-{number}.png").write_bytes(base64.b64decode(image))


def test_there_are_notebooks():
    assert NOTEBOOKS
