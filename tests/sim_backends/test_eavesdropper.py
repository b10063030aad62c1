"""Intercept-resend Eve: Bob's probabilities in closed form, QBER 1/4 on an ideal link."""

from __future__ import annotations

import numpy as np

from qnetlab.sim_backends.world.eavesdropper import intercept_resend
from qnetlab.sim_backends.world.polarization import BB84_KETS, analyzer_probabilities


def test_intercept_resend_gives_a_quarter_error_and_keeps_the_gain():
    e = 0.01
    clean = analyzer_probabilities(BB84_KETS, e)
    eve = intercept_resend(clean)
    # sent H: Bob's Z analyzer says V with 1/2 e + 1/4 (1/2 + 1/2) = 1/4 + e/2
    assert np.isclose(eve["V"][0] / (eve["H"][0] + eve["V"][0]), 0.25 + e / 2)
    assert np.isclose(eve["D"][3] / (eve["D"][3] + eve["A"][3]), 0.25 + e / 2)  # sent A, X basis
    total_clean = sum(clean[r] for r in "HVDA")
    assert np.allclose(sum(eve[r] for r in "HVDA"), total_clean)  # gains unchanged: decoys do not see her
