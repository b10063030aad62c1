"""The lab assembled from a config file: drivers, devices and, where ``sim: true``, twins.

``load_lab(path)`` validates the config, builds the simulated world when any
instrument is simulated, and builds each instrument through the registry
(:func:`qnetlab.instruments.registry.build_device`): each twin's emulator starts on a
loopback socket (or the emulated SDK is handed to the driver), the real driver connects
to it exactly as it would to hardware, and the driver is wrapped in its ophyd device.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qnetlab.instruments.config import ConfigError, LabConfig, SwabianTimeTaggerConfig, load_config
from qnetlab.instruments.world_config import WorldConfig

logger = logging.getLogger(__name__)


@dataclass
class Lab:
    """The devices of one lab, by config name (also as attributes: ``lab.laser``).

    ``defaults`` maps each role (``tagger``, ``transmitter``) to the instrument that plays
    it when a plan names none (the config's ``defaults``; see :meth:`default_device`).
    """

    config: LabConfig
    devices: dict = field(default_factory=dict)
    world: object | None = None
    emulators: dict = field(default_factory=dict)
    defaults: dict[str, str | None] = field(default_factory=dict)

    def default_device(self, role: str, *, required: bool = True) -> Any:
        """The device playing ``role`` by default; None if there is none and not ``required``."""
        name = self.defaults.get(role)
        if name is None:
            if required:
                raise ConfigError(
                    f"lab {self.config.name!r}: no default {role}; name one in the config (defaults: {{{role}: ...}})"
                )
            return None
        return self.devices[name]

    def __getattr__(self, name):
        devices = self.__dict__.get("devices", {})
        if name in devices:
            return devices[name]
        raise AttributeError(f"lab {self.config.name!r} has no device {name!r}; it has {sorted(devices)}")

    def __getitem__(self, name):
        return self.devices[name]

    def __iter__(self):
        return iter(self.devices.values())

    def __repr__(self) -> str:
        """One line per instrument: name, kind, address (or ``sim``), state."""
        rows = [("name", "kind", "address", "state")]
        for name, entry in self.config.instruments.items():
            device = self.devices.get(name)
            state = "closed" if device is None else ("connected" if device.connected else "disconnected")
            rows.append((name, entry.kind, "sim" if entry.sim else str(entry.address or "-"), state))
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        lines = [f"lab {self.config.name!r}: {len(self.config.instruments)} instruments"]
        lines += ["  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
        return "\n".join(lines)

    def close(self) -> None:
        """Disconnect every driver (all at once), then stop every emulator.

        The drivers close in parallel: pyserial's socket transport waits 0.3 s in each
        close (time for the far end before a reconnect), which one by one cost 1.5 s for
        the five motor controllers of the sim lab.
        """
        from concurrent.futures import ThreadPoolExecutor

        def close_one(name: str, device) -> None:
            try:
                device.close()
            except Exception as error:  # keep closing the others
                logger.warning("closing %s failed: %s", name, error)

        if self.devices:
            with ThreadPoolExecutor(max_workers=len(self.devices), thread_name_prefix="lab-close") as pool:
                list(pool.map(close_one, *zip(*self.devices.items(), strict=True)))
        for emulator in self.emulators.values():
            close = getattr(emulator, "close", None)
            if close:
                close()
        self.devices.clear()
        self.emulators.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def build_world(config: WorldConfig, taggers: dict[str, SwabianTimeTaggerConfig]):
    """The simulated world described by the config's ``world`` section, in its power-on state.

    ``taggers`` are the simulated tagger instruments: their inputs wire detectors (or
    sync outputs) to the world tagger of the same name. What instruments set (SNSPD
    bias, SPAD efficiency and dead time, tagger input settings) starts at the twin's
    power-on value; the devices apply the configured settings through their drivers.
    """
    import dataclasses

    import numpy as np

    from qnetlab.sim_backends import OpticalWorld, TaggerChannelModel

    # the config holds the world's own models, validated; each lab gets fresh copies in their power-on state
    rng = np.random.default_rng(config.seed)  # the fibers' initial rotations, in config order
    fibers = {name: fiber.at_power_on(rng) for name, fiber in config.fibers.items()}
    actuators = {name: dataclasses.replace(act) for name, act in config.actuators.items()}
    world_links = [dataclasses.replace(link) for link in config.links]
    transmitters = {name: dataclasses.replace(tx) for name, tx in config.transmitters.items()}
    world_detectors = {name: dataclasses.replace(d) for name, d in config.detectors.items()}
    world_taggers = {}
    for name, physics in config.taggers.items():
        wiring = taggers.get(name)
        channels = {
            number: TaggerChannelModel(wire.detector) for number, wire in (wiring.inputs.items() if wiring else [])
        }
        world_taggers[name] = dataclasses.replace(physics, channels=channels)
    return OpticalWorld(
        transmitters=transmitters,
        fibers=fibers,
        links=world_links,
        detectors=world_detectors,
        taggers=world_taggers,
        actuators=actuators,
        syncs={name: dataclasses.replace(sync) for name, sync in config.syncs.items()},
        seed=config.seed,
        time_scale=config.time_scale,
        threads=config.threads,
    )


def load_lab(path: str | Path | LabConfig) -> Lab:
    """Build the lab of a config file (or an already validated config); on any failure, close what was opened."""
    from qnetlab.instruments.defaults import resolve_defaults
    from qnetlab.instruments.registry import build_device

    config = path if isinstance(path, LabConfig) else load_config(path)  # the defaults were checked there
    defaults = resolve_defaults(config.defaults, {name: type(e).role for name, e in config.instruments.items()})
    lab = Lab(config=config, defaults=defaults)
    if config.world is not None and any(entry.sim for entry in config.instruments.values()):
        taggers = {n: e for n, e in config.instruments.items() if isinstance(e, SwabianTimeTaggerConfig) and e.sim}
        lab.world = build_world(config.world, taggers)
        from qnetlab.sim_backends.world.warmup import compile_world_kernels

        compile_world_kernels()  # numba's compile time before any instrument timeout runs (once per process)
    try:
        for name, entry in config.instruments.items():
            lab.devices[name] = build_device(name, entry, lab)
            for request in entry.sim_faults if entry.sim else ():
                inject = getattr(lab.emulators.get(name), "inject", None)
                if inject is None:
                    raise ConfigError(f"instruments.{name}.sim_faults: this twin does not inject transport faults")
                inject(request.fault, request.count)
    except Exception:
        lab.close()
        raise
    return lab
