"""Privacy amplification: 2-universal hashing by big-integer arithmetic or Toeplitz FFT.

Default (:func:`multiply_add_shift_hash`): the strongly universal
multiply-add-shift family of Dietzfelbinger (STACS 1996; M. Thorup, "High
speed hashing for integers and strings", arXiv:1504.06804, Sec. 3.3).  For an
n-bit key read as the integer x and output length m, with w = n + m - 1 and
seeds a, b uniform in [0, 2^w),

    h_{a,b}(x) = ((a x + b) mod 2^w) div 2^(n - 1),

which is strongly universal, hence 2-universal with collision probability
2^-m as the leftover-hash lemma behind Lim et al., Eq. (B1), needs.  One
GMP multiplication of a 1e6-bit by a 1.5e6-bit integer (gmpy2) takes a few
milliseconds: about 10x faster than the Toeplitz FFT below on the same key.

The family {T_s : s in {0,1}^(n+m-1)} of m x n Toeplitz matrices over GF(2),
``T[i, j] = s[i - j + n - 1]``, is 2-universal (Krawczyk, CRYPTO 1994), which
is what the leftover-hash lemma behind Lim et al., PRA 89, 022307 (2014),
Eq. (B1), needs.  ``T x`` is the middle of the integer convolution ``s * x``
reduced mod 2; one real FFT convolution of length about n + m computes it
exactly (counts are below 2^53, rounding error far below 1/2).

With ``identity=True`` (the default) the matrix is ``[I_m | T]`` with T an
m x (n - m) Toeplitz matrix (Hayashi and Tsurumaru, IEEE TIT 62, 2213 (2016)).
It is still 2-universal: for inputs differing by d = (d1, d2), d2 = 0 never
collides (d1 != 0 survives the identity) and d2 != 0 gives T d2 uniform, so
Pr[collision] = 2^-m.  It needs n - 1 seed bits instead of n + m - 1 and a
transform of length about n instead of n + m: about 1.5x faster.

The seed is a 128-bit integer drawn per block and recorded; both parties expand
it to the matrix bits with PCG64.

FFT backend: pyFFTW (planned FFTW transforms) when installed, else
``scipy.fft``; both are exact here.  On the 2-core reference machine FFTW is
about 3.5x faster than scipy's pocketfft at 2^20 points (docs/qkd.md).
"""

from __future__ import annotations

import os
import pickle
import secrets
from pathlib import Path
from typing import Any

import numpy as np
import scipy.fft as sfft

__all__ = ["multiply_add_shift_hash", "new_seed", "plan_fft", "prepare", "seed_bits", "toeplitz_hash"]


def new_seed(rng: np.random.Generator | None = None) -> int:
    """A fresh 128-bit seed (from ``rng`` if given, else the OS)."""
    if rng is None:
        return secrets.randbits(128)
    hi, lo = (int(v) for v in rng.integers(0, 2**64, 2, dtype=np.uint64))
    return (hi << 64) | lo


def seed_bits(seed: int, length: int) -> np.ndarray:
    """Expand a seed into ``length`` matrix bits (uint8 0/1)."""
    gen = np.random.Generator(np.random.PCG64(seed))
    raw = np.frombuffer(gen.bytes((length + 7) // 8), np.uint8)
    return np.unpackbits(raw, bitorder="little")[:length]


def _gmpy2() -> Any:
    """The gmpy2 module (imported where used; it ships no type information for its C core)."""
    import importlib

    return importlib.import_module("gmpy2")


def multiply_add_shift_hash(key: np.ndarray, out_len: int, seed: int) -> np.ndarray:
    """Hash ``key`` (n bits) to ``out_len`` bits with the multiply-add-shift family.

    Parameters
    ----------
    key : ndarray of uint8 (0/1), length n
        Read as the integer x = sum key[i] 2^i.
    out_len : int
        Secure length m (bits), 0 <= m <= n.
    seed : int
        Per-block seed (see :func:`new_seed`); expanded with PCG64 into a and b
        (w = n + m - 1 bits each, a first).

    Returns
    -------
    ndarray of uint8 (0/1), length m: bits n-1 .. n+m-2 of (a x + b) mod 2^w.
    """
    gmpy2 = _gmpy2()
    key = np.asarray(key, dtype=np.uint8)
    n = key.size
    if not 0 <= out_len <= n:
        raise ValueError(f"privacy amplification: output length {out_len} not in [0, {n}]")
    if out_len == 0:
        return np.zeros(0, np.uint8)
    w = n + out_len - 1
    a, b = _seed_integers(seed, w)
    x = gmpy2.mpz.from_bytes(np.packbits(key, bitorder="little").tobytes(), "little")
    y = gmpy2.f_div_2exp(gmpy2.f_mod_2exp(a * x + b, w), n - 1)
    raw = np.frombuffer(y.to_bytes((out_len + 7) // 8, "little"), np.uint8)
    return np.unpackbits(raw, bitorder="little")[:out_len]


def _seed_integers(seed: int, w: int):
    """Two uniform w-bit integers (gmpy2 mpz) from a seed, by PCG64."""
    gmpy2 = _gmpy2()

    n_bytes = (w + 7) // 8
    raw = np.random.Generator(np.random.PCG64(seed)).bytes(2 * n_bytes)
    a = gmpy2.f_mod_2exp(gmpy2.mpz.from_bytes(raw[:n_bytes], "little"), w)
    b = gmpy2.f_mod_2exp(gmpy2.mpz.from_bytes(raw[n_bytes:], "little"), w)
    return a, b


_PLANS: dict[int, tuple | None] = {}


def plan_fft(size: int, effort: str = "FFTW_ESTIMATE"):
    """Build (once) and cache FFTW plans (forward, inverse) for one transform length.

    ``effort="FFTW_MEASURE"`` takes about 25 s at 2^20 points on the reference
    machine and makes each transform about 2x faster; a long acquisition run
    should call it once at start (see :func:`prepare`).  Returns None without pyFFTW.
    """
    cached = _PLANS.get(size, ())
    if size in _PLANS and (effort == "FFTW_ESTIMATE" or cached is None or cached[2] == effort):
        return cached
    try:
        import pyfftw
    except ImportError:
        _PLANS[size] = None
        return None
    buf = pyfftw.empty_aligned(size, dtype="float64")
    spec = pyfftw.empty_aligned(size // 2 + 1, dtype="complex128")
    out = pyfftw.empty_aligned(size, dtype="float64")
    fwd = pyfftw.FFTW(buf, spec, direction="FFTW_FORWARD", flags=(effort,), threads=1)
    inv = pyfftw.FFTW(spec.copy(), out, direction="FFTW_BACKWARD", flags=(effort, "FFTW_DESTROY_INPUT"), threads=1)
    _PLANS[size] = (fwd, inv, effort)
    return _PLANS[size]


def prepare(
    n: int,
    out_len: int,
    identity: bool = True,
    effort: str = "FFTW_MEASURE",
    wisdom_file: str | os.PathLike | None = None,
) -> None:
    """Plan the transform that :func:`toeplitz_hash` will use for this shape.

    With ``wisdom_file`` FFTW's accumulated planning knowledge is read from it
    (if present) before planning and written back after, so a measured plan
    costs its ~25 s only once per machine.  No-op without pyFFTW.
    """
    n_t = n - out_len if identity else n
    size = _fft_len(n_t + out_len - 1)
    try:
        import pyfftw
    except ImportError:
        return
    path = Path(wisdom_file) if wisdom_file is not None else None
    if path is not None and path.exists():
        pyfftw.import_wisdom(pickle.loads(path.read_bytes()))
    plan_fft(size, effort)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(pickle.dumps(pyfftw.export_wisdom()))


def _circular_convolution(x: np.ndarray, s: np.ndarray, size: int) -> np.ndarray:
    """Circular convolution of two 0/1 uint8 arrays, zero-padded to ``size`` (float64)."""
    plans = plan_fft(size)
    if plans is None:
        fx = np.asarray(sfft.rfft(x.astype(np.float64), size, workers=1))
        fx *= np.asarray(sfft.rfft(s.astype(np.float64), size, workers=1))
        return np.asarray(sfft.irfft(fx, size, workers=1))
    fwd, inv, _ = plans
    buf = fwd.input_array
    buf[: x.size] = x
    buf[x.size :] = 0.0
    fx = fwd().copy()
    buf[: s.size] = s
    buf[s.size :] = 0.0
    fx *= fwd()
    inv.input_array[:] = fx
    return inv()  # pyFFTW normalises the inverse by 1/size


def _fft_len(need: int) -> int:
    """Fastest transform length >= need among 2^a and 3*2^a (pocketfft's best)."""
    p2 = 1 << max(need - 1, 1).bit_length()
    p3 = 3 << max((need - 1) // 3, 1).bit_length()
    while p3 // 2 >= need and p3 % 2 == 0:
        p3 //= 2
    return min(p2, p3 if p3 >= need else p2)


def toeplitz_hash(key: np.ndarray, out_len: int, seed: int, identity: bool = True) -> np.ndarray:
    """Hash ``key`` (n bits) to ``out_len`` bits with the Toeplitz matrix of ``seed``.

    Parameters
    ----------
    key : ndarray of uint8 (0/1), length n
    out_len : int
        Secure length m (bits), 0 <= m <= n.
    seed : int
        Per-block seed (see :func:`new_seed`), recorded for the catalog.
    identity : bool
        True: matrix ``[I_m | T]``, T Toeplitz m x (n-m), seed of n-1 bits.
        False: plain Toeplitz m x n, ``T[i, j] = s[i - j + n - 1]``, seed of
        n+m-1 bits.

    Returns
    -------
    ndarray of uint8 (0/1), length m
    """
    key = np.asarray(key, dtype=np.uint8)
    n = key.size
    if not 0 <= out_len <= n:
        raise ValueError(f"privacy amplification: output length {out_len} not in [0, {n}]")
    if out_len == 0:
        return np.zeros(0, np.uint8)
    head = np.zeros(0, np.uint8)
    if identity:
        head, key = key[:out_len], key[out_len:]
        n = key.size
        if n == 0:
            return head.copy()
    s = seed_bits(seed, n + out_len - 1)
    conv = _circular_convolution(key, s, _fft_len(n + out_len - 1))[n - 1 : n - 1 + out_len]
    out = (np.rint(conv).astype(np.int64) & 1).astype(np.uint8)
    if identity:
        out ^= head
    return out
