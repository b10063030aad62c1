"""The limit keys a config may give are exactly the numeric settable driver parameters of each kind.

``load_config`` checks ``limits`` keys against each config model's ``limited_settings``
without importing a device; this test keeps those names true to the devices and drivers
(built on the twins of config/sim_lab.yaml, which has one instrument of every kind).
"""

from __future__ import annotations

import numbers

from qnetlab.instruments._signals import DriverSignal
from qnetlab.instruments.registry import MODELS


def _numeric_settable_parameters(device) -> set[str]:
    names = set()
    for walked in device.walk_signals(include_lazy=True):
        item = walked.item
        if isinstance(item, DriverSignal) and not item.read_only:
            value = item.get()
            if isinstance(value, numbers.Real) and not isinstance(value, bool):
                names.add(item.parameter_name)
    return names


def test_limited_settings_are_the_numeric_settable_parameters_of_every_kind(sim_lab):
    kinds_seen = set()
    for name, device in sim_lab.devices.items():
        entry = sim_lab.config.instruments[name]
        kinds_seen.add(entry.kind)
        assert set(type(entry).limited_settings) == _numeric_settable_parameters(device), name
    assert kinds_seen == set(MODELS)


def test_every_kind_of_the_registry_has_a_config_model_with_its_names():
    for kind, model in MODELS.items():
        assert model.config.kind_name() == kind
        assert len(set(model.config.limited_settings)) == len(model.config.limited_settings)
