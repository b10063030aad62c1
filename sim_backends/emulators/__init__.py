"""Emulators: each instrument's protocol served over the real transport, on the shared world.

Text instruments (SCPI / ASCII) are :class:`socket_server.LineProtocolServer`\\ s on a
loopback TCP port (``scpi_server`` adds the SCPI error queue): ``laser_emulator``,
``snspd_emulator``, ``spad_emulator``, ``piezo_emulator``. Binary serial protocols
(``apt_emulator``, Thorlabs APT) use ``binary_server``. The time tagger is an emulated
vendor SDK module (``timetagger_sdk``). Each module is imported where it is used: an
emulator starts sockets and threads.
"""
