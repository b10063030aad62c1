"""Startup module of a lab node's RE Manager worker: the lab of a config and qnetlab's plans.

bluesky-queueserver imports this module in its worker (``--startup-module``); the names it
leaves here are what the queue may run: ``RE`` (kept, with the catalog's TiledWriter), one name
per instrument of the lab, and every plan of :mod:`qnetlab.plans`. The node is chosen by
environment, set by ``qnetlab queue start``:

- ``QNETLAB_CONFIG``: the lab config file
- ``QNETLAB_DATA_DIR``: data directory (raw tags; the embedded catalog when no server is given)
- ``QNETLAB_CATALOG_URI`` / ``QNETLAB_API_KEY``: the catalog server, when the lab has one
"""

from __future__ import annotations

import atexit
import inspect
import os

from qnetlab import plans as _plans
from qnetlab import session as _session
from qnetlab.nightly.plan import queue_nightly as _queue_nightly

_s = _session.start(
    os.environ["QNETLAB_CONFIG"],
    data_dir=os.environ.get("QNETLAB_DATA_DIR"),
    catalog_uri=os.environ.get("QNETLAB_CATALOG_URI") or None,
    live_table=False,
    progress=False,
)
atexit.register(_s.close)

RE = _s.RE
globals().update(_s.lab.devices)


def _with_evaluated_annotations(plan):
    """The plan with its signature's annotations evaluated (its module defers them as strings).

    The queue validates plan arguments with a model built from the signature; string annotations
    (``from __future__ import annotations``) would leave that model undefined.
    """
    plan.__signature__ = inspect.signature(plan, eval_str=True)
    return plan


_offered = {name: getattr(_plans, name) for name in _plans.__all__}  # plans, not the classes beside them
globals().update(
    {name: _with_evaluated_annotations(plan) for name, plan in _offered.items() if inspect.isfunction(plan)}
)
nightly = _with_evaluated_annotations(_queue_nightly(_s))
