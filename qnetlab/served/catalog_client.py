"""The CLI's side of a served catalog: which URI, a one-line error when it cannot be used, listing runs.

A command's catalog is ``--catalog-uri``, else ``$QNETLAB_CATALOG_URI``, else the embedded catalog
of the data directory. The API key comes from ``$QNETLAB_API_KEY`` only: on a command line it
would show in process listings and shell history.
"""

from __future__ import annotations

import os
import socket
from typing import Any
from urllib.parse import urlsplit

from qnetlab.catalog import API_KEY_ENV, CATALOG_URI_ENV

CATALOG_URI_HELP = (
    "Tiled catalog server URL (http[s]://HOST:PORT) instead of the embedded catalog; API key from $QNETLAB_API_KEY"
)
CONNECT_TIMEOUT_S = 10.0
CATALOG_URI_DEFAULT = "$QNETLAB_CATALOG_URI, else the embedded catalog in the data directory"


class CatalogUriError(ValueError):
    """The catalog server cannot be used; the message names the URI, where it came from and why."""


def chosen_uri(option: str | None) -> tuple[str | None, str]:
    """``(uri, origin)``: the option's, else the environment's, else ``(None, "")`` (embedded)."""
    if option:
        return option, "--catalog-uri"
    if os.environ.get(CATALOG_URI_ENV):
        return os.environ[CATALOG_URI_ENV], f"${CATALOG_URI_ENV}"
    return None, ""


def open_served(uri: str, origin: str = "--catalog-uri", api_key: str | None = None) -> Any:
    """The ``runs`` container of the server at ``uri``; :class:`CatalogUriError` (one line) if unusable."""
    parts = urlsplit(uri)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CatalogUriError(f"{origin} {uri!r}: not a catalog server URL (expected http[s]://HOST:PORT)")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as error:  # a port that is not a number
        raise CatalogUriError(f"{origin} {uri!r}: {error}") from None
    try:  # fail fast: tiled's client retries a refused connection for about 25 s
        socket.create_connection((parts.hostname, port), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as error:
        reason = error.strerror or str(error) or type(error).__name__
        raise CatalogUriError(f"{origin} {uri!r}: cannot connect to {parts.hostname}:{port} ({reason})") from None
    from qnetlab.catalog import open_catalog

    try:
        return open_catalog(uri=uri, api_key=api_key or os.environ.get(API_KEY_ENV) or None)
    except Exception as error:  # httpx connect errors, 401/404 from the server, a non-Tiled reply
        raise CatalogUriError(f"{origin} {uri!r}: {_why(error)}") from None


def _why(error: BaseException) -> str:
    response = getattr(error, "response", None)
    status = getattr(response, "status_code", None)
    text = " ".join(str(error).split()) or type(error).__name__
    if status in (401, 403) or "requires API key" in text:  # tiled says so without a status on a bad key
        return f"the server refused the API key (set ${API_KEY_ENV} to the server's key)"
    if status is not None:
        return f"the server answered HTTP {status} (is it a Tiled catalog server?)"
    return f"cannot use the catalog server ({type(error).__name__}: {text[:200]})"


def list_served_runs(runs: Any, limit: int) -> list[tuple[str, dict]]:
    """``(uid, metadata)`` of the newest ``limit`` runs of a served catalog, oldest first."""
    newest = list(runs.items().tail(limit))
    return [(uid, dict(run.metadata)) for uid, run in newest]
