"""Conventions, settings and the closed forms of the figures of merit."""

import numpy as np
import pytest

from qnetlab.analysis.entanglement import (
    OVERCOMPLETE_36,
    PAULI_9,
    STANDARD_16,
    bell_state,
    bloch_ket,
    concurrence,
    fidelity,
    ket,
    purity,
    tangle,
    tomography_data,
    werner_state,
)
from qnetlab.analysis.entanglement.states import PAULI


def test_kets_are_the_pauli_eigenstates_with_r_along_plus_sigma_y():
    for label, op, sign in (("H", 3, 1), ("V", 3, -1), ("D", 1, 1), ("A", 1, -1), ("R", 2, 1), ("L", 2, -1)):
        psi = ket(label)
        assert np.allclose(PAULI[op] @ psi, sign * psi), label
    assert np.allclose(ket("HV"), [0, 1, 0, 0])  # Alice first: |HV> is the second basis state
    assert np.allclose(bloch_ket([0, 1, 0]), ket("R"))
    assert np.allclose(bloch_ket([-1, 0, 0]), ket("A"))


def test_bad_labels_name_what_is_wrong():
    with pytest.raises(ValueError, match="'HX'"):
        ket("HX")
    with pytest.raises(ValueError, match=r"settings\[1\] = 'Q'"):
        tomography_data(["HH", "Q"], np.zeros(2))
    with pytest.raises(ValueError, match=r"counts: expected shape \(16,\) or \(16, 4\)"):
        tomography_data(STANDARD_16, np.zeros(15))
    with pytest.raises(ValueError, match="Werner visibility"):
        werner_state(1.2)


def test_setting_sets_have_the_documented_size_and_the_two_ports_sum_to_identity():
    assert len(STANDARD_16) == 16 and len(set(STANDARD_16)) == 16
    assert len(OVERCOMPLETE_36) == 36 and len(PAULI_9) == 9
    data = tomography_data(PAULI_9, np.zeros((9, 4)))
    per_setting = data.projectors.reshape(9, 4, 4, 4).sum(axis=1)
    assert np.allclose(per_setting, np.eye(4))
    assert data.labels[:4] == ("HH", "HV", "VH", "VV")
    # the 36 outcomes of the 9 bases are the 36 single-port projectors, in some order
    single = tomography_data(OVERCOMPLETE_36, np.zeros(36))
    assert sorted(data.labels) == sorted(single.labels)


@pytest.mark.parametrize("v", [0.0, 0.2, 1 / 3, 0.5, 0.9, 1.0])
def test_werner_figures_of_merit_match_closed_forms(v):
    rho = werner_state(v)
    assert fidelity(rho, "phi+") == pytest.approx((1 + 3 * v) / 4, abs=1e-12)
    assert concurrence(rho) == pytest.approx(max(0.0, (3 * v - 1) / 2), abs=1e-7)
    assert tangle(rho) == pytest.approx(max(0.0, (3 * v - 1) / 2) ** 2, abs=1e-7)
    assert purity(rho) == pytest.approx((1 + 3 * v * v) / 4, abs=1e-12)


def test_fidelity_to_a_mixed_target_and_concurrence_of_bell_and_product_states():
    assert fidelity(werner_state(0.5), werner_state(0.5)) == pytest.approx(1.0, abs=1e-9)
    for name in ("phi+", "phi-", "psi+", "psi-"):
        b = bell_state(name)
        assert concurrence(np.outer(b, b.conj())) == pytest.approx(1.0, abs=1e-7)
    hd = ket("HD")
    assert concurrence(np.outer(hd, hd.conj())) == pytest.approx(0.0, abs=1e-7)
    # a partially entangled pure state cos θ|HH> + sin θ|VV> has C = sin 2θ
    th = 0.3
    psi = np.array([np.cos(th), 0, 0, np.sin(th)])
    assert concurrence(np.outer(psi, psi)) == pytest.approx(np.sin(2 * th), abs=1e-7)
