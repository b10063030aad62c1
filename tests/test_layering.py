"""The import-linter contracts of pyproject.toml hold, and catch a driver that imports ophyd."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("qnetlab", "plans", "instruments", "drivers", "sim_backends", "analysis")


def _lint(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())",
         "--config", str(root / "pyproject.toml"), "--no-cache"],
        cwd=root, capture_output=True, text=True, env={"PYTHONPATH": str(root), "PATH": ""},
    )


def test_contracts_are_kept():
    result = _lint(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_contract_breaks_when_a_driver_imports_ophyd(tmp_path):
    for package in PACKAGES:
        shutil.copytree(REPO / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "drivers" / "sneaky.py").write_text("import ophyd\n")
    result = _lint(tmp_path)
    assert result.returncode != 0
    assert "Drivers import no ophyd" in result.stdout and "BROKEN" in result.stdout
