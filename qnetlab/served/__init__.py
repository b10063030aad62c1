"""The served setup, for a lab that outgrew one machine: existing engines, started and wired.

- :mod:`.postgres`: a PostgreSQL cluster of the lab's own (or the URL of a managed one).
- :mod:`.catalog_server`: a Tiled server on PostgreSQL with an API key (``qnetlab serve catalog``).
- :mod:`.redis`: the Redis server bluesky-queueserver keeps its queue in.
- :mod:`.queue`: a bluesky-queueserver RE Manager for one lab node (``qnetlab queue ...``) whose
  worker opens the lab of a config and offers qnetlab's plans.

The embedded catalog (SQLite, in-process) stays the default; the same plans run in both.
"""
