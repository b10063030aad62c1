"""pyproject lists every package of the checkout under the one top-level name qnetlab."""

from __future__ import annotations

import tomllib

from installed_layout import LAYERS, REPO


def _folders_with_init() -> set[str]:
    names = set()
    for init in REPO.glob("*/**/__init__.py"):
        parts = init.parent.relative_to(REPO).parts
        if parts[0] in LAYERS:
            names.add(".".join(("qnetlab", *parts)))
        elif parts[0] == "qnetlab":
            names.add(".".join(parts))
    return names


def test_every_package_is_listed_under_qnetlab():
    setuptools = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert set(setuptools["packages"]) == _folders_with_init()
    assert all(name == "qnetlab" or name.startswith("qnetlab.") for name in setuptools["packages"])
    assert setuptools["package-dir"] == {f"qnetlab.{layer}": layer for layer in LAYERS}


def test_a_checkout_imports_its_own_layers():
    from qnetlab import analysis, drivers, plans

    for module in (analysis, drivers, plans):
        assert module.__file__.startswith(str(REPO)), module.__file__
