"""Wall time of the entanglement plans on the simulated lab, per setting, and where it goes; run by hand.

    python benchmarks/entanglement_plans.py

Runs ``plans.chsh`` (4 setting pairs, 0.1 s of simulated time each) twice in a fresh data
directory (the first warms the numba kernels and the catalog) and prints, for the second:
the wall time per setting, and its split between the catalog (the RunEngine's ``save`` of
each event and ``collect`` of the tag-stream documents, written through TiledWriter) and
the rest (mount moves, tagger stream, live coincidence counting). Reference figure: the
catalog time of one ``count_rates`` event in the same session.
"""

import collections
import tempfile
import time
from pathlib import Path

from qnetlab import plans, session


def _timed(s, plan):
    spent = collections.defaultdict(float)
    last = [None, time.perf_counter()]

    def hook(msg, *args):
        now = time.perf_counter()
        if last[0] is not None:
            spent[last[0]] += now - last[1]
        last[0], last[1] = msg.command, now

    s.RE.msg_hook = hook
    start = time.perf_counter()
    s.RE(plan)
    wall = time.perf_counter() - start
    s.RE.msg_hook = None
    return wall, spent


def main():
    config = Path(__file__).resolve().parents[1] / "config" / "sim_lab.yaml"
    with tempfile.TemporaryDirectory() as data, session.start(config, data_dir=data, live_table=False,
                                                              progress=False) as s:  # fmt: skip
        a, b = plans.pair_analyzers(s.lab)
        s.RE(plans.chsh(s.lab.tagger, a, b, duration_s=0.1))
        wall, spent = _timed(s, plans.chsh(s.lab.tagger, a, b, duration_s=0.1))
        catalog = spent["save"] + spent["collect"]
        print(f"chsh setting wall time (0.1 s simulated): {wall / 4:.3f} s")
        print(f"chsh setting catalog time (event save + tag collect): {catalog / 4:.3f} s")
        print(f"chsh setting acquisition time (moves, stream, counting): {(wall - catalog) / 4:.3f} s")
        _, spent = _timed(s, plans.count_rates(s.lab.tagger, duration_s=0.01, num=5))
        print(f"reference count_rates event save time: {spent['save'] / 5:.3f} s")


if __name__ == "__main__":
    main()
