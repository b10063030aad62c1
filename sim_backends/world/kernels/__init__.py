"""Numba passes of the simulated world (imported only when clicks are generated).

One module per pass: ``splitmix`` (the counter-based generator every pass draws from,
seeded from the world's numpy Generator at each acquisition, so a world seed replays
the same tags), ``pulsed_walk`` (the pulsed links' photons), ``pairs`` (SPDC pairs),
``streams`` (merging and re-sorting time-ordered streams), ``detect_and_tag`` (dead
time, afterpulses and the tagger inputs).
"""
