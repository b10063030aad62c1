"""Polarization compensation from reference counts: analytical rounds, then a fallback.

Alice sends her H and D references; Bob's passive receiver counts H, V, D, A for each.
Round 1 (at the paddles' present angles) gives the total rotation up to the mirror of s3;
the paddles are solved for one candidate and round 2 measures there. If that was the
mirror, rounds 1 and 2 together fix the fiber rotation exactly (two different known paddle
rotations), the paddles are solved again and round 3 confirms. So any fiber rotation is
undone in at most 3 measurement rounds, 2 half of the time. Should the model be wrong
(paddle retardances off, a receiver fault), a Nelder-Mead search on the measured QBER
takes over (:mod:`.search`), model-free.

The compensator is driven by ask/tell, so a Bluesky plan and a test loop run it alike::

    comp = PolarizationCompensator(PaddleModel(), start_deg)
    while (angles := comp.ask()) is not None:
        comp.tell(measure(angles))  # (2, 4) counts: H, D sent x H, V, D, A detected
    comp.result
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field

import numpy as np

from qnetlab.analysis.calibration.paddles import PaddleModel
from qnetlab.analysis.calibration.rotation_fit import fit_fiber_rotation
from qnetlab.analysis.calibration.search import nelder_mead
from qnetlab.analysis.calibration.stokes import reference_qber


@dataclass(frozen=True)
class Round:
    """One measurement: paddle angles (deg), counts (2, 4), QBER of the Z and X bases, method."""

    angles_deg: np.ndarray
    counts: np.ndarray
    qber_z: float
    qber_x: float
    method: str


@dataclass
class CompensationResult:
    """What the compensation did.

    Attributes
    ----------
    converged : both bases below the target at ``angles_deg``
    angles_deg : the paddle angles to keep (the best measured)
    rounds : every measurement, in order
    fast_rounds : measurements the analytical method used
    """

    converged: bool
    angles_deg: np.ndarray
    rounds: list[Round] = field(default_factory=list)
    fast_rounds: int = 0

    @property
    def measurements(self) -> int:
        return len(self.rounds)

    @property
    def fallback_rounds(self) -> int:
        return self.measurements - self.fast_rounds

    @property
    def qber_before(self) -> tuple[float, float]:
        return (self.rounds[0].qber_z, self.rounds[0].qber_x)

    @property
    def qber_after(self) -> tuple[float, float]:
        best = min(self.rounds, key=lambda r: max(r.qber_z, r.qber_x))
        return (best.qber_z, best.qber_x)


class PolarizationCompensator:
    """Drive the paddles until QBER in both bases is below ``target_qber`` (ask/tell).

    Parameters
    ----------
    model : the paddles' model (retardances, travel)
    start_deg : the paddle angles now; round 1 measures there
    target_qber : goal for each basis (e.g. 0.015 above a 0.01 floor)
    misalignment : the receiver's expected QBER floor (a starting value; it is fitted)
    fast_rounds : rounds the analytical method may use before the fallback
    fallback_evaluations : measurements the fallback may use
    fast : False skips the analytical method (fallback only)
    seed : for the fallback's restarts
    """

    def __init__(
        self,
        model: PaddleModel,
        start_deg,
        *,
        target_qber: float = 0.015,
        misalignment: float = 0.01,
        fast_rounds: int = 3,
        fallback_evaluations: int = 400,
        fast: bool = True,
        seed: int = 0,
    ):
        if not 0 < target_qber < 0.5:
            raise ValueError(f"target_qber must be in (0, 0.5), got {target_qber}")
        if not 0 <= misalignment < 0.25:
            raise ValueError(f"misalignment must be in [0, 0.25), got {misalignment}")
        self.model = model
        self.target_qber = float(target_qber)
        self.contrast = 1 - 2 * float(misalignment)
        self.fast_limit = int(fast_rounds) if fast else 0
        self.fallback_evaluations = int(fallback_evaluations)
        self.rng = np.random.default_rng(seed)
        self.rounds: list[Round] = []
        self.done = False
        self._method = "fast" if fast else "fallback"
        self._pending = model.check(model.quantize(start_deg))
        self._procedure = self._run()
        first = next(self._procedure)
        self._pending = first

    def ask(self) -> np.ndarray | None:
        """The paddle angles (deg) to set and measure at next, or None when finished."""
        return None if self.done else self._pending.copy()

    def tell(self, counts) -> None:
        """The (2, 4) reference counts measured at the angles :meth:`ask` gave."""
        if self.done:
            raise RuntimeError("the compensation has finished; nothing was asked")
        counts = np.asarray(counts, float)
        if counts.shape != (2, 4):
            raise ValueError(f"counts must be (2 states H, D) x (4 detectors H, V, D, A), got shape {counts.shape}")
        qz, qx = reference_qber(counts)
        self.rounds.append(Round(self._pending.copy(), counts, qz, qx, self._method))
        if max(qz, qx) < self.target_qber:
            self.done = True
            return
        try:
            self._pending = self._procedure.send(max(qz, qx) + qz + qx)
        except StopIteration:
            self.done = True

    @property
    def result(self) -> CompensationResult:
        best = min(self.rounds, key=lambda r: max(r.qber_z, r.qber_x)) if self.rounds else None
        converged = best is not None and max(best.qber_z, best.qber_x) < self.target_qber
        angles = best.angles_deg if best is not None else self._pending
        fast = sum(r.method == "fast" for r in self.rounds)
        return CompensationResult(bool(converged), angles, list(self.rounds), fast)

    def _run(self) -> Generator[np.ndarray, float, None]:
        yield self._pending
        while len(self.rounds) < self.fast_limit:
            fit = fit_fiber_rotation(
                [self.model.rotation(r.angles_deg) for r in self.rounds],
                [r.counts for r in self.rounds],
                self.contrast,
            )
            angles, _ = self.model.solve(fit.fiber)
            yield angles
        self._method = "fallback"
        best = min(self.rounds, key=lambda r: max(r.qber_z, r.qber_x)) if self.rounds else None
        start = best.angles_deg if best is not None else self._pending
        yield from nelder_mead(start, self.model.travel_deg, self.rng, max_evaluations=self.fallback_evaluations)
