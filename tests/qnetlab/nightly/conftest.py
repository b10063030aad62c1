"""Fixtures of the nightly tests: contract-following step plans importable as ``nightly_step_plans``."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

SIM_LAB = HERE.parents[2] / "config" / "sim_lab.yaml"


@pytest.fixture
def write_nightly(tmp_path):
    """Write a nightly config (YAML text) to a file; returns its path."""

    def write(text: str) -> Path:
        path = tmp_path / "nightly.yaml"
        path.write_text(text)
        return path

    return write
