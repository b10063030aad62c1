"""Puts this folder on sys.path so the tests import their one sim helper, ``sim_bench``."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
