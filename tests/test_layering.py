"""The import-linter contracts of pyproject.toml hold, and catch a driver that imports ophyd.

import-linter walks the files of the installed package, so the checkout is staged in the
installed layout (``qnetlab/<layer>``) first.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from installed_layout import stage


def _lint(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())",
            "--config",
            str(root / "pyproject.toml"),
            "--no-cache",
        ],
        cwd=root,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(root), "PATH": ""},
    )


def test_contracts_are_kept(tmp_path):
    result = _lint(stage(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_contract_breaks_when_a_driver_imports_ophyd(tmp_path):
    root = stage(tmp_path)
    (root / "qnetlab" / "drivers" / "sneaky.py").write_text("import ophyd\n")
    result = _lint(root)
    assert result.returncode != 0
    assert "Drivers import no ophyd" in result.stdout and "BROKEN" in result.stdout
