"""One lock around QCoDeS's instrument registry, which is not thread-safe.

``Instrument.close`` removes the instance from class-level lists; a lab closes its drivers
in parallel (``Lab.close``), and two removals at once can fail and leave a closed
instrument registered (the next lab then cannot take its name).
"""

import threading

REGISTRY_LOCK = threading.Lock()
