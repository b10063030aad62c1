"""What plans need of a device, as bluesky protocols (runtime-checkable).

Plans are typed on these rather than on qnetlab's device classes, so any device that
follows the protocols (a twin, a real tagger, a test double) can be handed to them.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from bluesky.protocols import (
    Collectable,
    Configurable,
    Flyable,
    Pausable,
    Preparable,
    Readable,
    Stageable,
    Stoppable,
    Triggerable,
    WritesStreamAssets,
)


@runtime_checkable
class HasInputs(Protocol):
    """A detector with numbered inputs, of which an acquisition records some."""

    @property
    def input_channels(self) -> tuple[int, ...]:
        """The configured inputs, in order."""
        ...


@runtime_checkable
class CountingTagger(Readable, Configurable, Triggerable, Stageable, Preparable, HasInputs, Protocol):
    """A tagger read step by step: ``prepare`` duration and channels, ``trigger``, ``read`` rates."""


@runtime_checkable
class StreamingTagger(
    Readable, Flyable, Collectable, WritesStreamAssets, Preparable, Pausable, Stoppable, HasInputs, Protocol
):
    """A tagger flown: ``prepare``, ``kickoff``, ``collect`` stream assets until ``complete``."""

    def stream_summary(self) -> list[Readable]:
        """Readables of the last stream (tag count per channel, overflow, missed events)."""
        ...

    def stream_overflow_intervals_ps(self) -> list[tuple[int, int]]:
        """``(begin_ps, end_ps)`` of each overflow interval of the last stream."""
        ...
