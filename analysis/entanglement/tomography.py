"""Two-qubit state reconstruction: linear inversion and Poisson maximum likelihood.

Model: outcome i has expected counts ``μ_i = η_i Tr(P_i ρ̃) + a_i``; ``ρ = ρ̃ / Tr ρ̃`` and
``Tr ρ̃`` is the fitted pair number per unit exposure. The estimate minimizes the exact
Poisson negative log likelihood ``Σ_i μ_i − n_i log μ_i`` (not the Gaussian
``Σ (μ − n)²/μ`` of James et al. 2001) in two stages:

1. Newton's method over all Hermitian ρ̃ (the NLL is convex there, μ linear), from the
   weighted linear inversion; a positive semidefinite minimizer is the answer.
2. Otherwise the optimum lies on the boundary: ``ρ̃ = T T†`` with T lower triangular
   (Cholesky / "T-matrix" parametrization, James et al. 2001), damped Newton with the exact
   Hessian in T's 16 real parameters (gradient ``2 G T``, ``G = Σ_i η_i (1 − n_i/μ_i) P_i``),
   started from the linear inversion projected onto the density matrices (closest in
   Frobenius norm; Smolin, Gambetta and Smith, PRL 108 070502 (2012)).

Either way the result is Hermitian, positive semidefinite and of trace one.
"""

from dataclasses import dataclass

import numpy as np

from .states import PAULI

_DIM = 4
_LOWER = np.tril_indices(_DIM, -1)
_DIAG = np.diag_indices(_DIM)
_N_OFF = len(_LOWER[0])
# Pauli products σ_a ⊗ σ_b / 2: an orthonormal real basis of 4×4 Hermitian matrices
_PAULI_BASIS = np.array([np.kron(PAULI[a], PAULI[b]) / 2 for a in range(4) for b in range(4)])


@dataclass(frozen=True)
class TomographyResult:
    """A reconstructed state.

    Attributes
    ----------
    rho : numpy.ndarray
        4×4 density matrix (Hermitian, PSD, trace 1), basis ``|HH>, |HV>, |VH>, |VV>``.
    pairs : float
        Fitted pair number per unit exposure ``Tr ρ̃`` (counts at efficiency 1, exposure 1).
    neg_log_likelihood : float
        Poisson ``Σ μ − n log μ`` at the estimate (constant terms dropped).
    iterations : int
        Optimizer iterations (0 for linear inversion).
    """

    rho: np.ndarray
    pairs: float
    neg_log_likelihood: float
    iterations: int


def project_to_physical(matrix):
    """The density matrix closest (Frobenius) to a Hermitian matrix of trace one.

    Eigenvalues are projected onto the probability simplex (Smolin et al. 2012); the
    eigenvectors are kept.
    """
    h = (np.asarray(matrix, dtype=complex) + np.asarray(matrix, dtype=complex).conj().T) / 2
    values, vectors = np.linalg.eigh(h / np.trace(h).real)
    srt = np.sort(values)[::-1]
    cumulative = np.cumsum(srt) - 1
    k = np.nonzero(srt - cumulative / np.arange(1, len(srt) + 1) > 0)[0][-1]
    shift = cumulative[k] / (k + 1)
    clipped = np.clip(values - shift, 0, None)
    return (vectors * clipped) @ vectors.conj().T


def _design(data):
    """(m, 16) real matrix D with ``Tr(P_i B_k) η_i``: expected counts ``D c + a`` for ``ρ̃ = Σ c_k B_k``."""
    traces = np.einsum("mij,kji->mk", data.projectors, _PAULI_BASIS).real
    return traces * data.efficiency[:, None]


def _linear_coefficients(data, design):
    weights = 1 / np.sqrt(np.maximum(data.counts, 1.0))
    coeffs, _, rank, _ = np.linalg.lstsq(design * weights[:, None], (data.counts - data.accidentals) * weights)
    if rank < 16:
        raise ValueError(f"tomography: the {len(data.counts)} outcomes are not informationally complete")
    return coeffs


def linear_inversion(data, *, physical=True):
    """Weighted least-squares inversion of ``n − a = η Tr(P ρ̃)``.

    Parameters
    ----------
    data : TomographyData
    physical : bool
        Project the result onto the density matrices (else return the Hermitian, trace-one
        matrix, which may have negative eigenvalues).

    Returns
    -------
    TomographyResult
    """
    rho_tilde = np.einsum("k,kij->ij", _linear_coefficients(data, _design(data)), _PAULI_BASIS)
    pairs = float(np.trace(rho_tilde).real)
    if not pairs > 0:
        raise ValueError("tomography: linear inversion gives no pairs (counts at or below accidentals)")
    rho = project_to_physical(rho_tilde) if physical else rho_tilde / pairs
    mu = _expected(rho * pairs, data)
    return TomographyResult(rho, pairs, _nll(mu, data.counts), 0)


def _expected(rho_tilde, data):
    return data.efficiency * np.einsum("mij,ji->m", data.projectors, rho_tilde).real + data.accidentals


def _nll(mu, counts):
    mu = np.maximum(mu, 1e-300)
    return float(np.sum(mu - counts * np.log(mu)))


# the 16 T-matrix parameters: diagonal (real), lower off-diagonal real parts, imaginary parts;
# parameter a puts c_a at entry (row_a, col_a) of T
_ROW = np.concatenate([_DIAG[0], _LOWER[0], _LOWER[0]])
_COL = np.concatenate([_DIAG[1], _LOWER[1], _LOWER[1]])
_COEF = np.concatenate([np.ones(_DIM + _N_OFF), 1j * np.ones(_N_OFF)])
_SAME_COL = _COL[:, None] == _COL[None, :]
_COEF_PAIRS = _COEF[:, None] * _COEF.conj()[None, :]


def _t_matrix(t):
    tm = np.zeros((_DIM, _DIM), dtype=complex)
    tm[_DIAG] = t[:_DIM]
    tm[_LOWER] = t[_DIM : _DIM + _N_OFF] + 1j * t[_DIM + _N_OFF :]
    return tm


def _t_params(tm):
    return np.concatenate([tm[_DIAG].real, tm[_LOWER].real, tm[_LOWER].imag])


class _PoissonObjective:
    """Scaled Poisson NLL ``f(t) = (Σ μ − n log μ)/Σn`` of the T-matrix parameters t (16 reals)."""

    def __init__(self, data):
        m = len(data.counts)
        flat = data.projectors.reshape(m, 16)
        # Tr(P ρ) = Σ conj(P)_jk ρ_jk: real and imaginary parts stacked, weighted by η
        self.real_design = np.hstack([flat.real, flat.imag]) * data.efficiency[:, None]
        self.projectors = data.projectors
        self.weighted_projectors = flat * data.efficiency[:, None]
        self.efficiency = data.efficiency
        self.counts = data.counts
        self.accidentals = data.accidentals
        self.scale = 1 / max(float(data.counts.sum()), 1.0)
        self.floor = 1e-12 * max(float(data.counts.mean()), 1.0)
        self.positive = data.counts > 0

    def _mu(self, tm):
        rho_tilde = tm @ tm.conj().T
        mu = self.real_design @ np.concatenate([rho_tilde.real.ravel(), rho_tilde.imag.ravel()]) + self.accidentals
        return np.maximum(mu, self.floor)

    def value(self, t):
        mu = self._mu(_t_matrix(t))
        return float(np.sum(mu) - self.counts[self.positive] @ np.log(mu[self.positive])) * self.scale

    def derivatives(self, t):
        """Value, gradient and exact Hessian at t."""
        tm = _t_matrix(t)
        mu = self._mu(tm)
        ratio = self.counts / mu
        value = float(np.sum(mu) - self.counts[self.positive] @ np.log(mu[self.positive]))
        # ∂μ_i/∂t_a = 2 η_i Re[conj(c_a) (P_i T)_{row_a, col_a}]
        pt = (self.projectors @ tm)[:, _ROW, _COL]
        jac = 2 * self.efficiency[:, None] * (pt * _COEF.conj()).real
        weight = 1 - ratio
        grad = weight @ jac
        # Hessian: Jᵀ diag(n/μ²) J + Σ w_i ∂²μ_i, where
        # Σ w_i ∂²μ_i/∂t_a∂t_b = 2 Re[c_a c̄_b G_{row_b row_a}] δ(col_a, col_b)
        g = (weight @ self.weighted_projectors).reshape(_DIM, _DIM)
        second = 2 * (_COEF_PAIRS * g[_ROW[None, :], _ROW[:, None]]).real * _SAME_COL
        hess = (jac.T * (ratio / mu)) @ jac + second
        return value * self.scale, grad * self.scale, hess * self.scale


def _damped_newton(objective, t, tolerance, max_iterations):
    """Damped Newton with |eigenvalues| of the Hessian (Levenberg damping, Armijo test).

    Stops when the predicted decrease of the (scaled) likelihood falls below ``tolerance``.
    """
    f, g, h = objective.derivatives(t)
    damping = 1e-8 * float(np.max(np.abs(np.diag(h))))
    for iteration in range(1, max_iterations + 1):
        values, vectors = np.linalg.eigh(h)
        curvature = np.abs(values)
        projected = vectors.T @ g
        while True:
            step = -vectors @ (projected / (curvature + damping))
            decrease = -float(g @ step)
            if decrease < tolerance:
                return t, iteration
            f_new = objective.value(t + step)
            if f_new <= f - 1e-4 * decrease:
                break
            damping = 10 * damping + 1e-12 * float(curvature[-1])
        # where the optimum has a degenerate zero eigenvalue, f ~ t⁴ along it and the Newton
        # step covers a third of the way: try the longer steps too and keep the best
        for longer in (3.0, 2.0):
            f_long = objective.value(t + longer * step)
            if f_long < f_new:
                step, f_new = longer * step, f_long
                break
        t = t + step
        damping /= 10
        f, g, h = objective.derivatives(t)
    return t, max_iterations


def _interior_newton(data, design, coeffs, tolerance, max_iterations=30):
    """Newton's method on the convex NLL over all Hermitian ρ̃ (``μ = D c + a`` is linear in c).

    Returns the minimizing coefficients and the iterations taken when it converges with every
    μ of a recorded outcome positive, else None. When its ρ̃ is positive semidefinite it is the constrained optimum too.
    """
    counts, acc, positive = data.counts, data.accidentals, data.counts > 0

    def value(c):
        mu = design @ c + acc
        if np.any(mu[positive] <= 0):
            return np.inf
        return float(np.sum(mu) - counts[positive] @ np.log(mu[positive]))

    f = value(coeffs)
    if not np.isfinite(f):
        return None
    for iteration in range(1, max_iterations + 1):
        mu = design @ coeffs + acc
        ratio = np.where(positive, counts / np.where(positive, mu, 1.0), 0.0)
        grad = (1 - ratio) @ design
        hess = (design.T * (ratio / np.where(positive, mu, 1.0))) @ design
        try:
            step = -np.linalg.solve(hess, grad)
        except np.linalg.LinAlgError:
            return None
        decrease = -float(grad @ step)
        if not decrease >= 0:
            return None
        if decrease < tolerance:
            return coeffs + step, iteration
        for _ in range(30):
            f_new = value(coeffs + step)
            if f_new <= f - 1e-4 * decrease:
                break
            step, decrease = step / 2, decrease / 2
        else:
            return None
        coeffs, f = coeffs + step, f_new
    return None


def maximum_likelihood(data, *, start=None, tolerance=1e-10, max_iterations=200):
    """Poisson maximum-likelihood state (see the module docstring).

    Parameters
    ----------
    data : TomographyData
    start : TomographyResult, optional
        Starting point of the T-matrix stage, which then runs alone; default: the interior
        stage first, then (if needed) the T-matrix stage from the physical linear inversion.
    tolerance : float
        Predicted decrease of the negative log likelihood (natural units, whole data set)
        below which iteration stops; 1e-10 is far below a statistically visible change (0.5).
    max_iterations : int

    Returns
    -------
    TomographyResult
    """
    if np.any(data.efficiency <= 0) or np.any(data.accidentals < 0):
        raise ValueError("tomography: efficiencies must be > 0 and accidentals >= 0")
    if start is None:
        # an interior optimum (full rank, or zero eigenvalues that the data fit exactly) is the
        # minimum over all Hermitian ρ̃: Newton on that convex problem finds it directly
        design = _design(data)
        coeffs = _linear_coefficients(data, design)
        found = _interior_newton(data, design, coeffs, tolerance)
        if found is not None:
            rho_tilde = np.einsum("k,kij->ij", found[0], _PAULI_BASIS)
            values, vectors = np.linalg.eigh(rho_tilde)
            if values[0] >= -1e-9 * values[-1]:
                rho_tilde = (vectors * np.clip(values, 0, None)) @ vectors.conj().T
                pairs = float(np.trace(rho_tilde).real)
                nll = _nll(_expected(rho_tilde, data), data.counts)
                return TomographyResult(rho_tilde / pairs, pairs, nll, found[1])
        start = linear_inversion(data)
    # a little of the maximally mixed state keeps the Cholesky factor regular
    rho0 = 0.99 * start.rho + 0.01 * np.eye(_DIM) / _DIM
    objective = _PoissonObjective(data)
    t0 = _t_params(np.linalg.cholesky(rho0 * start.pairs))
    t, iterations = _damped_newton(objective, t0, tolerance * objective.scale, max_iterations)
    tm = _t_matrix(t)
    rho_tilde = tm @ tm.conj().T
    pairs = float(np.trace(rho_tilde).real)
    rho = rho_tilde / pairs
    rho = (rho + rho.conj().T) / 2
    return TomographyResult(rho, pairs, _nll(_expected(rho_tilde, data), data.counts), iterations)
