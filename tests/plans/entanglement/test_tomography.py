"""State tomography on the simulated pair source: F = (1+3V)/4 and C = (3V-1)/2 within Monte Carlo error."""

from __future__ import annotations

import numpy as np
import pytest

from qnetlab import plans
from qnetlab.plans.entanglement import pair_analyzers, read_rho
from qnetlab.plans.entanglement.tomography import measured_kets, setting_labels


def test_werner_state_figures_within_error(bell_session):
    s = bell_session
    v = s.visibility
    a, b = pair_analyzers(s.lab)
    (uid,) = s.RE(plans.state_tomography(s.lab.tagger, a, b, settings=16, duration_s=0.1, n_resamples=200, seed=3))
    points = s.table(uid)
    result = s.table(uid, "results").iloc[0]
    # raw counts of every setting, all four detector pairs, recorded
    assert list(points["setting"]) == list(setting_labels(16))
    counts = points[["coincidences_tt", "coincidences_tr", "coincidences_rt", "coincidences_rr"]].to_numpy()
    assert counts.shape == (16, 4) and counts.sum(axis=1).min() > 150
    # the figures of a Werner state, 3 Monte Carlo sigma
    assert abs(result["fidelity"] - (1 + 3 * v) / 4) < 3 * result["fidelity_std"]
    assert abs(result["concurrence"] - max(0.0, (3 * v - 1) / 2)) < 3 * result["concurrence_std"]
    assert abs(result["purity"] - (1 + 3 * v**2) / 4) < 3 * result["purity_std"]
    assert result["tangle"] == pytest.approx(result["concurrence"] ** 2, rel=1e-9)
    assert 0 < result["fidelity_std"] < 0.05
    # a physical density matrix, stored as real/imag parts
    rho = read_rho(result)
    assert np.allclose(rho, rho.conj().T, atol=1e-12)
    assert np.trace(rho).real == pytest.approx(1.0, abs=1e-9)
    assert np.linalg.eigvalsh(rho).min() > -1e-9
    # the 3-D bar plot saved with the run, under the data directory
    figure = result["figure"]
    assert figure.endswith(f"{uid[:8]}-tomography.png") and str(s.data_dir) in figure
    with open(figure, "rb") as png:
        assert png.read(8) == b"\x89PNG\r\n\x1a\n"


def test_36_settings_are_the_pairs_of_six_states():
    labels = setting_labels(36)
    assert len(set(labels)) == 36 and {label[0] for label in labels} == set("HVDARL")


def test_projectors_follow_the_mount_offsets(bell_session):
    """With calibrated zeros the motors move by the offset and the measured kets stay those of the labels."""
    s = bell_session
    a0, b0 = pair_analyzers(s.lab)
    shifted = {"ent_a_qwp": a0.qwp_zero_deg + 3.0, "ent_b_hwp": b0.hwp_zero_deg - 2.5}
    a1, b1 = pair_analyzers(s.lab, zero_offsets_deg=shifted)
    assert (a1.qwp_zero_from, a1.hwp_zero_from, b1.hwp_zero_from) == ("argument", "config", "argument")
    for label in ("H", "D", "R"):
        q0, h0 = b0.motor_positions(label)
        q1, h1 = b1.motor_positions(label)
        assert q1 == pytest.approx(q0 % 180, abs=1e-9) and (h1 - h0) % 180 == pytest.approx(180 - 2.5)
        assert a1.motor_positions(label)[0] == pytest.approx((a0.motor_positions(label)[0] + 3.0) % 180)
    labels = setting_labels(16)
    for kets in (measured_kets(a0, b0, labels), measured_kets(a1, b1, labels)):
        from qnetlab.analysis.entanglement import ket

        for (k_a, k_b), label in zip(kets, labels, strict=True):
            assert abs(np.vdot(ket(label[0]), k_a)) == pytest.approx(1.0, abs=1e-9)
            assert abs(np.vdot(ket(label[1]), k_b)) == pytest.approx(1.0, abs=1e-9)
    with pytest.raises(ValueError, match="not analyzer mounts"):
        pair_analyzers(s.lab, zero_offsets_deg={"bob_pc": 1.0})
