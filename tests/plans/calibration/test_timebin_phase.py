"""Time-bin phase on the sim lab: the fringe is fitted, the lock sits at the maximum, a phase jump is held."""

from __future__ import annotations

import numpy as np

from qnetlab import plans
from qnetlab.plans.calibration.timebin_phase import timebin_phase_hold_step


def _link(world):
    return next(link for link in world.links if type(link).__name__ == "TimeBinBB84Link")


def test_scan_locks_at_the_fringe_maximum(recording):
    s = recording
    link = _link(s.lab.world)
    link.phase_offset_rad = 1.9  # the interferometer has wandered
    (uid,) = s.RE(plans.timebin_phase(s.lab.tagger, s.lab.laser, s.lab.bob_piezo))
    result = plans.outcome(s.catalog[uid])
    assert result["passed"] and result["applied"], result["reason"]
    # the link's visibility is 0.98: the gated contrast at the lock is close to it
    assert result["figures_after"]["contrast"] > 0.93
    assert abs(result["figures_after"]["v_2pi_v"] - 60.0) < 1.5
    phase = np.angle(np.exp(1j * link.phase_rad(s.lab.world)))
    assert abs(phase) < 0.15  # cos(φ) = 1 at X0's maximum
    scan = s.table(uid)
    assert len(scan) == 16 and scan["x0_counts"].max() > 10 * scan["x0_counts"].min()


def test_hold_step_undoes_a_phase_jump(recording):
    s = recording
    link = _link(s.lab.world)
    (uid,) = s.RE(plans.timebin_phase(s.lab.tagger, s.lab.laser, s.lab.bob_piezo))
    assert plans.outcome(s.catalog[uid])["passed"]
    link.phase_offset_rad += 0.3
    s.lab.laser.load_pattern(np.array([2], np.uint8))
    s.lab.laser.encoding.set("TBIN").wait()
    s.lab.laser.pattern_running.set(True).wait()
    from bluesky import RunEngine

    RE = RunEngine({})
    import bluesky.preprocessors as bpp

    jumped = abs(np.angle(np.exp(1j * link.phase_rad(s.lab.world))))
    RE(bpp.run_wrapper(timebin_phase_hold_step(s.lab.tagger, s.lab.bob_piezo, v_2pi_v=60.0, period_ps=12_500)))
    held = abs(np.angle(np.exp(1j * link.phase_rad(s.lab.world))))
    # shot noise of two 20 ms contrasts (≈ 0.03 rad) and the fiber's phase walk (τ = 600 s) remain
    assert jumped > 0.2 and held < 0.15 and held < jumped / 2, (jumped, held)


def test_a_low_visibility_fails_and_leaves_the_piezo(recording):
    s = recording
    start = float(s.lab.bob_piezo.voltage_v.get())
    (uid,) = s.RE(plans.timebin_phase(s.lab.tagger, s.lab.laser, s.lab.bob_piezo, min_visibility=0.999))
    result = plans.outcome(s.catalog[uid])
    assert not result["passed"] and not result["applied"] and "below 0.999" in result["reason"]
    assert abs(float(s.lab.bob_piezo.voltage_v.get()) - start) < 0.05
