"""Alice sends a calibration pattern for the length of a plan; what she sent before is restored after."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import bluesky.plan_stubs as bps
import bluesky.preprocessors as bpp
import numpy as np
from bluesky.utils import MsgGenerator

from qnetlab.plans.calibration._reference import reference_pattern


def reference_transmission(
    transmitter: Any, encoding: str, pattern: np.ndarray | None = None
) -> Callable[[MsgGenerator[Any]], MsgGenerator[Any]]:
    """A wrapper: run a plan while ``transmitter`` sends ``pattern`` (default the H/D reference) on ``encoding``.

    Before the plan: the pattern memory, encoding, pattern state and output are read; the
    reference is uploaded and run on ``encoding`` (``"POL"`` or ``"TBIN"``). After it
    (also on error or abort): each is put back as it was.
    """
    codes = reference_pattern() if pattern is None else np.asarray(pattern, np.uint8)

    def wrap(plan: MsgGenerator[Any]) -> MsgGenerator[Any]:
        previous_pattern = transmitter.read_pattern()
        previous = {}
        for signal in (transmitter.encoding, transmitter.pattern_running, transmitter.output):
            previous[signal] = yield from bps.rd(signal)

        def send() -> MsgGenerator[Any]:
            transmitter.load_pattern(codes)
            yield from bps.mv(transmitter.encoding, encoding)
            yield from bps.mv(transmitter.pattern_running, True)
            yield from bps.mv(transmitter.output, True)
            return (yield from plan)

        def restore() -> MsgGenerator[None]:
            if previous_pattern.size:
                transmitter.load_pattern(previous_pattern)
            for signal, value in previous.items():
                yield from bps.mv(signal, value)

        return (yield from bpp.finalize_wrapper(send(), restore()))

    return wrap
