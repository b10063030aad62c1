"""Figures of merit of a two-qubit state and their Monte Carlo (Poisson) uncertainties.

* fidelity ``F(ρ, σ) = (Tr √(√σ ρ √σ))²`` (``<ψ|ρ|ψ>`` for a pure target ket);
* purity ``Tr ρ²``;
* concurrence (Wootters, PRL 80 2245 (1998)): ``C = max(0, λ1 − λ2 − λ3 − λ4)`` with λ the
  decreasing square roots of the eigenvalues of ``ρ (σy⊗σy) ρ* (σy⊗σy)``;
* tangle ``T = C²``;
* trace distance ``½ ‖ρ − σ‖₁``.

For a Werner state of visibility V: ``F(Φ+) = (1 + 3V)/4``, ``C = max(0, (3V − 1)/2)``,
purity ``(1 + 3V²)/4``.
"""

import numpy as np

from .states import PAULI, bell_state

_YY = np.kron(PAULI[2], PAULI[2])


def _psd_sqrt(matrix):
    values, vectors = np.linalg.eigh((matrix + matrix.conj().T) / 2)
    return (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.conj().T


def fidelity(rho, target="phi+"):
    """Fidelity of ``rho`` to a target: Bell-state name, ket (length 4) or density matrix."""
    rho = np.asarray(rho, dtype=complex)
    if isinstance(target, str):
        target = bell_state(target)
    target = np.asarray(target, dtype=complex)
    if target.ndim == 1:
        target = target / np.linalg.norm(target)
        return float((target.conj() @ rho @ target).real)
    root = _psd_sqrt(target)
    inner = np.linalg.eigvalsh(root @ rho @ root)
    return float(np.sum(np.sqrt(np.clip(inner, 0, None))) ** 2)


def purity(rho):
    """``Tr ρ²``."""
    rho = np.asarray(rho, dtype=complex)
    return float(np.einsum("ij,ji->", rho, rho).real)


def concurrence(rho):
    """Wootters concurrence of a two-qubit density matrix."""
    rho = np.asarray(rho, dtype=complex)
    flipped = _YY @ rho.conj() @ _YY
    values = np.linalg.eigvals(rho @ flipped).real
    lam = np.sort(np.sqrt(np.clip(values, 0, None)))[::-1]
    return float(max(0.0, lam[0] - lam[1] - lam[2] - lam[3]))


def tangle(rho):
    """Tangle ``C²``."""
    return concurrence(rho) ** 2


def trace_distance(rho, sigma):
    """``½ ‖ρ − σ‖₁``."""
    diff = np.asarray(rho, dtype=complex) - np.asarray(sigma, dtype=complex)
    return float(0.5 * np.sum(np.abs(np.linalg.eigvalsh((diff + diff.conj().T) / 2))))


def figures_of_merit(rho, target="phi+"):
    """Fidelity to ``target``, purity, concurrence and tangle of one state, as a dict."""
    c = concurrence(rho)
    return {"fidelity": fidelity(rho, target), "purity": purity(rho), "concurrence": c, "tangle": c * c}


def monte_carlo(data, *, n_resamples=1000, target="phi+", rng=None, reconstruct=None):
    """Reconstruct, then resample the counts (Poisson about the recorded ones) and reconstruct each.

    Parameters
    ----------
    data : TomographyData
    n_resamples : int
    target : str or numpy.ndarray
        Target state of the fidelity.
    rng : numpy.random.Generator, optional
        Seeded generator (default ``numpy.random.default_rng()``).
    reconstruct : callable, optional
        ``data -> TomographyResult``; default :func:`.tomography.maximum_likelihood`.

    Returns
    -------
    dict
        ``{"rho": estimate, "pairs": ..., name: (value, std) for fidelity, purity,
        concurrence, tangle, "samples": {name: array}}``; the value is that of the estimate
        from the recorded counts, the std that of the resampled estimates.
    """
    from .tomography import maximum_likelihood

    reconstruct = maximum_likelihood if reconstruct is None else reconstruct
    rng = np.random.default_rng() if rng is None else rng
    if n_resamples < 2:
        raise ValueError(f"monte_carlo: n_resamples = {n_resamples} (need at least 2)")
    best = reconstruct(data)
    value = figures_of_merit(best.rho, target)
    samples = {name: np.empty(n_resamples) for name in value}
    from threadpoolctl import threadpool_limits

    # 4×4 algebra: BLAS threads only cost (they spin on a loaded machine)
    with threadpool_limits(1, user_api="blas"):
        for k in range(n_resamples):
            resampled = data.with_counts(rng.poisson(data.counts).astype(float))
            for name, v in figures_of_merit(reconstruct(resampled).rho, target).items():
                samples[name][k] = v
    out = {"rho": best.rho, "pairs": best.pairs, "samples": samples}
    for name, v in value.items():
        out[name] = (v, float(np.std(samples[name], ddof=1)))
    return out
