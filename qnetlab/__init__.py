"""qnetlab: run a quantum-networking optics lab from Python.

One package: ``qnetlab.drivers`` (one class per instrument model), ``qnetlab.instruments``
(ophyd devices, the lab from a config), ``qnetlab.plans`` (Bluesky plans),
``qnetlab.sim_backends`` (the simulated world and emulators), ``qnetlab.analysis`` (pure
functions over recorded data), and here the session, the CLI and the catalog wiring.

``from qnetlab import session, plans; s = session.start("config/sim_lab.yaml")``
"""

from pathlib import Path as _Path

from qnetlab import _checkout

_checkout.install(_Path(__file__).resolve().parent)

__all__ = ["analysis", "drivers", "instruments", "plans", "sim_backends"]


def __getattr__(name: str):
    """``from qnetlab import plans`` and ``qnetlab.plans`` import the layer on first use."""
    if name in _checkout.LAYERS:
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'qnetlab' has no attribute {name!r}")
