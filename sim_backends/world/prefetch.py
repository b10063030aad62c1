"""The next slice's pulsed-link photons, drawn in a second thread while this slice is tagged.

With ``OpticalWorld(threads=2)`` an acquisition of many slices overlaps the two heavy
passes: after slice i's photons are drawn, the world launches the walk of slice i + 1
here and then runs slice i's dead-time / tagger pass. At slice i + 1 it takes the drawn
photons only when the walk's inputs, computed afresh, are the same as those it was
launched with (same slots, nothing moved: paddles, waveplates, power, pattern, bias,
jitter); otherwise the photons are dropped and the link is walked again, so a change
between slices takes effect at the next slice exactly as with one thread.
"""

from __future__ import annotations

import numpy as np


class WalkPrefetch:
    """At most one walk drawn ahead per link (key: the link's index in the world).

    ``buffers(key)`` lends reusable output arrays (the world's scratch); each link
    alternates between two sets, so the photons being tagged are never overwritten by
    the walk drawn ahead.
    """

    def __init__(self, buffers):
        self._buffers = buffers
        self._jobs: dict[int, tuple] = {}
        self._parity: dict[int, int] = {}

    def launch(self, number: int, inputs, sigma: np.ndarray, normal_table: np.ndarray, state: np.ndarray) -> None:
        """Start walking ``inputs`` (a :class:`sim_backends.world.pulsed_links.WalkInputs`) in the worker."""
        from qnetlab.sim_backends.world.kernels.pulsed_walk import worker
        from qnetlab.sim_backends.world.pulsed_links import walk

        self.drop(number)
        inputs = inputs._replace(pattern=inputs.pattern.copy())  # the transmitter may rewrite its memory in place
        parity = self._parity[number] = self._parity.get(number, 0) ^ 1
        counts = np.zeros(sigma.size, np.int64)
        sigma = sigma.copy()
        lend = self._buffers(("prefetch", number, parity))
        future = worker().submit(walk, inputs, counts, state, sigma, normal_table, lend, 1)
        self._jobs[number] = (inputs, sigma, counts, future)

    def take(self, number: int, inputs, sigma: np.ndarray, counts: np.ndarray):
        """The photons drawn ahead for ``inputs``, or None when there are none or they are stale.

        On a hit ``counts`` (photons per source) grows as if the walk had run here.
        """
        job = self._jobs.pop(number, None)
        if job is None:
            return None
        job_inputs, job_sigma, job_counts, future = job
        found = future.result()
        if inputs is None or not inputs.same_as(job_inputs) or not np.array_equal(sigma, job_sigma):
            return None
        counts += job_counts
        return found

    def drop(self, number: int) -> None:
        """Wait for and discard the walk drawn ahead for a link, if any."""
        job = self._jobs.pop(number, None)
        if job is not None:
            job[3].result()
