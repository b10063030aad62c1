"""One home for building instruments: config ``kind`` -> config model, driver, device, twin.

A new instrument model is a driver (``drivers/``), a config model (``instruments/config.py``),
a device if none of the existing ones fits, and one :class:`InstrumentModel` entry in
:data:`MODELS`. :func:`build_device` builds any entry the same way: start the twin on the
simulated world when ``sim: true``, connect the driver (to the twin or to
``entry.address``), wrap it in its device with the config's safe limits, apply the
start-up settings, and close the driver again if any of that fails.

Drivers and emulators are imported inside the factories, so importing this module costs
no QCoDeS, pyvisa or simulated world.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from qnetlab.instruments._device import DriverDevice
from qnetlab.instruments.config import (
    ConfigError,
    InstrumentConfig,
    ScpiFreeRunningSpadConfig,
    ScpiPulsedLaserConfig,
    ScpiSnspdControllerConfig,
    SwabianTimeTaggerConfig,
    ThorlabsK10cr1Config,
    ThorlabsMdt693bConfig,
    ThorlabsMpc320Config,
)
from qnetlab.instruments.laser import PulsedLaser
from qnetlab.instruments.piezo import Piezo
from qnetlab.instruments.polarization_controller import PolarizationController
from qnetlab.instruments.rotation_mount import RotationMount
from qnetlab.instruments.snspd import snspd_controller
from qnetlab.instruments.spad import Spad
from qnetlab.instruments.timetagger import TimeTagger

Twin = tuple[Any, Any]  # (emulator, address the driver opens: VISA resource, serial URL or SDK module)


def _no_start_up(device: Any, entry: Any) -> None:
    """Start-up step of a kind whose config sets nothing at start-up."""


def _settings(*fields: str) -> Callable[[Any, Any], None]:
    """Start-up step putting each given config field into the device signal of the same name."""

    def start_up(device: Any, entry: Any) -> None:
        for field in fields:
            value = getattr(entry, field)
            if value is not None:
                getattr(device, field).put(value)

    return start_up


def _limited(device_class: type[DriverDevice]) -> Callable[[Any, str, Any], DriverDevice]:
    """Device factory: ``device_class(driver, name=..., safe_limits=<the entry's limits>)``."""
    return lambda driver, name, entry: device_class(driver, name=name, safe_limits=entry.safe_limits())


@dataclass(frozen=True)
class InstrumentModel:
    """How the lab builds the instruments of one config ``kind``.

    Attributes
    ----------
    config : the pydantic config model of the kind
    connect : ``(name, entry, address) -> driver``, connected; ``address`` is the twin's when
        simulated, else ``entry.address``
    device : ``(driver, name, entry) -> device``
    twin : ``(name, entry, world) -> (emulator, address)``: the emulator serving the driver's
        protocol on the simulated world, and where the driver finds it
    start_up : ``(device, entry) -> None``: the settings the entry asks for at start-up

    Its ``role`` (what plans use it as by default) is the config model's, so that
    :func:`~qnetlab.instruments.config.load_config` checks the ``defaults`` without importing devices.
    """

    config: type[InstrumentConfig]
    connect: Callable[[str, Any, Any], Any]
    device: Callable[[Any, str, Any], DriverDevice]
    twin: Callable[[str, Any, Any], Twin]
    start_up: Callable[[Any, Any], None] = _no_start_up

    @property
    def role(self) -> str | None:
        """What plans use this kind as by default (``"tagger"``, ``"transmitter"``), or None."""
        return self.config.role


def build_device(name: str, entry: InstrumentConfig, lab: Any) -> DriverDevice:
    """The device of config entry ``name``; with ``sim``, over a twin on ``lab.world``.

    The twin's emulator is kept in ``lab.emulators[name]`` (closed with the lab).
    """
    model = MODELS[entry.kind]  # type: ignore[attr-defined]  # every entry model has its kind literal
    address: Any = entry.address
    if entry.sim:
        emulator, address = model.twin(name, entry, lab.world)
        lab.emulators[name] = emulator
    driver = model.connect(name, entry, address)
    try:
        device = model.device(driver, name, entry)
        model.start_up(device, entry)
    except Exception:
        driver.close()
        raise
    return device


def _world_part(name: str, key_path: str, table: dict, key: str | None, expected: type, what: str, kind: str) -> Any:
    """The world object ``table[key]`` a twin drives; a ConfigError naming entry and key if absent or another type."""
    part = table.get(key) if key is not None else None
    if part is None:
        raise ConfigError(f"instruments.{name}.{key_path}: {key!r} is not {kind} of the world; it has {sorted(table)}")
    if not isinstance(part, expected):
        raise ConfigError(f"instruments.{name}.{key_path}: {key!r} is a {type(part).__name__}, not {what}")
    return part


# --- the kinds ------------------------------------------------------------------------------
def _laser_connect(name: str, entry: ScpiPulsedLaserConfig, address: str) -> Any:
    from qnetlab.drivers.scpi import ScpiPulsedLaser

    return ScpiPulsedLaser(name, address, timeout_s=entry.timeout_s)


def _laser_twin(name: str, entry: ScpiPulsedLaserConfig, world: Any) -> Twin:
    from qnetlab.sim_backends.emulators.laser_emulator import ScpiLaserEmulator

    emulator = ScpiLaserEmulator(world.transmitters[entry.transmitter], world.lock)
    return emulator, emulator.address


def _tagger_connect(name: str, entry: SwabianTimeTaggerConfig, sdk: Any) -> Any:
    from qnetlab.drivers.swabian import SwabianTimeTagger

    return SwabianTimeTagger(name, serial=entry.serial, sdk=sdk)


def _tagger_twin(name: str, entry: SwabianTimeTaggerConfig, world: Any) -> Twin:
    from qnetlab.sim_backends.emulators.timetagger_sdk import emulated_timetagger_sdk

    sdk = emulated_timetagger_sdk(world, serials={entry.serial or "SIM-0001": name})
    return sdk, sdk


def _tagger_device(driver: Any, name: str, entry: SwabianTimeTaggerConfig) -> TimeTagger:
    return TimeTagger(driver, name=name, inputs=entry.inputs, safe_limits=entry.safe_limits())


def _piezo_connect(name: str, entry: ThorlabsMdt693bConfig, address: str) -> Any:
    from qnetlab.drivers.thorlabs import ThorlabsMDT693B, ThorlabsMDT694B

    driver_class = ThorlabsMDT693B if entry.model == "MDT693B" else ThorlabsMDT694B
    return driver_class(name, address, axis=entry.axis, timeout_s=entry.timeout_s)


def _piezo_twin(name: str, entry: ThorlabsMdt693bConfig, world: Any) -> Twin:
    from qnetlab.sim_backends.emulators.piezo_emulator import MdtPiezoEmulator
    from qnetlab.sim_backends.world.actuators import PhaseShifter

    shifter = _world_part(
        name, "actuator", world.actuators, entry.actuator, PhaseShifter, "a phase shifter", "an actuator"
    )
    emulator = MdtPiezoEmulator(shifter, world.lock, axis=entry.axis, model=entry.model)
    return emulator, emulator.address


def _snspd_connect(name: str, entry: ScpiSnspdControllerConfig, address: str) -> Any:
    from qnetlab.drivers.snspd import ScpiSnspdController

    return ScpiSnspdController(name, address, channels=sorted(entry.channels), timeout_s=entry.timeout_s)


def _snspd_twin(name: str, entry: ScpiSnspdControllerConfig, world: Any) -> Twin:
    from qnetlab.sim_backends.emulators.snspd_emulator import SnspdControllerEmulator
    from qnetlab.sim_backends.world.detectors import SnspdModel

    wires = {
        channel: _world_part(
            name, f"channels.{channel}", world.detectors, detector, SnspdModel, "an SNSPD", "a detector"
        )
        for channel, detector in entry.channels.items()
    }
    emulator = SnspdControllerEmulator(wires, world.lock)
    return emulator, emulator.address


def _snspd_device(driver: Any, name: str, entry: ScpiSnspdControllerConfig) -> DriverDevice:
    return snspd_controller(driver, name=name, channels=entry.channels, safe_limits=entry.safe_limits())


def _snspd_start_up(device: Any, entry: ScpiSnspdControllerConfig) -> None:
    for channel, bias in sorted(entry.bias_ua.items()):
        device.channel(channel).bias_ua.put(bias)


def _spad_connect(name: str, entry: ScpiFreeRunningSpadConfig, address: str) -> Any:
    from qnetlab.drivers.spad import ScpiFreeRunningSpad

    return ScpiFreeRunningSpad(name, address, timeout_s=entry.timeout_s)


def _spad_twin(name: str, entry: ScpiFreeRunningSpadConfig, world: Any) -> Twin:
    from qnetlab.sim_backends.emulators.spad_emulator import SpadEmulator
    from qnetlab.sim_backends.world.detectors import SpadModel

    model = _world_part(name, "detector", world.detectors, entry.detector, SpadModel, "a SPAD", "a detector")
    emulator = SpadEmulator(model, world.lock)
    return emulator, emulator.address


def _mpc320_connect(name: str, entry: ThorlabsMpc320Config, url: str) -> Any:
    from qnetlab.drivers.thorlabs import ThorlabsMPC320

    return ThorlabsMPC320(name, url, timeout_s=entry.timeout_s, serial_number=entry.serial_number or None)


def _mpc320_twin(name: str, entry: ThorlabsMpc320Config, world: Any) -> Twin:
    from qnetlab.sim_backends.emulators.apt_emulator import AptPaddleControllerEmulator
    from qnetlab.sim_backends.world.actuators import PaddleController

    paddles = _world_part(
        name, "actuator", world.actuators, entry.actuator, PaddleController, "a paddle controller", "an actuator"
    )
    emulator = AptPaddleControllerEmulator(paddles, world.lock, serial=entry.serial_number or "38000001")
    return emulator, emulator.url


def _k10cr1_connect(name: str, entry: ThorlabsK10cr1Config, url: str) -> Any:
    from qnetlab.drivers.thorlabs import ThorlabsK10CR1

    return ThorlabsK10CR1(name, url, timeout_s=entry.timeout_s, serial_number=entry.serial_number or None)


def _k10cr1_twin(name: str, entry: ThorlabsK10cr1Config, world: Any) -> Twin:
    from qnetlab.sim_backends.emulators.apt_emulator import AptRotationMountEmulator
    from qnetlab.sim_backends.world.actuators import Waveplate

    plate = _world_part(name, "actuator", world.actuators, entry.actuator, Waveplate, "a waveplate", "an actuator")
    emulator = AptRotationMountEmulator(plate, world.lock, serial=entry.serial_number or "55000001")
    return emulator, emulator.url


def _k10cr1_device(driver: Any, name: str, entry: ThorlabsK10cr1Config) -> RotationMount:
    return RotationMount(driver, name=name, safe_limits=entry.safe_limits(), zero_offset_deg=entry.zero_offset_deg)


def _k10cr1_start_up(device: Any, entry: ThorlabsK10cr1Config) -> None:
    if entry.home_on_start:
        device.driver.home()


MODELS: dict[str, InstrumentModel] = {
    "scpi_pulsed_laser": InstrumentModel(
        ScpiPulsedLaserConfig,
        _laser_connect,
        _limited(PulsedLaser),
        _laser_twin,
        _settings("power_dbm", "output"),
    ),
    "swabian_timetagger": InstrumentModel(SwabianTimeTaggerConfig, _tagger_connect, _tagger_device, _tagger_twin),
    "thorlabs_mdt693b": InstrumentModel(
        ThorlabsMdt693bConfig, _piezo_connect, _limited(Piezo), _piezo_twin, _settings("voltage_v")
    ),
    "scpi_snspd_controller": InstrumentModel(
        ScpiSnspdControllerConfig, _snspd_connect, _snspd_device, _snspd_twin, _snspd_start_up
    ),
    "scpi_free_running_spad": InstrumentModel(
        ScpiFreeRunningSpadConfig, _spad_connect, _limited(Spad), _spad_twin, _settings("efficiency", "dead_time_us")
    ),
    "thorlabs_mpc320": InstrumentModel(
        ThorlabsMpc320Config, _mpc320_connect, _limited(PolarizationController), _mpc320_twin, _settings("velocity_pct")
    ),
    "thorlabs_k10cr1": InstrumentModel(
        ThorlabsK10cr1Config, _k10cr1_connect, _k10cr1_device, _k10cr1_twin, _k10cr1_start_up
    ),
}
"""Config ``kind`` -> how to build it; the one place a new instrument model is registered."""
