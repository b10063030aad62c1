"""The calibration store: every setting a calibration applied, with its provenance.

One JSON file, ``<data>/calibration.json``, written atomically (a temporary file in the
same directory, fsynced, then ``os.replace``), so a crash mid-write leaves the previous
store whole. Each setting (``"bob_pc.paddle1_deg"``, ``"tagger.input3_delay_ps"``) keeps
its history; the newest entry is the setting in force. Only steps that passed and
applied their settings are recorded (:meth:`CalibrationStore.record`), so a failed step
never overwrites the last good value. :func:`apply_settings` writes the values in force
to a lab's devices (``session.start`` calls it after the config's start-up settings).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

STORE_NAME = "calibration.json"
_TAGGER_DELAY = re.compile(r"^input(\d+)_delay_ps$")


@dataclass(frozen=True)
class Provenance:
    """Where a setting came from: the step, its run, when, and its figures of merit before and after."""

    step: str
    run_uid: str
    time: float  # unix time (s)
    figures_before: dict[str, float] = field(default_factory=dict)
    figures_after: dict[str, float] = field(default_factory=dict)


class CalibrationStore:
    """The store file of one data directory (see the module docstring)."""

    def __init__(self, data_dir: str | Path):
        self.path = Path(data_dir) / STORE_NAME

    def _load(self) -> dict[str, list[dict[str, Any]]]:
        if not self.path.exists():
            return {}
        try:
            raw = json.loads(self.path.read_text())
        except json.JSONDecodeError as error:
            raise ValueError(f"{self.path}: calibration store is not valid JSON ({error})") from None
        if not isinstance(raw, dict) or not isinstance(raw.get("settings"), dict):
            raise ValueError(f"{self.path}: calibration store has no 'settings' table")
        return raw["settings"]

    def history(self, setting: str) -> list[dict[str, Any]]:
        """Every recorded value of ``setting``, oldest first (``value`` plus the provenance fields)."""
        return list(self._load().get(setting, []))

    def current(self, step: str | None = None) -> dict[str, Any]:
        """The setting in force for each setting name (its newest value); only ``step``'s if given."""
        return {
            name: entries[-1]["value"]
            for name, entries in self._load().items()
            if entries and (step is None or entries[-1]["step"] == step)
        }

    def provenance(self, setting: str) -> Provenance | None:
        """The provenance of the value in force of ``setting`` (None if never calibrated)."""
        entries = self.history(setting)
        if not entries:
            return None
        last = {k: v for k, v in entries[-1].items() if k != "value"}
        return Provenance(**last)

    def record(self, settings: dict[str, Any], provenance: Provenance) -> None:
        """Add ``settings`` (name -> value) as the values in force, all with ``provenance``; atomic."""
        table = self._load()
        for name, value in settings.items():
            table.setdefault(name, []).append({"value": value, **asdict(provenance)})
        self._write({"version": 1, "updated": time.time(), "settings": table})

    def _write(self, content: dict) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".calibration-", suffix=".tmp")
        try:
            with os.fdopen(handle, "w") as out:
                json.dump(content, out, indent=1, sort_keys=True)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


def apply_settings(lab: Any, settings: dict[str, Any]) -> dict[str, Any]:
    """Write ``settings`` (``"<device>.<signal path>"`` -> value) to ``lab``'s devices; returns what was applied.

    A setting is an ophyd signal reached by its dotted path (``snspd.ch1.bias_ua``,
    ``bob_pc.paddle1_deg``), or a tagger input delay ``tagger.input<n>_delay_ps``.
    Raises ``ValueError`` naming the setting when the lab has no such device or signal.
    """
    applied = {}
    for name, value in settings.items():
        device_name, _, path = name.partition(".")
        if device_name not in lab.devices or not path:
            raise ValueError(f"calibration store: setting {name!r}: the lab has no device {device_name!r}")
        device = lab.devices[device_name]
        delay = _TAGGER_DELAY.match(path)
        if delay and hasattr(device, "set_input_delay") and hasattr(device, "input_delay_ps"):
            channel = int(delay.group(1))  # through the device: it records the delay in force (plans read it)
            device.set_input_delay(channel, int(value)).wait(timeout=60)
            applied[name] = device.input_delay_ps(channel)
            continue
        if delay and hasattr(device, "driver") and hasattr(device.driver, "set_input_delay"):
            applied[name] = device.driver.set_input_delay(int(delay.group(1)), int(value))
            continue
        target = device
        for part in path.split("."):
            target = getattr(target, part, None)
            if target is None:
                raise ValueError(f"calibration store: setting {name!r}: {device_name} has no {path!r}")
        if not hasattr(target, "set"):
            raise ValueError(f"calibration store: setting {name!r}: {device_name}.{path} is not settable")
        target.set(value).wait(timeout=60)
        applied[name] = value
    return applied
