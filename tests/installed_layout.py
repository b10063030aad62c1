"""Copy the checkout into the layout a wheel installs (qnetlab/<layer>), for tools that walk files."""

from __future__ import annotations

import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LAYERS = ("drivers", "instruments", "plans", "sim_backends", "analysis")


def stage(target: Path) -> Path:
    """Write ``target/qnetlab`` with every layer as a subfolder; returns ``target``."""
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(REPO / "qnetlab", target / "qnetlab", ignore=ignore)
    for layer in LAYERS:
        shutil.copytree(REPO / layer, target / "qnetlab" / layer, ignore=ignore)
    shutil.copy(REPO / "pyproject.toml", target / "pyproject.toml")
    return target


if __name__ == "__main__":  # python tests/installed_layout.py DEST: stage for pyright and other tools
    import sys

    dest = Path(sys.argv[1])
    shutil.rmtree(dest, ignore_errors=True)
    print(stage(dest))
