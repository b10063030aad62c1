"""Waveplate settings by Jones calculus (with mount offsets) and the figures."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qnetlab.analysis.entanglement import (
    analyzer_ket,
    analyzer_projector,
    analyzer_settings,
    bloch_ket,
    fit_fringe,
    ket,
    plot_density_matrix,
    plot_fringe,
    werner_state,
)


def overlap(a, b):
    return abs(np.vdot(a, b)) ** 2


def test_textbook_settings_of_the_six_states():
    # axis angles (qwp, hwp) for ideal plates and zero offsets, mod 180 / mod 90 for the HWP's projector
    expected = {"H": (0, 0), "V": (0, 45), "D": (45, 22.5), "A": (135, 67.5)}
    for label, (q, h) in expected.items():
        got_q, got_h = analyzer_settings(label)
        assert overlap(analyzer_ket(q, h), ket(label)) == pytest.approx(1.0, abs=1e-12)
        assert overlap(analyzer_ket(got_q, got_h), ket(label)) == pytest.approx(1.0, abs=1e-12)
    # a QWP at 0 and a HWP at ∓22.5° analyse the circular states; R and L are orthogonal settings
    r, l_ = analyzer_ket(0, -22.5), analyzer_ket(0, 22.5)
    assert overlap(r, ket("R")) == pytest.approx(1.0, abs=1e-12)
    assert overlap(l_, ket("L")) == pytest.approx(1.0, abs=1e-12)


def test_malus_law_for_a_half_wave_plate_alone():
    for h in np.linspace(0, 90, 7):
        psi = analyzer_ket(0.0, h)
        # the transmitted port passes linear polarization at 2h: P(H) = cos²(2h)
        assert overlap(psi, ket("H")) == pytest.approx(np.cos(np.radians(2 * h)) ** 2, abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(
    x=st.floats(-1, 1),
    y=st.floats(-1, 1),
    z=st.floats(-1, 1),
    q0=st.floats(-20, 20),
    h0=st.floats(-20, 20),
)
def test_settings_for_any_bloch_vector_with_mount_offsets_round_trip(x, y, z, q0, h0):
    if x * x + y * y + z * z < 1e-6:
        return
    q, h = analyzer_settings([x, y, z], qwp_zero_deg=q0, hwp_zero_deg=h0)
    assert 0 <= q < 180 and 0 <= h < 180
    psi = analyzer_ket(q, h, qwp_zero_deg=q0, hwp_zero_deg=h0)
    assert overlap(psi, bloch_ket([x, y, z])) == pytest.approx(1.0, abs=1e-9)
    # ignoring the HWP's offset ε turns the linear state it sends to the PBS by 2ε: another state
    if abs(h0) > 2:
        assert overlap(analyzer_ket(q, h, qwp_zero_deg=q0), psi) < 1 - 1e-3


def test_offsets_shift_motor_positions_and_retardance_errors_change_the_projector():
    q, h = analyzer_settings("D")
    q2, h2 = analyzer_settings("D", qwp_zero_deg=3.0, hwp_zero_deg=-1.5)
    assert (q2 - q) % 180 == pytest.approx(3.0) and (h2 - h) % 180 == pytest.approx(178.5)
    ideal = analyzer_projector(0, -22.5)
    off = analyzer_projector(0, -22.5, qwp_retardance_deg=80.0)
    assert np.trace(ideal @ off).real < 1 - 1e-3
    with pytest.raises(ValueError, match="analyzer target 'X'"):
        analyzer_settings("X")


def test_density_matrix_and_fringe_figures(tmp_path):
    rho = werner_state(0.8) + 0.05j * (np.eye(4, k=1) - np.eye(4, k=-1))
    fig = plot_density_matrix(rho, tmp_path / "rho.png", annotation="F = 0.85")
    assert len(fig.axes) == 2 and [a.get_title() for a in fig.axes] == ["Re ρ", "Im ρ"]
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert labels == ["|HH⟩", "|HV⟩", "|VH⟩", "|VV⟩"]
    assert (tmp_path / "rho.png").stat().st_size > 20_000
    theta = np.arange(0, 360, 15.0)
    n = np.round(300 * (1 + 0.9 * np.cos(np.radians(2 * theta))) + 20)
    fits = {"raw": fit_fringe(theta, n), "accidentals subtracted": fit_fringe(theta, n, accidentals=20)}
    plot_fringe(theta, n, fits, tmp_path / "fringe.png")
    assert (tmp_path / "fringe.png").stat().st_size > 20_000
    with pytest.raises(ValueError, match="4×4"):
        plot_density_matrix(np.eye(2))
