"""Model-free fallback: Nelder-Mead over the paddle angles on the measured QBER, with restarts.

Written as a generator so that any driver (a Bluesky plan, a test's loop) can run it:
it yields the angles to measure at and is sent back the cost measured there. It needs no
model of the paddles or the receiver, so it converges where the fast method's model is
wrong; it stops as soon as a measured cost is below the goal.
"""

from __future__ import annotations

from collections.abc import Generator

import numpy as np


def nelder_mead(
    start_deg: np.ndarray,
    travel_deg: tuple[float, float],
    rng: np.random.Generator,
    *,
    step_deg: float = 30.0,
    tolerance_deg: float = 0.5,
    max_evaluations: int = 400,
) -> Generator[np.ndarray, float, tuple[np.ndarray, float]]:
    """Minimize a measured cost over 3 paddle angles; ``yield`` angles, receive the cost.

    A restart from a random point inside the travel follows a simplex that shrank below
    ``tolerance_deg`` (a local minimum or a noisy plateau). The caller stops the generator
    when the cost is good enough; it returns (best angles, best cost) after
    ``max_evaluations``. Angles are clipped into ``travel_deg``.
    """
    low, high = travel_deg
    best_x, best_f = np.clip(np.asarray(start_deg, float), low, high), np.inf
    evaluations = 0
    x0 = best_x
    while evaluations < max_evaluations:
        simplex = [x0] + [
            np.clip(x0 + step_deg * np.eye(3)[k] * (1 if x0[k] + step_deg <= high else -1), low, high) for k in range(3)
        ]
        values = []
        for point in simplex:
            value = yield point
            evaluations += 1
            values.append(value)
        while evaluations < max_evaluations:
            order = np.argsort(values)
            simplex = [simplex[i] for i in order]
            values = [values[i] for i in order]
            if values[0] < best_f:
                best_x, best_f = simplex[0], values[0]
            if max(np.max(np.abs(p - simplex[0])) for p in simplex[1:]) < tolerance_deg:
                break
            centroid = np.mean(simplex[:-1], axis=0)
            reflected = np.clip(2 * centroid - simplex[-1], low, high)
            f_r = yield reflected
            evaluations += 1
            if f_r < values[0]:
                expanded = np.clip(3 * centroid - 2 * simplex[-1], low, high)
                f_e = yield expanded
                evaluations += 1
                simplex[-1], values[-1] = (expanded, f_e) if f_e < f_r else (reflected, f_r)
            elif f_r < values[-2]:
                simplex[-1], values[-1] = reflected, f_r
            else:
                contracted = np.clip(centroid + 0.5 * (simplex[-1] - centroid), low, high)
                f_c = yield contracted
                evaluations += 1
                if f_c < values[-1]:
                    simplex[-1], values[-1] = contracted, f_c
                else:  # shrink toward the best
                    for i in range(1, 4):
                        simplex[i] = simplex[0] + 0.5 * (simplex[i] - simplex[0])
                        values[i] = yield simplex[i]
                        evaluations += 1
        x0 = rng.uniform(low, high, size=3)
    return best_x, float(best_f)
