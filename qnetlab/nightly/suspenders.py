"""Bluesky suspenders for the unattended job: a latched SNSPD or a tagger overflow suspends the plan.

Two soft ophyd signals, ``snspd_latched`` and ``tagger_overflow``, each watched by a
``bluesky.suspenders.SuspendBoolHigh``. When one goes high the RunEngine suspends the
running plan (rewinding to its last checkpoint), runs the suspender's ``pre_plan`` (the
recovery, as plan messages in the RunEngine, so it never talks to an instrument at the
same time as the plan) and resumes once the signal is low again:

- latched SNSPD: a thread polls the ``latched`` signal of every SNSPD channel of the
  controllers the running step does not use (a bias sweep watches its own wires);
  recovery brings the channel's bias to zero and back (the wire re-traps).
- tagger overflow: the tagger's ``overflows`` signal (updated after every count-rate
  acquisition) rising trips it; recovery lowers the transmitter power by
  ``power_step_db`` (never below its safe limit).

A plan without a checkpoint cannot be suspended; bluesky aborts it (the step fails).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any

import bluesky.plan_stubs as bps
from bluesky.suspenders import SuspendBoolHigh
from ophyd import Signal

from qnetlab.instruments.snspd import SnspdController

logger = logging.getLogger(__name__)


@dataclass
class LabHealthWatch:
    """The suspenders of one lab and RunEngine (see the module docstring); :meth:`install` arms them.

    ``recoveries`` lists what was done, one line each (the job prints and reports them).
    """

    lab: Any
    RE: Any
    poll_s: float = 1.0
    power_step_db: float = 3.0
    max_recoveries: int = 5
    recoveries: list[str] = field(default_factory=list)

    def __post_init__(self):
        self.snspd_latched = Signal(name="snspd_latched", value=False)
        self.tagger_overflow = Signal(name="tagger_overflow", value=False)
        self.controllers = [d for d in self.lab if isinstance(d, SnspdController)]
        self.transmitter = self.lab.default_device("transmitter", required=False)
        self.tagger = self.lab.default_device("tagger", required=False)
        self._latched_channels: list[Any] = []
        self._busy: set[str] = set()
        self._active = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._seen_overflows = None

    # --- arming -----------------------------------------------------------------------
    def install(self) -> None:
        """Install both suspenders on the RunEngine and start watching."""
        self.RE.install_suspender(
            SuspendBoolHigh(self.snspd_latched, pre_plan=self._reset_latched, tripped_message="SNSPD latched")
        )
        self.RE.install_suspender(
            SuspendBoolHigh(self.tagger_overflow, pre_plan=self._lower_rate, tripped_message="tagger overflow")
        )
        if self.tagger is not None and hasattr(self.tagger, "overflows"):
            self._seen_overflows = self.tagger.overflows.get()
            self.tagger.overflows.subscribe(self._on_overflows, run=False)
        self._thread = threading.Thread(target=self._poll, name="snspd-latch-watch", daemon=True)
        self._thread.start()

    def watching(self, busy_devices: list[str]):
        """Context: watch during one step, leaving alone the devices the step itself uses."""
        watch = self

        class _Watching:
            def __enter__(self):
                watch._busy = set(busy_devices)
                watch._recover_before_step()  # a wire latched before the step: reset before its first reading
                watch._active.set()

            def __exit__(self, *exc):
                watch._active.clear()
                watch._clear_idle_trips()

        return _Watching()

    def close(self) -> None:
        """Stop the polling thread and remove the suspenders."""
        self._stop.set()
        self._active.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.RE.clear_suspenders()

    # --- latched SNSPD ---------------------------------------------------------------
    def _poll(self) -> None:
        while not self._stop.is_set():
            self._active.wait()
            if self._stop.wait(self.poll_s) or not self._active.is_set() or self.snspd_latched.get():
                continue
            self._check_latched()

    def _recover_before_step(self) -> None:
        """Reset wires already latched, directly (no plan runs yet; a tripped suspender would only wait)."""
        for channel in self._latched(self.controllers):
            bias_ua = channel.bias_ua.get()
            channel.bias_ua.set(0.0).wait(timeout=10)
            channel.bias_ua.set(bias_ua).wait(timeout=10)
            self.recoveries.append(self._recovered(channel, bias_ua, channel.latched.get()) + " before the step")

    def _clear_idle_trips(self) -> None:
        """A trip after the run ended would hold the next run forever: recover now, directly."""
        if self.snspd_latched.get():
            self._latched_channels = []
            self._recover_before_step()
            self.snspd_latched.put(False)
        if self.tagger_overflow.get():
            self.recoveries.append("tagger overflow after the run ended: the next step runs as is")
            self.tagger_overflow.put(False)

    def _latched(self, controllers) -> list[Any]:
        return [
            channel
            for controller in controllers
            if controller.name not in self._busy
            for channel in (controller.channel(n) for n in controller.channel_numbers)
            if channel.latched.get()
        ]

    @staticmethod
    def _recovered(channel, bias_ua: float, still: bool) -> str:
        return f"{channel.name} latched: bias reset to 0 and back to {bias_ua:g} uA" + (
            " (still latched)" if still else ""
        )

    def _check_latched(self) -> None:
        try:
            latched = self._latched(self.controllers)
        except Exception as error:  # a link fault: the plan's own reads will report it
            logger.warning("latch watch: %s", error)
            return
        if latched and len(self.recoveries) < self.max_recoveries:
            self._latched_channels = latched
            self.snspd_latched.put(True)

    def _reset_latched(self):
        for channel in self._latched_channels:
            bias_ua = channel.bias_ua.get()
            yield from bps.mv(channel.bias_ua, 0.0)
            yield from bps.mv(channel.bias_ua, bias_ua)
            self.recoveries.append(self._recovered(channel, bias_ua, channel.latched.get()))
        self._latched_channels = []
        self.snspd_latched.put(False)

    # --- tagger overflow -------------------------------------------------------------
    def _on_overflows(self, value=None, **_):
        seen, self._seen_overflows = self._seen_overflows, value
        if seen is not None and value is not None and value > seen and len(self.recoveries) < self.max_recoveries:
            self.tagger_overflow.put(True)

    def _lower_rate(self):
        if self.transmitter is not None and hasattr(self.transmitter, "power_dbm"):
            power_dbm = float(self.transmitter.power_dbm.get())
            floor, _ = getattr(self.transmitter, "safe_limits", {}).get("power_dbm", (None, None))
            target = power_dbm - self.power_step_db if floor is None else max(floor, power_dbm - self.power_step_db)
            yield from bps.mv(self.transmitter.power_dbm, target)
            self.recoveries.append(f"tagger overflow: {self.transmitter.name} power {power_dbm:g} -> {target:g} dBm")
        else:
            self.recoveries.append("tagger overflow: no transmitter to turn down; resumed as is")
        self.tagger_overflow.put(False)
