"""Import the layers from a source checkout, where they are the repository's top folders.

An installed qnetlab holds ``qnetlab/drivers``, ``qnetlab/plans``... (pyproject maps each
top-level folder to its subpackage). In a clone they sit beside ``qnetlab/``; when Python
imports ``qnetlab`` from a clone (IPython or pytest started in its root), this finder maps
``qnetlab.<layer>`` to ``<clone>/<layer>`` so the clone's own code runs, as installed.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
from pathlib import Path

LAYERS = ("drivers", "instruments", "plans", "sim_backends", "analysis")


class LayerFinder(importlib.abc.MetaPathFinder):
    """Finds ``qnetlab.<layer>`` in ``<root>/<layer>``; everything below follows ``__path__``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def find_spec(self, fullname, path=None, target=None) -> importlib.machinery.ModuleSpec | None:
        package, _, layer = fullname.partition(".")
        if package != "qnetlab" or layer not in LAYERS:
            return None
        folder = self.root / layer
        return importlib.util.spec_from_file_location(
            fullname, folder / "__init__.py", submodule_search_locations=[str(folder)]
        )


def install(package_dir: Path) -> None:
    """Put a LayerFinder first on ``sys.meta_path`` if ``package_dir`` lies in a clone."""
    root = package_dir.parent
    if (package_dir / "drivers").is_dir() or not (root / "drivers" / "__init__.py").is_file():
        return  # an installed package, or not a checkout
    if not any(isinstance(f, LayerFinder) and f.root == root for f in sys.meta_path):
        sys.meta_path.insert(0, LayerFinder(root))
