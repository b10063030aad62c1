"""Drivers: one class per instrument model, over pyvisa, pyserial or a vendor SDK.

Drivers import no ophyd or bluesky. Every failure is raised as an
:class:`~drivers.errors.InstrumentError` that names the instrument and the command.
"""
