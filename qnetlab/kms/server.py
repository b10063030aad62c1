"""The KME's HTTPS server: FastAPI on uvicorn, mutual TLS, ETSI 014 routes and the hop route.

Every connection must present a client certificate signed by the network's CA (the
TLS handshake fails otherwise).  Uvicorn does not pass the peer certificate to the
application, so :class:`_TlsH11Protocol` adds it to each request's ASGI scope as
``scope["extensions"]["tls"]["client_cn"]``; the subject common name is the caller's
SAE ID (ETSI routes) or KME ID (``POST /kme/v1/hop``, KME to KME).  The server binds
the node's ``host`` (loopback by default) and logs no request bodies or keys.
"""

from __future__ import annotations

import logging
import ssl
import threading
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import Body, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from uvicorn.protocols.http.h11_impl import H11Protocol

from . import etsi014
from .certs import cert_paths
from .etsi014 import EtsiError, unauthorized
from .network import Network
from .node import HopError, Kme

__all__ = ["KmeServer", "create_app", "peer_sender"]

log = logging.getLogger(__name__)


class _TlsH11Protocol(H11Protocol):
    """h11 protocol that hands the verified client certificate's subject CN to the app."""

    def connection_made(self, transport):  # type: ignore[override]
        super().connection_made(transport)
        ssl_object = transport.get_extra_info("ssl_object")
        cert = ssl_object.getpeercert() if ssl_object is not None else None
        cn = None
        for rdn in (cert or {}).get("subject", ()):
            for key, value in rdn:
                if key == "commonName":
                    cn = value
        app = self.app

        async def with_tls(scope, receive, send):
            scope.setdefault("extensions", {})["tls"] = {"client_cn": cn}
            await app(scope, receive, send)

        self.app = with_tls  # type: ignore[assignment]


def _caller(request: Request) -> str:
    cn = request.scope.get("extensions", {}).get("tls", {}).get("client_cn")
    if not cn:
        raise unauthorized("no verified client certificate")
    return cn


def create_app(kme: Kme) -> FastAPI:
    """The ETSI GS QKD 014 API of one KME, plus its KME-to-KME hop route."""
    app = FastAPI(title=f"qnetlab KME {kme.spec.kme_id}", docs_url=None, redoc_url=None, openapi_url=None)

    @app.exception_handler(EtsiError)
    async def _etsi(_request: Request, error: EtsiError):
        return JSONResponse(error.body(), status_code=error.status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, error: RequestValidationError):
        first = error.errors()[0] if error.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        return JSONResponse({"message": f"Bad request format: {where}: {first.get('msg', 'invalid')}"}, 400)

    @app.get("/api/v1/keys/{slave_SAE_ID}/status")
    def status(slave_SAE_ID: str, request: Request) -> dict:
        return kme.status(_caller(request), slave_SAE_ID).model_dump(exclude_none=True)

    @app.get("/api/v1/keys/{slave_SAE_ID}/enc_keys")
    def enc_keys_get(slave_SAE_ID: str, request: Request, number: int | None = None, size: int | None = None) -> dict:
        req = etsi014.KeyRequest(number=number, size=size)
        return kme.enc_keys(_caller(request), slave_SAE_ID, req).model_dump()

    @app.post("/api/v1/keys/{slave_SAE_ID}/enc_keys")
    def enc_keys_post(slave_SAE_ID: str, request: Request, body: etsi014.KeyRequest | None = None) -> dict:
        return kme.enc_keys(_caller(request), slave_SAE_ID, body or etsi014.KeyRequest()).model_dump()

    @app.get("/api/v1/keys/{master_SAE_ID}/dec_keys")
    def dec_keys_get(master_SAE_ID: str, request: Request, key_ID: str | None = None) -> dict:
        return kme.dec_keys(_caller(request), master_SAE_ID, [key_ID] if key_ID else []).model_dump()

    @app.post("/api/v1/keys/{master_SAE_ID}/dec_keys")
    def dec_keys_post(master_SAE_ID: str, request: Request, body: etsi014.KeyIDs) -> dict:
        ids = [ref.key_ID for ref in body.key_IDs]
        return kme.dec_keys(_caller(request), master_SAE_ID, ids).model_dump()

    @app.post("/kme/v1/hop")
    def hop(request: Request, message: Any = Body(...)) -> dict:  # noqa: B008 (FastAPI's idiom)
        if not isinstance(message, dict):
            raise etsi014.bad_request("hop message must be a JSON object")
        kme.receive_hop(_caller(request), message)
        return {"ok": True}

    return app


def _client_context(state_dir: Path, name: str) -> ssl.SSLContext:
    cert, key = cert_paths(state_dir, name)
    ctx = ssl.create_default_context(cafile=str(Path(state_dir) / "certs" / "ca.pem"))
    ctx.load_cert_chain(cert, key)
    return ctx


def peer_sender(network: Network, node: str, state_dir: Path, timeout_s: float = 10.0):
    """``send_hop(peer_node, message)`` over HTTPS with this KME's certificate as client cert."""
    ctx = _client_context(state_dir, network.nodes[node].kme_id)
    clients: dict[str, httpx.Client] = {}
    lock = threading.Lock()

    def send_hop(peer: str, message: dict) -> None:
        spec = network.nodes[peer]
        with lock:
            client = clients.get(peer)
            if client is None:
                client = clients[peer] = httpx.Client(
                    base_url=f"https://{spec.host}:{spec.port}", verify=ctx, timeout=timeout_s
                )
        try:
            response = client.post("/kme/v1/hop", json=message)
        except httpx.HTTPError as error:
            raise HopError(f"cannot reach KME {spec.kme_id} ({type(error).__name__})") from None
        if response.status_code != 200:
            try:
                reason = response.json().get("message", "")
            except ValueError:
                reason = response.text[:200]
            raise HopError(f"KME {spec.kme_id} answered {response.status_code}: {reason}")

    return send_hop


class KmeServer:
    """One node's KME served over HTTPS with mutual TLS, in a thread of this process.

    ``with KmeServer(network, "alice", state_dir) as server: ...``; ``port`` 0 in the
    network file is not allowed (peers must know it), but ``port=`` here overrides it.
    """

    def __init__(self, network: Network, node: str, state_dir: Path, port: int | None = None):
        self.kme = Kme(network, node, Path(state_dir), send_hop=peer_sender(network, node, Path(state_dir)))
        spec = network.nodes[node]
        cert, key = cert_paths(state_dir, spec.kme_id)
        for path in (cert, key, Path(state_dir) / "certs" / "ca.pem"):
            if not path.exists():
                raise FileNotFoundError(f"KME {spec.kme_id}: missing {path} (make them with `qnetlab kms certs`)")
        self.config = uvicorn.Config(
            create_app(self.kme),
            host=spec.host,
            port=spec.port if port is None else port,
            ssl_certfile=str(cert),
            ssl_keyfile=str(key),
            ssl_ca_certs=str(Path(state_dir) / "certs" / "ca.pem"),
            ssl_cert_reqs=ssl.CERT_REQUIRED,
            http=_TlsH11Protocol,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=5,
        )
        self.server = uvicorn.Server(self.config)
        self._thread: threading.Thread | None = None

    def serve_forever(self) -> None:
        """Serve in this thread until SIGINT/SIGTERM."""
        self.server.run()

    def start(self) -> KmeServer:
        self._thread = threading.Thread(target=self.server.run, name=f"kme-{self.kme.node}", daemon=True)
        self._thread.start()
        while not self.server.started:
            if not self._thread.is_alive():
                raise RuntimeError(f"KME {self.kme.spec.kme_id} did not start (port taken?)")
            self._thread.join(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.server.force_exit = True  # do not wait for idle keep-alive connections
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> KmeServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
