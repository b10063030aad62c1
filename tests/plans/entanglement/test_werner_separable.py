"""A separable source (Werner V < 1/3) never shows S > 2 nor concurrence beyond its error.

Runs last in this package (file name): it replaces the shipped lab's session with one of V = 0.25.
"""

from __future__ import annotations

import math

from qnetlab import plans
from qnetlab.plans.entanglement import pair_analyzers

SEPARABLE_V = 0.25


def test_separable_source_never_exceeds_two(lab_sessions):
    s = lab_sessions.get(SEPARABLE_V)
    a, b = pair_analyzers(s.lab)
    (uid,) = s.RE(plans.chsh(s.lab.tagger, a, b, duration_s=0.2))
    result = s.table(uid, "results").iloc[0]
    for kind in ("raw", "corrected"):
        assert result[f"s_{kind}"] <= 2 + 3 * result[f"s_{kind}_std"]
        assert result[f"sigmas_above_2_{kind}"] < 0
    assert abs(result["s_corrected"] - 2 * math.sqrt(2) * SEPARABLE_V) < 3 * result["s_corrected_std"]
