"""QBER monitoring during a BB84 run: suspend key output on drift, compensate between frames, resume.

:class:`QberMonitor` is the ``monitor=`` of :func:`qnetlab.plans.qkd.bb84`. It watches the
QBER of each basis where it is public without costing key: the test basis (Z) of every
frame (all its sifted bits are disclosed for estimation anyway) and the key basis (X) of
every distilled block (Cascade counts its errors). When either drifts above
``threshold`` it suspends key output:

- the frame that showed it, and every frame until the resume, is dropped from key (its
  bits become public: the compensation measures on them); every tag stays recorded
  (stream ``timetags``, Alice's pattern file) and stream ``frames`` says ``suspended``;
- the block being gathered is closed; it, and any block still distilling, is distilled
  with its key withheld (``reason`` "suspended: ...", ``suspended`` true in stream
  ``blocks``): no key leaves the plan while the link is out of tune.

The tagger keeps streaming; Alice keeps sending fresh patterns. The compensation moves its
actuator between frames (after a frame is cut, before the next upload), so each frame is
measured at one known setting: :class:`PolarizationTracking` (Bob's paddles, the
model-based tracker of :mod:`qnetlab.analysis.calibration.tracking`: centre and three
dithered probes per step, moves of at most ``max_step_deg``) or :class:`PhaseHold` (the
interferometer piezo: contrast at V ± dither, a clipped step). Each frame at the working
point is a check: once both bases are below ``resume_below`` key output resumes. Stream
``monitor`` records each suspend, step and resume with the frame, the QBERs, the setting and
why. After ``max_steps`` steps without a resume the run stops with :class:`MonitorError`
(everything recorded so far is kept).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

import bluesky.plan_stubs as bps
import numpy as np
from bluesky.protocols import Readable
from bluesky.utils import MsgGenerator
from ophyd import Signal

from qnetlab.analysis.calibration.fringe import phase_hold_step
from qnetlab.analysis.calibration.paddles import PaddleModel
from qnetlab.analysis.calibration.tracking import PolarizationTracker
from qnetlab.plans.calibration.polarization_compensation import move_paddles, paddle_angles
from qnetlab.plans.qkd._distiller import BlockDistiller
from qnetlab.plans.qkd._frames import Frame, FrameCollector

logger = logging.getLogger(__name__)
STREAM = "monitor"
FOLD = np.array([1, 0, 3, 2])  # detector columns H, V, D, A seen from the orthogonal state (V for H, A for D)


class MonitorError(RuntimeError):
    """The monitor could not bring the QBER back below its resume level."""


@dataclass
class FrameStats:
    """Public counts of one frame: sifted Z bits and errors; X and the (2, 4) table only when dropped from key."""

    index: int
    n_z: int
    e_z: int
    n_x: int = 0
    e_x: int = 0
    table: np.ndarray = field(default_factory=lambda: np.zeros((2, 4)))

    @property
    def qber_z(self) -> float:
        return self.e_z / self.n_z if self.n_z else float("nan")

    @property
    def qber_x(self) -> float:
        return self.e_x / self.n_x if self.n_x else float("nan")


def frame_stats(frame: Frame, codes: np.ndarray, dropped: bool) -> FrameStats:
    """Counts of ``frame`` against Alice's ``codes`` (bit | basis << 1 | level << 2).

    Always the Z (test-basis) bits; with ``dropped`` (the frame gives no key) also the X bits
    and the reference table: clicks on H, V, D, A for H and D sent (V and A sent folded in,
    their columns swapped), vacuum slots and double clicks left out.
    """
    sent = codes[frame.bob_slot]
    a_basis, a_bit, level = (sent >> 1) & 1, sent & 1, (sent >> 2) & 3
    single = ~frame.bob_double
    wrong = frame.bob_bit != a_bit
    z = single & (a_basis == 0) & (frame.bob_basis == 0)
    stats = FrameStats(frame.index, int(np.count_nonzero(z)), int(np.count_nonzero(z & wrong)))
    if dropped:
        x = single & (a_basis == 1) & (frame.bob_basis == 1)
        stats.n_x, stats.e_x = int(np.count_nonzero(x)), int(np.count_nonzero(x & wrong))
        column = frame.bob_basis.astype(np.int64) * 2 + frame.bob_bit
        lit = single & (level < 2)
        for row in (0, 1):
            for bit in (0, 1):
                chosen = lit & (a_basis == row) & (a_bit == bit)
                counts = np.bincount(column[chosen], minlength=4)
                stats.table[row] += counts if bit == 0 else counts[FOLD]
    return stats


class Compensation(Protocol):
    """An actuator driven frame by frame: ``start`` at its setting, then ``ask``/``tell`` one frame each."""

    def read(self) -> MsgGenerator[Any]: ...
    def start(self, setting: Any) -> None: ...
    def ask(self) -> tuple[Any, bool]: ...  # (setting for the next frame, is it the working point)
    def tell(self, stats: FrameStats) -> None: ...
    def move(self, setting: Any) -> MsgGenerator[None]: ...


class PolarizationTracking:
    """Bob's paddles by :class:`PolarizationTracker`: centre + 3 dithers (deg) per step, a move ≤ ``max_step_deg``."""

    def __init__(self, controller: Any, *, dither_deg: float = 1.5, max_step_deg: float = 3.0, floor: float = 0.01):
        self.controller, self.dither_deg, self.max_step_deg, self.floor = controller, dither_deg, max_step_deg, floor
        self.tracker: PolarizationTracker | None = None
        self._told = 0

    def read(self) -> MsgGenerator[np.ndarray]:
        return (yield from paddle_angles(self.controller))

    def start(self, setting) -> None:
        model = PaddleModel()
        start = np.clip(np.asarray(setting, float), *model.travel_deg)
        self.tracker = PolarizationTracker(model, start, self.dither_deg, self.max_step_deg, self.floor)
        self._told = 0

    def ask(self) -> tuple[np.ndarray, bool]:
        assert self.tracker is not None
        return self.tracker.ask(), self._told % 4 == 0

    def tell(self, stats: FrameStats) -> None:
        assert self.tracker is not None
        self.tracker.tell(stats.table)
        self._told += 1

    def move(self, setting) -> MsgGenerator[None]:
        yield from move_paddles(self.controller, setting)

    def describe(self) -> str:
        name, dither, step = self.controller.name, self.dither_deg, self.max_step_deg
        return f"polarization tracking ({name}, dither {dither} deg, step <= {step} deg)"


class PhaseHold:
    """The interferometer piezo (V): contrast 1 - 2 QBER_X at V ± ``dither_v``, then a step ≤ ``max_step_v``."""

    def __init__(
        self,
        piezo: Any,
        *,
        v_2pi_v: float,
        dither_v: float = 3.0,
        max_step_v: float = 5.0,
        range_v: tuple[float, float] = (0.0, 120.0),
        grid_v: float = 0.1,
    ):
        self.piezo, self.v_2pi_v, self.dither_v, self.max_step_v = piezo, v_2pi_v, dither_v, max_step_v
        self.range_v, self.grid_v = range_v, grid_v
        self.voltage_v = 0.0
        self._phase = 0  # 0: at the working point, 1: at V - dither, 2: at V + dither
        self._minus = 0.0

    def _grid(self, v: float) -> float:
        """On the driver's setting grid (a finer set never reads back equal), inside ``range_v``."""
        lo, hi = self.range_v
        return round(round(min(max(v, lo + self.dither_v), hi - self.dither_v) / self.grid_v) * self.grid_v, 3)

    def read(self) -> MsgGenerator[float]:
        return float((yield from bps.rd(self.piezo)))

    def start(self, setting) -> None:
        self.voltage_v, self._phase = self._grid(float(setting)), 0

    def ask(self) -> tuple[float, bool]:
        offset = (0.0, -self.dither_v, self.dither_v)[self._phase]
        return round(self.voltage_v + offset, 3), self._phase == 0

    def tell(self, stats: FrameStats) -> None:
        contrast = 1 - 2 * stats.qber_x
        if self._phase == 2:
            new_v, _ = phase_hold_step(
                self.voltage_v, self._minus, contrast, self.dither_v, self.v_2pi_v, self.max_step_v
            )
            self.voltage_v = self._grid(new_v)
        self._minus = contrast
        self._phase = (self._phase + 1) % 3

    def move(self, setting) -> MsgGenerator[None]:
        yield from bps.mv(self.piezo, float(setting))

    def describe(self) -> str:
        return f"phase hold ({self.piezo.name}, V_2pi {self.v_2pi_v} V, dither {self.dither_v} V)"


class QberMonitor:
    """Suspends a bb84 run's key output when a basis's QBER exceeds ``threshold``; compensates; resumes.

    Parameters
    ----------
    compensation : :class:`PolarizationTracking` or :class:`PhaseHold`
    threshold : QBER (fraction) above which key output is suspended
    resume_below : QBER (fraction) both bases must be below, at the working point, to resume
    min_bits : Z bits gathered (over consecutive frames) before the Z QBER is judged
    max_steps : compensation steps (measured frames) allowed per suspension before :class:`MonitorError`
    """

    def __init__(
        self,
        compensation: Compensation,
        *,
        threshold: float = 0.05,
        resume_below: float = 0.025,
        min_bits: int = 2000,
        max_steps: int = 40,
    ):
        if not 0 < resume_below <= threshold < 0.5:
            raise ValueError(f"QberMonitor: need 0 < resume_below <= threshold < 0.5, got {resume_below}, {threshold}")
        self.compensation = compensation
        self.threshold, self.resume_below, self.min_bits, self.max_steps = threshold, resume_below, min_bits, max_steps
        self.suspended = False
        self.reason = ""
        self.history: list[dict[str, Any]] = []  # what the stream recorded, for the caller
        self._lock = threading.Lock()
        self._stats: dict[int, FrameStats] = {}
        self._pending_z = [0, 0]  # Z bits, errors not yet judged
        self._trigger: str | None = None
        self._distiller: BlockDistiller | None = None
        self._collector: FrameCollector | None = None
        self._probe: tuple[int, Any, bool] | None = None  # (frame index measured at the setting, setting, centre)
        self._steps = 0
        self._signals = {
            name: Signal(name=f"monitor_{name}", value=value)
            for name, value in [
                ("action", ""),
                ("frame", -1),
                ("qber_z", 0.0),
                ("qber_x", 0.0),
                ("setting", ""),
                ("reason", ""),
                ("time", 0.0),
            ]
        }

    def describe(self) -> dict[str, Any]:
        """Plain settings for the run's start document."""
        describe = getattr(self.compensation, "describe", lambda: type(self.compensation).__name__)
        return {
            "compensation": describe(),
            "threshold": self.threshold,
            "resume_below": self.resume_below,
            "min_bits": self.min_bits,
            "max_steps": self.max_steps,
        }

    # --- stream thread --------------------------------------------------------------------
    def attach(self, distiller: BlockDistiller, collector: FrameCollector) -> None:
        """Watch the run's frames: every frame cut passes through the monitor before the distiller."""
        self._distiller, self._collector = distiller, collector
        add = collector.on_frame

        def on_frame(frame: Frame) -> None:
            if frame.calibration:
                add(frame)
                return
            with self._lock:
                codes = distiller.codes[frame.index]
                stats = frame_stats(frame, codes, dropped=self.suspended)
                if not self.suspended:
                    self._pending_z[0] += stats.n_z
                    self._pending_z[1] += stats.e_z
                    if self._pending_z[0] >= self.min_bits:
                        qber = self._pending_z[1] / self._pending_z[0]
                        self._pending_z = [0, 0]
                        if qber > self.threshold:
                            self._suspend(f"QBER Z {qber:.4f} above {self.threshold} in frame {frame.index}")
                            stats = frame_stats(frame, codes, dropped=True)
                self._stats[frame.index] = stats
                collector.cut_info.setdefault(frame.index, {})["suspended"] = self.suspended
                add(frame)

        collector.on_frame = on_frame

    def _suspend(self, reason: str) -> None:  # with the lock held
        assert self._distiller is not None
        self.suspended, self.reason, self._trigger = True, reason, reason
        self._distiller.suspend(reason)
        logger.warning("bb84 monitor: key output suspended: %s", reason)

    # --- plan thread ----------------------------------------------------------------------
    def saw_block(self, event: dict[str, Any]) -> None:
        """A block's public facts (stream ``blocks``): its key-basis QBER is judged too."""
        qber_x = float(event.get("qber_x", float("nan")))
        with self._lock:
            if not self.suspended and not event.get("suspended") and qber_x > self.threshold:
                self._suspend(f"QBER X {qber_x:.4f} above {self.threshold} in block {event['block']}")

    def check(self, distiller: BlockDistiller, collector: FrameCollector, between_frames: bool) -> MsgGenerator[None]:
        """Plan stub run on every loop of bb84; moves the actuator only ``between_frames``."""
        if self._trigger is not None:
            yield from self._record("suspend", collector.frames_cut, None, self._trigger)
            self._trigger = None
        if not self.suspended or not between_frames:
            return
        comp = self.compensation
        if self._probe is None:  # start compensating at the present setting
            comp.start((yield from comp.read()))
            self._steps = 0
            yield from self._next_probe(collector)
            return
        index, setting, centre = self._probe
        with self._lock:
            stats = self._stats.get(index)
        if stats is None:
            return
        if centre and stats.qber_z < self.resume_below and stats.qber_x < self.resume_below:
            with self._lock:
                self.suspended, self._probe, self._pending_z = False, None, [0, 0]
                distiller.resume()
            yield from self._record("resume", index, stats, f"both bases below {self.resume_below}", setting)
            logger.warning("bb84 monitor: key output resumed after frame %d", index)
            return
        comp.tell(stats)
        self._steps += 1
        yield from self._record("step", index, stats, "compensating", setting)
        if self._steps >= self.max_steps:
            raise MonitorError(
                f"bb84 monitor: QBER Z {stats.qber_z:.4f} X {stats.qber_x:.4f} still above {self.resume_below} "
                f"after {self._steps} compensation steps ({self.reason}); run a full compensation"
            )
        yield from self._next_probe(collector)

    def _next_probe(self, collector: FrameCollector) -> MsgGenerator[None]:
        setting, centre = self.compensation.ask()
        yield from self.compensation.move(setting)
        self._probe = (collector.frames_cut, setting, centre)  # the next upload's frame

    def _record(self, action: str, frame: int, stats: FrameStats | None, reason: str, setting=None):
        values = {
            "action": action,
            "frame": int(frame),
            "qber_z": stats.qber_z if stats else float("nan"),
            "qber_x": stats.qber_x if stats else float("nan"),
            "setting": json.dumps(np.asarray(setting).round(3).tolist()) if setting is not None else "",
            "reason": reason,
            "time": time.time(),
        }
        self.history.append(values)
        for key, value in values.items():
            self._signals[key].put(value)
        yield from bps.trigger_and_read(cast("list[Readable]", list(self._signals.values())), name=STREAM)
