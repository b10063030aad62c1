"""The O(n·m) reference implementations, as the session fixture ``ref``."""

import importlib.util
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def ref():
    path = Path(__file__).with_name("timetags_reference.py")
    spec = importlib.util.spec_from_file_location("timetags_reference", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
