"""QKD live display under Agg: a bb84-shaped run's blocks are drawn as they come, suspensions shaded."""

from __future__ import annotations

import math

import bluesky.plan_stubs as bps
import bluesky.preprocessors as bpp
import matplotlib
import numpy as np
from bluesky import RunEngine
from ophyd import Signal

from qnetlab.plans.qkd.live import QkdLivePlots

matplotlib.use("Agg")

BLOCKS = [  # (qber_x, qber_z, sifted bit/s, secret bit/s); block 3 drifted and gave no key
    (0.021, 0.022, 2.0e6, 1.6e5),
    (0.020, 0.023, 2.1e6, 1.7e5),
    (0.071, 0.068, 1.9e6, 0.0),
    (0.022, 0.021, 2.0e6, 1.5e5),
]


def fake_bb84():
    """Documents shaped like bb84's: streams ``blocks`` and ``monitor`` (same keys), a suspension mid-run."""
    keys = ["block", "qber_x", "qber_z", "sifted_rate_hz", "secret_rate_hz", "accepted"]
    block = {k: Signal(name=k, value=0.0) for k in keys}
    action = Signal(name="monitor_action", value="")

    @bpp.run_decorator(
        md={"plan_name": "bb84", "plan_args": {"encoding": "polarization", "link": "alice-bob", "qber_abort": 0.11}}
    )
    def inner():
        for i, (qx, qz, sifted, secret) in enumerate(BLOCKS):
            for key, value in zip(keys, [i, qx, qz, sifted, secret, secret > 0], strict=True):
                block[key].put(value)
            yield from bps.trigger_and_read(list(block.values()), name="blocks")
            if i == 2:
                action.put("suspend")
                yield from bps.trigger_and_read([action], name="monitor")
                yield from bps.sleep(0.05)
                action.put("resume")
                yield from bps.trigger_and_read([action], name="monitor")

    return (yield from inner())


def test_live_plots_draw_each_block_and_shade_the_suspension(tmp_path):
    RE = RunEngine({})
    plots = QkdLivePlots()
    RE.subscribe(plots)
    RE(fake_bb84())
    fig = plots.figure
    assert fig is not None and len(fig.axes) == 3
    by_label = {line.get_label(): line for ax in fig.axes for line in ax.get_lines()}
    assert np.allclose(by_label["X (key basis)"].get_ydata(), [b[0] for b in BLOCKS])
    assert np.allclose(by_label["Z (test basis)"].get_ydata(), [b[1] for b in BLOCKS])
    assert np.allclose(by_label["sifted key"].get_ydata(), [b[2] for b in BLOCKS])
    secret = np.asarray(by_label["secret key"].get_ydata(), float)
    assert np.allclose(secret[[0, 1, 3]], [BLOCKS[k][3] for k in (0, 1, 3)]) and math.isnan(secret[2])
    times = np.asarray(by_label["X (key basis)"].get_xdata(), float)
    assert np.all(np.diff(times) >= 0) and times[0] >= 0
    spans = [p for p in fig.axes[0].patches]
    assert len(spans) == 1  # one suspension, shaded between block 3 and block 4
    x0, x1 = spans[0].get_x(), spans[0].get_x() + spans[0].get_width()
    assert times[2] <= x0 < x1 <= times[3]
    path = tmp_path / "qkd_live.png"
    fig.savefig(path, dpi=80)
    fig.savefig("/tmp/qkd_live.png", dpi=80)
    assert path.stat().st_size > 10_000


def test_other_runs_are_ignored():
    RE = RunEngine({})
    plots = QkdLivePlots()
    RE.subscribe(plots)
    RE(_count())
    assert plots.figure is None


def _count():
    @bpp.run_decorator(md={"plan_name": "count"})
    def inner():
        yield from bps.trigger_and_read([Signal(name="qber_x", value=0.5)], name="blocks")

    return (yield from inner())
