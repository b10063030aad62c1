"""``qnetlab run bb84`` / ``bbm92``: the plans built for the CLI, keys to the KMS link store, one line per block."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

LINK = "alice-bob"
NODES = ["alice", "bob"]


def bb84_recipe(s, duration_s: float, echo: Callable[[str], None]):
    """The bb84 plan on the session's default tagger and transmitter, printing a line per block.

    Keys go to ``<data dir>/kms/keys/<node>/alice-bob`` at both nodes (what
    ``qnetlab kms serve`` delivers). The mean photon numbers are the simulated
    transmitter's; a real lab has no calibration store yet, so the CLI refuses it.
    """
    from qnetlab.analysis.qkd.keystore import KeyStore
    from qnetlab.kms.pool import deposit_link_key
    from qnetlab.plans.qkd import bb84, block_line

    world = s.lab.world
    if world is None:
        raise ValueError("bb84: the CLI knows the mean photon numbers of the simulated transmitter only")
    mu1 = world.transmitters["alice"].mean_photon_number()
    decoy = world.transmitters["alice"].level_ratios[1]
    roots = {node: s.data_dir / "kms" / "keys" / node for node in NODES}
    for root in roots.values():
        KeyStore(root)  # created owner-only
    sink = functools.partial(deposit_link_key, roots, NODES, LINK)
    s.RE.subscribe(_BlockLines(echo, block_line))
    return bb84(
        s.lab.default_device("tagger"),
        s.lab.default_device("transmitter"),
        duration_s=duration_s,
        intensities=(mu1, decoy * mu1, 0.0),
        probabilities=(0.5, 0.3, 0.2),
        key_basis_probability=0.5,
        key_sink=sink,
        link=LINK,
    )


def _link_sink(s):
    from qnetlab.analysis.qkd.keystore import KeyStore
    from qnetlab.kms.pool import deposit_link_key

    roots = {node: s.data_dir / "kms" / "keys" / node for node in NODES}
    for root in roots.values():
        KeyStore(root)  # created owner-only
    return functools.partial(deposit_link_key, roots, NODES, LINK)


def bbm92_recipe(s, duration_s: float, echo: Callable[[str], None], **plan_kwargs: Any):
    """The bbm92 plan on the default tagger and the pair source's analyzers, printing a line per block.

    Keys go to ``<data dir>/kms/keys/<node>/alice-bob`` at both nodes, as for bb84.
    ``plan_kwargs`` go to the plan (tests pin its ``seed``; the CLI never does).
    """
    from qnetlab.plans.entanglement import pair_analyzers
    from qnetlab.plans.qkd import bbm92, block_line

    analyzer_a, analyzer_b = pair_analyzers(s.lab)
    s.RE.subscribe(_BlockLines(echo, block_line))
    return bbm92(
        s.lab.default_device("tagger"),
        analyzer_a,
        analyzer_b,
        duration_s=duration_s,
        key_sink=_link_sink(s),
        link=LINK,
        **plan_kwargs,
    )


class _BlockLines:
    """Document callback: ``echo`` one summary line per event of stream ``blocks``."""

    def __init__(self, echo: Callable[[str], None], line: Callable[[dict[str, Any]], str]):
        self.echo, self.line, self.descriptors = echo, line, set()

    def __call__(self, name: str, doc: dict[str, Any]) -> None:
        if name == "descriptor" and doc.get("name") == "blocks":
            self.descriptors.add(doc["uid"])
        elif name == "event" and doc.get("descriptor") in self.descriptors:
            self.echo(self.line(doc["data"]))
