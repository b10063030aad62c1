"""Key delivery: an ETSI GS QKD 014 key management entity (KME) per node, and keys relayed
hop by hop by one-time pad through trusted nodes.

Modules: ``network`` (the YAML network description), ``etsi014`` (the standard's JSON
objects and errors), ``pool`` (a node's copy of a link's key, drawn in step with the
other end; keys waiting for slave SAEs), ``node`` (the KME logic and the relay),
``server`` (FastAPI/uvicorn HTTPS with mutual TLS), ``certs`` (a test CA),
``sim_fill`` (link keys from the simulated bench), ``cli`` (``qnetlab kms``).
See ``docs/kms.md``.  This package imports nothing heavy itself.
"""
