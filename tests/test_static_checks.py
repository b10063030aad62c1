"""Ruff (lint and format) and basedpyright (standard mode) pass on the tree, as configured in pyproject."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from installed_layout import REPO, stage


def _tool(name: str) -> str:
    found = Path(sys.executable).with_name(name)
    return str(found) if found.exists() else (shutil.which(name) or name)


def test_ruff_lint_and_format_are_clean():
    lint = subprocess.run([_tool("ruff"), "check", str(REPO)], capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout[-4000:]
    formatted = subprocess.run([_tool("ruff"), "format", "--check", str(REPO)], capture_output=True, text=True)
    assert formatted.returncode == 0, formatted.stdout[-4000:]


def test_pyright_standard_mode_finds_no_error(tmp_path):
    root = stage(tmp_path)  # the installed layout: pyright cannot follow package-dir mapping
    done = subprocess.run(
        [_tool("basedpyright"), "--pythonpath", sys.executable, "qnetlab"],
        cwd=root,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout[-4000:]
    assert "\n0 errors" in done.stdout
