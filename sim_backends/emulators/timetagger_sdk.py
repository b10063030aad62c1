"""An emulated Swabian Time Tagger SDK over the simulated world.

``emulated_timetagger_sdk(world, channels)`` returns a module object offering the
subset of the vendor's ``Swabian.TimeTagger`` API that qnetlab's driver uses, with the
vendor's names, argument names and units (ps, Volts, counts per second):
``createTimeTagger``, ``freeTimeTagger``, the tagger's ``setTriggerLevel``,
``getTriggerLevel``, ``setInputDelay``, ``getInputDelay``, ``setDeadtime``,
``getDeadtime``, ``getSerial``, ``getModel``, ``getChannelList``, ``getOverflows``,
``clearOverflows``, and the measurements ``Countrate``, ``Correlation`` and
``TimeTagStream`` with ``start``, ``startFor``, ``stop``, ``clear``, ``isRunning``,
``waitUntilFinished``, ``getCaptureDuration`` and ``getData``. A test checks each name
against the vendor package.

Measurements run in a thread that drives the world forward in slices, paced by the
world's ``time_scale``, like the vendor SDK's asynchronous measurements.

As the vendor's (its docstrings in ``Swabian.TimeTagger``): a measurement is running
from its creation (``start`` "is implicitly called when a measurement object is
created"), so it collects whatever the tagger sees while any measurement advances the
world; ``getChannelList(type=ChannelEdge.All)`` lists rising (positive) and falling
(negative) edge channels of every input (the world has no falling edges: those channels
never see a tag); a ``TimeTagStreamBuffer`` carries ``getEventTypes`` (``Tag.Type``),
``getMissedEvents`` and ``hasOverflows``, which is True only when the tagger itself
overflowed (markers from :class:`sim_backends.world.tagger.TaggerModel`), never for a full
``TimeTagStream`` buffer: then ``size == n_max_events`` and later events are dropped.
"""

from __future__ import annotations

import types
from typing import Any

from qnetlab.sim_backends.emulators.emulated_tagger import (
    CHANNEL_EDGE_ALL,
    CHANNEL_EDGE_FALLING,
    CHANNEL_EDGE_RISING,
    CHANNEL_UNUSED,
    SLICE_PS,
    EmulatedTimeTagger,
)
from qnetlab.sim_backends.emulators.timetagger_measurements import (
    Correlation,
    Countrate,
    TimeTagStream,
    TimeTagStreamBuffer,
)
from qnetlab.sim_backends.world.optical_world import OpticalWorld

__all__ = ["SLICE_PS", "EmulatedTimeTagger", "TimeTagStreamBuffer", "emulated_timetagger_sdk"]


def emulated_timetagger_sdk(world: OpticalWorld, serials: dict[str, str] | None = None) -> types.ModuleType:
    """A module object with the vendor SDK's API subset, bound to ``world``.

    ``serials`` maps each emulated tagger's serial number to the world's tagger model
    name; by default the world's only tagger answers to ``SIM-0001``. The world's numba
    passes are compiled first (:mod:`qnetlab.sim_backends.world.warmup`), so no driver
    timeout counts compile time.
    """
    from qnetlab.sim_backends.world.warmup import compile_world_kernels

    compile_world_kernels()  # before any driver waits on a measurement (once per process)
    serials = serials or {"SIM-0001": next(iter(world.taggers))}
    sdk: Any = types.ModuleType("qnetlab_emulated_TimeTagger", "Emulated Swabian Time Tagger SDK")
    taggers: dict[str, EmulatedTimeTagger] = {}

    def createTimeTagger(serial: str = "", resolution: int = 0) -> EmulatedTimeTagger:
        chosen = serial or next(iter(serials))
        if chosen not in serials:
            raise RuntimeError(f"No Time Tagger with serial {chosen!r} found")
        taggers.setdefault(chosen, EmulatedTimeTagger(world, chosen, serials[chosen]))
        return taggers[chosen]

    def freeTimeTagger(tagger: EmulatedTimeTagger) -> None:
        for measurement in tagger._measurements:
            measurement.stop()
        tagger._measurements.clear()

    sdk.createTimeTagger = createTimeTagger
    sdk.freeTimeTagger = freeTimeTagger
    sdk.Countrate = Countrate
    sdk.Correlation = Correlation
    sdk.TimeTagStream = TimeTagStream
    sdk.CHANNEL_UNUSED = CHANNEL_UNUSED
    edges = types.SimpleNamespace(All=CHANNEL_EDGE_ALL, Rising=CHANNEL_EDGE_RISING, Falling=CHANNEL_EDGE_FALLING)
    tag_types = types.SimpleNamespace(TimeTag=0, Error=1, OverflowBegin=2, OverflowEnd=3, MissedEvents=4)
    sdk.ChannelEdge = edges  # pyright: ignore[reportAttributeAccessIssue]
    sdk.TagType = tag_types  # pyright: ignore[reportAttributeAccessIssue]
    return sdk
