"""Which lab config a session or command uses, and why.

Precedence: an explicit path (``--config``), else ``$QNETLAB_CONFIG``, else the user's
config file (``~/.config/qnetlab/lab.yaml``, platformdirs' user config directory), else
the simulated lab shipped inside the package (``qnetlab/data/sim_lab.yaml``), so a
``pip install``-ed qnetlab runs from any directory.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ENV_CONFIG = "QNETLAB_CONFIG"
PACKAGED_CONFIG = Path(__file__).resolve().parent / "data" / "sim_lab.yaml"


@dataclass(frozen=True)
class ConfigSource:
    """A resolved lab config file and where the choice came from (``--config``, ``$QNETLAB_CONFIG``...)."""

    path: Path
    origin: str

    def __str__(self) -> str:
        return f"{self.path} (from {self.origin})"


def user_config_file() -> Path:
    """The per-user lab config, e.g. ``~/.config/qnetlab/lab.yaml`` on Linux."""
    from platformdirs import user_config_dir

    return Path(user_config_dir("qnetlab", appauthor=False)) / "lab.yaml"


def resolve_config(explicit: str | Path | None = None) -> ConfigSource:
    """The lab config to use (see the module docstring for the order)."""
    if explicit is not None:
        return ConfigSource(Path(explicit), "--config")
    if os.environ.get(ENV_CONFIG):
        return ConfigSource(Path(os.environ[ENV_CONFIG]), f"${ENV_CONFIG}")
    user_file = user_config_file()
    if user_file.is_file():
        return ConfigSource(user_file, "the user config directory")
    return ConfigSource(PACKAGED_CONFIG, "the simulated lab shipped with qnetlab")
