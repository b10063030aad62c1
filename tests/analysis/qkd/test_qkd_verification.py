import numpy as np
import pytest

from qnetlab.analysis.qkd.privacy import seed_bits
from qnetlab.analysis.qkd.verification import check_tag, hash_tag, make_tag, tag_length


def test_tag_length():
    assert tag_length(1e-15) == 50
    assert tag_length(0.5) == 1
    with pytest.raises(ValueError):
        tag_length(0.0)


def test_hankel_hash_matches_matrix():
    rng = np.random.default_rng(0)
    n, t = 300, 70
    x = rng.integers(0, 2, n, dtype=np.uint8)
    s = seed_bits(11, n + t - 1).astype(int)
    h = np.array([[s[i + j] for j in range(n)] for i in range(t)])
    assert np.array_equal(hash_tag(x, 11, t), (h @ x) % 2)


def test_equal_keys_pass_and_one_bit_difference_fails():
    rng = np.random.default_rng(1)
    key = rng.integers(0, 2, 100_000, dtype=np.uint8)
    for _ in range(20):
        tag = make_tag(key, 1e-12, rng)
        assert check_tag(key.copy(), tag)
        bad = key.copy()
        bad[rng.integers(key.size)] ^= 1
        assert not check_tag(bad, tag)
    assert "1, 0" not in repr(tag)
