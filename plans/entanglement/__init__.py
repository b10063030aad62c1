"""Entanglement verification plans on the pair source: visibility curves, CHSH, state tomography.

Each plan turns the two analyzers (:class:`Analyzer`, built from a lab by
:func:`pair_analyzers`), counts coincidences live from the tagger's stream (raw tags kept),
records the counts of every setting in stream ``primary`` and its results in stream
``results``, and returns the run uid. The numbers come from :mod:`qnetlab.analysis.entanglement`.
"""

from qnetlab.plans.entanglement.analyzers import Analyzer, pair_analyzers
from qnetlab.plans.entanglement.chsh import chsh

__all__ = ["Analyzer", "chsh", "pair_analyzers"]
