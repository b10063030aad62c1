"""An intercept-resend eavesdropper on a polarization BB84 link (the simulated Eve).

Eve sits at Alice's output, measures every pulse in Z or X at random (ideal detector) and
resends, at the same intensity, the BB84 state she found. In her basis she resends Alice's
state; in the other she resends one of the other basis's two states with probability 1/2
each. Bob's click probabilities for Alice's state s are then
P(role | s) = 1/2 P0(role | s) + 1/4 [P0(role | o1) + P0(role | o2)], with P0 those of the
link without Eve and o1, o2 the states of the other basis: the sifted QBER rises to
1/4 (plus the link's own) and the gains are unchanged, so decoys do not reveal her.
"""

from __future__ import annotations

import numpy as np

# rows of BB84_KETS: H, V, D, A; the two states of the other basis of each
_OTHER_BASIS = np.array([[2, 3], [2, 3], [0, 1], [0, 1]])


def intercept_resend(per_state: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Bob's click probabilities per role and Alice state (H, V, D, A) with Eve on the fiber."""
    out = {}
    for role, p in per_state.items():
        p = np.asarray(p, dtype=float)
        out[role] = 0.5 * p + 0.25 * (p[_OTHER_BASIS[:, 0]] + p[_OTHER_BASIS[:, 1]])
    return out
