"""Calibration algorithms: pure functions and ask/tell solvers over measured counts.

No hardware import: the Bluesky plans feed these from devices, the tests from the
simulated world.

=============================  ==========================================================
:mod:`.stokes`                 SU(2) <-> Stokes rotations, (s1, s2) and QBER from counts
:mod:`.paddles`                ``PaddleModel`` (MPC320 paddles), ``loop_retardance_waves``
:mod:`.rotation_fit`           ``fit_fiber_rotation`` from rounds at known paddle angles
:mod:`.compensation`           ``PolarizationCompensator`` (≤ 3 rounds, fallback search)
:mod:`.search`                 ``nelder_mead`` generator on measured QBER (the fallback)
:mod:`.tracking`               ``PolarizationTracker`` (dithered small steps during a run)
:mod:`.reference_counts`       ``counts_by_sent_state``, ``correct_dead_time``
:mod:`.delays`                 ``peak_position_ps``, ``channel_delays_ps``
:mod:`.fringe`                 ``fit_fringe``, ``phase_hold_step``
:mod:`.detector_health`        dark counts, SNSPD bias choice, latch detection, pair visibility
:mod:`.plots`                  matplotlib figures (Agg)
=============================  ==========================================================
"""
