"""Entanglement verification plans on the pair source: visibility curves, CHSH, state tomography,
and the calibration of the analyzers' mount zeros (:func:`mount_zeros`).

Each plan turns the two analyzers (:class:`Analyzer`, built from a lab by
:func:`pair_analyzers`), counts coincidences live from the tagger's stream (raw tags kept
in stream ``timetags``), records the counts of every setting in stream ``primary`` and its
results in stream ``results``, and returns the run uid. The numbers come from
:mod:`qnetlab.analysis.entanglement`; live figures (IPython only by default) from :mod:`.live`.

>>> from qnetlab.plans.entanglement import chsh, pair_analyzers
>>> a, b = pair_analyzers(s.lab)
>>> (uid,) = s.RE(chsh(s.lab.tagger, a, b, duration_s=1))
"""

from qnetlab.plans.entanglement.analyzers import Analyzer, pair_analyzers
from qnetlab.plans.entanglement.chsh import chsh
from qnetlab.plans.entanglement.mount_zeros import mount_zeros
from qnetlab.plans.entanglement.tomography import read_rho, state_tomography
from qnetlab.plans.entanglement.visibility import visibility_curves

__all__ = ["Analyzer", "chsh", "mount_zeros", "pair_analyzers", "read_rho", "state_tomography", "visibility_curves"]
