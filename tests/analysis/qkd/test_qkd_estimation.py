import numpy as np
import pytest

from qnetlab.analysis.qkd.estimation import binary_entropy, qber, qber_from_counts


def test_clopper_pearson_closed_forms():
    est = qber_from_counts(100, 0, confidence=0.99)
    assert est.lower == 0.0
    assert est.upper == pytest.approx(1 - 0.005 ** (1 / 100), rel=1e-9)
    est = qber_from_counts(1000, 30)
    assert est.lower < 0.03 < est.upper


@pytest.mark.parametrize("n,q", [(2000, 0.03), (500, 0.11), (10_000, 0.005)])
def test_interval_coverage_is_at_least_nominal(n, q):
    """Exact coverage: sum of binomial probabilities of the counts whose interval holds q."""
    from scipy.stats import binom

    cover = sum(
        binom.pmf(k, n, q)
        for k in range(n + 1)
        if qber_from_counts(n, k, 0.95).lower <= q <= qber_from_counts(n, k, 0.95).upper
    )
    assert 0.95 <= cover < 0.99


def test_qber_of_bits_and_errors():
    a = np.zeros(10, np.uint8)
    b = a.copy()
    b[:3] = 1
    assert qber(a, b).value == pytest.approx(0.3)
    with pytest.raises(ValueError, match="lengths differ"):
        qber(a, b[:5])
    with pytest.raises(ValueError, match="no compared bits"):
        qber_from_counts(0, 0)


def test_binary_entropy():
    assert binary_entropy(0.5) == pytest.approx(1.0)
    assert binary_entropy(0.0) == 0.0 and binary_entropy(1.0) == 0.0
    assert binary_entropy(0.11) == pytest.approx(0.4999, abs=1e-3)
