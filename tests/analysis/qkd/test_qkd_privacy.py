import numpy as np
import pytest

from qnetlab.analysis.qkd.privacy import multiply_add_shift_hash, new_seed, seed_bits, toeplitz_hash


def _explicit(x, m, seed, identity):
    n = x.size
    if identity:
        head, x = x[:m], x[m:]
        n = x.size
    s = seed_bits(seed, n + m - 1).astype(int)
    t = np.array([[s[i - j + n - 1] for j in range(n)] for i in range(m)]).reshape(m, n)
    y = (t @ x) % 2
    return (y ^ head) if identity else y


@pytest.mark.parametrize("identity", [True, False])
@pytest.mark.parametrize("n,m", [(200, 50), (257, 256), (129, 1), (300, 150)])
def test_matches_explicit_matrix(n, m, identity):
    rng = np.random.default_rng(n + m)
    x = rng.integers(0, 2, n, dtype=np.uint8)
    seed = new_seed(rng)
    assert np.array_equal(toeplitz_hash(x, m, seed, identity), _explicit(x, m, seed, identity))


def test_large_input_exact_against_blockwise_reference():
    """1e5 bits: compare a slice of outputs with direct parities of matrix rows."""
    rng = np.random.default_rng(5)
    n, m = 100_000, 40_000
    x = rng.integers(0, 2, n, dtype=np.uint8)
    seed = new_seed(rng)
    y = toeplitz_hash(x, m, seed, identity=False)
    s = seed_bits(seed, n + m - 1)
    for i in rng.integers(0, m, 25):
        row = s[i : i + n][::-1]  # T[i, j] = s[i - j + n - 1]
        assert y[i] == (int(row @ x) & 1)


def test_two_universal_collision_rate():
    """Pr[h(x) = h(x')] = 2^-m over seeds for a fixed pair x != x' (m = 3)."""
    rng = np.random.default_rng(9)
    x = rng.integers(0, 2, 64, dtype=np.uint8)
    x2 = x.copy()
    x2[[5, 40]] ^= 1
    trials = 2000
    hits = sum(np.array_equal(toeplitz_hash(x, 3, s), toeplitz_hash(x2, 3, s)) for s in range(trials))
    # binomial(2000, 1/8): mean 250, sd 14.8
    assert abs(hits - trials / 8) < 5 * 14.8


def test_seed_is_deterministic_and_output_length_checked():
    x = np.random.default_rng(0).integers(0, 2, 1000, dtype=np.uint8)
    assert np.array_equal(toeplitz_hash(x, 100, 42), toeplitz_hash(x, 100, 42))
    assert not np.array_equal(toeplitz_hash(x, 100, 42), toeplitz_hash(x, 100, 43))
    assert toeplitz_hash(x, 0, 1).size == 0
    with pytest.raises(ValueError, match="output length"):
        toeplitz_hash(x, 1001, 1)


def test_scipy_and_fftw_paths_agree(monkeypatch):
    from qnetlab.analysis.qkd import privacy

    rng = np.random.default_rng(8)
    x = rng.integers(0, 2, 5000, dtype=np.uint8)
    with_default = toeplitz_hash(x, 2000, 77)
    size = privacy._fft_len(x.size - 2000 + 2000 - 1)
    monkeypatch.setitem(privacy._PLANS, size, None)  # None selects scipy.fft
    assert np.array_equal(toeplitz_hash(x, 2000, 77), with_default)


def test_prepare_with_wisdom_file(tmp_path):
    pytest.importorskip("pyfftw")
    from qnetlab.analysis.qkd import privacy

    wisdom = tmp_path / "fftw.wisdom"
    privacy.prepare(3000, 1000, effort="FFTW_MEASURE", wisdom_file=wisdom)
    assert wisdom.stat().st_size > 0
    privacy.prepare(3000, 1000, effort="FFTW_MEASURE", wisdom_file=wisdom)  # reads it back
    x = np.random.default_rng(0).integers(0, 2, 3000, dtype=np.uint8)
    assert np.array_equal(toeplitz_hash(x, 1000, 5), _explicit(x, 1000, 5, True))


def _mas_reference(x, m, seed):
    """Independent evaluation with Python integers, bit by bit."""
    n = x.size
    w = n + m - 1
    raw = np.random.Generator(np.random.PCG64(seed)).bytes(2 * ((w + 7) // 8))
    nb = (w + 7) // 8
    a = int.from_bytes(raw[:nb], "little") % 2**w
    b = int.from_bytes(raw[nb:], "little") % 2**w
    xi = sum(int(v) << i for i, v in enumerate(x))
    y = ((a * xi + b) % 2**w) >> (n - 1)
    return np.array([(y >> i) & 1 for i in range(m)], np.uint8)


@pytest.mark.parametrize("n,m", [(200, 50), (257, 256), (129, 1), (3000, 1500)])
def test_multiply_add_shift_matches_integer_reference(n, m):
    rng = np.random.default_rng(n * m)
    x = rng.integers(0, 2, n, dtype=np.uint8)
    seed = new_seed(rng)
    assert np.array_equal(multiply_add_shift_hash(x, m, seed), _mas_reference(x, m, seed))


def test_multiply_add_shift_family_is_strongly_universal_exhaustively():
    """n = 4 input bits, m = 2 output bits, w = 5: every (a, b) in [32]^2 enumerated.

    Strong universality: for x != y and any outputs (i, j), exactly 1/16 of the
    seeds give h(x) = i and h(y) = j (so collisions happen with probability 1/4).
    """
    n, m = 4, 2
    w = n + m - 1
    counts = np.zeros((16, 16, 4, 4), int)
    for a in range(2**w):
        for b in range(2**w):
            h = [((a * x + b) % 2**w) >> (n - 1) for x in range(16)]
            for x in range(16):
                for y in range(16):
                    counts[x, y, h[x], h[y]] += 1
    off = ~np.eye(16, dtype=bool)
    assert (counts[off] == 4**w // 16).all()


def test_multiply_add_shift_collision_rate_on_long_keys():
    rng = np.random.default_rng(11)
    x = rng.integers(0, 2, 5000, dtype=np.uint8)
    x2 = x.copy()
    x2[[7, 4000]] ^= 1
    trials = 2000
    hits = sum(
        np.array_equal(multiply_add_shift_hash(x, 3, s), multiply_add_shift_hash(x2, 3, s)) for s in range(trials)
    )
    assert abs(hits - trials / 8) < 5 * 14.8
    with pytest.raises(ValueError, match="output length 5001"):
        multiply_add_shift_hash(x, 5001, 1)
    assert multiply_add_shift_hash(x, 0, 1).size == 0
