"""Mount zeros from fringe counts: the vectorized model against the Jones projectors, exact counts return
the zeros, pulls of Poisson counts have unit spread, and the two invisible symmetries are what the docs say."""

from __future__ import annotations

import numpy as np
import pytest

from qnetlab.analysis.entanglement import analyzer_projector, werner_state
from qnetlab.analysis.entanglement.mount_zeros import fit_mount_zeros, predicted_counts

TRUE = np.array([-15.0, 8.0, 10.0, 25.0])
START = np.array([-15.0, 0.0, 0.0, 0.0])  # the reference (Alice's QWP) right, the others 8-25 deg off
STEPS = (0.0, 15.0, 30.0, 45.0, 60.0, 75.0)


def _scan(start):
    return np.array([start + np.eye(4)[m] * step for m in (1, 2, 3) for step in STEPS])


def test_model_is_the_trace_of_the_jones_projectors():
    rng = np.random.default_rng(0)
    motors, zeros = rng.uniform(-180, 180, (25, 4)), rng.uniform(-90, 90, 4)
    got = predicted_counts(motors, zeros, pairs=1.0, visibility=0.8, port_ratios=(0.9, 1.1))
    rho, eye = werner_state(0.8), np.eye(2)
    for row, (qa, ha, qb, hb) in zip(got, motors, strict=True):
        pa = analyzer_projector(qa, ha, qwp_zero_deg=zeros[0], hwp_zero_deg=zeros[1])
        pb = analyzer_projector(qb, hb, qwp_zero_deg=zeros[2], hwp_zero_deg=zeros[3])
        eta = [1.0, 1.1, 0.9, 0.99]
        want = [np.trace(np.kron(x, y) @ rho).real for x in (pa, eye - pa) for y in (pb, eye - pb)]
        assert row == pytest.approx(np.array(eta) * want, abs=1e-12)


def test_exact_counts_return_the_zeros():
    motors = _scan(START)
    acc = np.full((len(motors), 4), 9.0)
    exact = predicted_counts(motors, TRUE, pairs=2000, visibility=0.95, port_ratios=(0.95, 1.05), accidentals=acc)
    fit = fit_mount_zeros(motors, exact, accidentals=acc, start_zeros_deg=START)
    assert fit.zeros_deg == pytest.approx(TRUE, abs=1e-4)
    assert fit.visibility == pytest.approx(0.95, abs=1e-6) and fit.port_ratios == pytest.approx([0.95, 1.05], abs=1e-5)
    assert fit.zeros_std_deg[0] == 0 and np.all(fit.zeros_std_deg[1:] > 0)


@pytest.mark.slow  # 15 fits of 9 starts each: ~15 s on the shared machine
def test_pulls_of_poisson_counts_have_unit_spread():
    rng = np.random.default_rng(3)
    motors = _scan(START)
    acc = np.full((len(motors), 4), 9.0)
    mu = predicted_counts(motors, TRUE, pairs=1500, visibility=0.95, accidentals=acc)
    pulls = []
    for _ in range(15):
        fit = fit_mount_zeros(motors, rng.poisson(mu), accidentals=acc, start_zeros_deg=START)
        pulls.append((fit.zeros_deg - TRUE)[1:] / fit.zeros_std_deg[1:])
    pulls = np.array(pulls)
    # 15 draws: a unit-normal pull's mean is within 3/sqrt(15) = 0.77 of 0, its spread within 0.5 (2.7 sigma) of 1
    assert np.all(np.abs(pulls.mean(axis=0)) < 0.77) and np.all(np.abs(pulls.std(axis=0) - 1) < 0.5)


def test_the_symmetries_the_pair_source_cannot_see():
    motors = np.random.default_rng(1).uniform(-90, 90, (10, 4))
    base = predicted_counts(motors, TRUE, pairs=1.0, visibility=0.9)
    delta = 7.0  # a common rotation of both analyzers: QWP +δ, HWP +δ/2 on both sides
    rotated = predicted_counts(motors, np.add(TRUE, [delta, delta / 2, delta, delta / 2]), pairs=1.0, visibility=0.9)
    assert rotated == pytest.approx(base, abs=1e-12)
    swapped = predicted_counts(motors, np.add(TRUE, [0, 45, 0, 45]), pairs=1.0, visibility=0.9)  # T <-> R on both sides
    assert swapped == pytest.approx(base[:, ::-1], abs=1e-12)
    assert not np.allclose(predicted_counts(motors, np.add(TRUE, [0, 0, 0, 3]), pairs=1.0, visibility=0.9), base)


def test_bad_shapes_and_reference_are_refused():
    with pytest.raises(ValueError, match=r"motor_deg \(3, 4\), counts \(3, 3\)"):
        fit_mount_zeros(np.zeros((3, 4)), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="reference 4"):
        fit_mount_zeros(np.zeros((3, 4)), np.zeros((3, 4)), reference=4)
