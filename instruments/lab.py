"""The lab assembled from a config file: drivers, devices and, where ``sim: true``, twins.

``load_lab(path)`` validates the config, builds the simulated world when any
instrument is simulated, starts each twin's emulator on a loopback socket (or hands
the emulated SDK to the driver), connects the real drivers to it exactly as they would
connect to hardware, and wraps each driver in its ophyd device.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from instruments.config import (
    LabConfig,
    ScpiPulsedLaserConfig,
    SwabianTimeTaggerConfig,
    WorldConfig,
    load_config,
)


@dataclass
class Lab:
    """The devices of one lab, by config name (also as attributes: ``lab.laser``)."""

    config: LabConfig
    devices: dict = field(default_factory=dict)
    world: object | None = None
    emulators: dict = field(default_factory=dict)

    def __getattr__(self, name):
        devices = self.__dict__.get("devices", {})
        if name in devices:
            return devices[name]
        raise AttributeError(f"lab {self.config.name!r} has no device {name!r}; it has {sorted(devices)}")

    def __getitem__(self, name):
        return self.devices[name]

    def __iter__(self):
        return iter(self.devices.values())

    def close(self) -> None:
        """Disconnect every driver and stop every emulator."""
        for device in self.devices.values():
            try:
                device.close()
            except Exception:  # keep closing the others
                pass
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
    """The simulated world described by the config's ``world`` section."""
    from sim_backends import DetectorModel, FiberModel, OpticalWorld, PulsedLaserModel, TaggerModel
    from sim_backends.tagger import TaggerChannelModel

    channels = {}
    for tagger in taggers.values():
        for number, wire in tagger.inputs.items():
            channels[number] = TaggerChannelModel(
                detector=wire.detector,
                delay_ps=wire.delay_ps,
                dead_time_ps=wire.dead_time_ps,
                trigger_level_v=wire.trigger_level_v,
            )
    return OpticalWorld(
        laser=PulsedLaserModel(**config.laser.model_dump()),
        fiber=FiberModel(**config.fiber.model_dump()),
        splitter=dict(config.splitter),
        detectors={name: DetectorModel(**d.model_dump()) for name, d in config.detectors.items()},
        tagger=TaggerModel(channels=channels, **config.tagger.model_dump()),
        seed=config.seed,
        time_scale=config.time_scale,
    )


def _limits(entry) -> dict[str, tuple[float | None, float | None]]:
    return {setting: (r.min, r.max) for setting, r in entry.limits.items()}


def _laser(name: str, entry: ScpiPulsedLaserConfig, lab: Lab):
    from drivers.scpi import ScpiPulsedLaser
    from instruments.laser import PulsedLaser

    address = entry.address
    if entry.sim:
        from sim_backends.laser_emulator import ScpiLaserEmulator

        emulator = ScpiLaserEmulator(lab.world)
        lab.emulators[name] = emulator
        address = emulator.address
    device = PulsedLaser(ScpiPulsedLaser(name, address, timeout_s=entry.timeout_s), name=name, safe_limits=_limits(entry))
    if entry.power_dbm is not None:
        device.power_dbm.put(entry.power_dbm)
    if entry.output is not None:
        device.output.put(entry.output)
    return device


def _tagger(name: str, entry: SwabianTimeTaggerConfig, lab: Lab):
    from drivers.swabian import SwabianTimeTagger
    from instruments.timetagger import TimeTagger

    sdk = None
    if entry.sim:
        from sim_backends.timetagger_sdk import emulated_timetagger_sdk

        sdk = emulated_timetagger_sdk(lab.world, serials=(entry.serial or "SIM-0001",))
        lab.emulators[name] = sdk
    driver = SwabianTimeTagger(name, serial=entry.serial, sdk=sdk)
    return TimeTagger(driver, name=name, inputs=entry.inputs)


BUILDERS: dict[type, Callable] = {
    ScpiPulsedLaserConfig: _laser,
    SwabianTimeTaggerConfig: _tagger,
}


def load_lab(path: str | Path) -> Lab:
    """Build the lab of a config file; on any failure, close what was already opened."""
    config = load_config(path)
    lab = Lab(config=config)
    if config.world is not None and any(entry.sim for entry in config.instruments.values()):
        taggers = {n: e for n, e in config.instruments.items() if isinstance(e, SwabianTimeTaggerConfig) and e.sim}
        lab.world = build_world(config.world, taggers)
    try:
        for name, entry in config.instruments.items():
            lab.devices[name] = BUILDERS[type(entry)](name, entry, lab)
    except Exception:
        lab.close()
        raise
    return lab
