"""The JSON objects and errors of ETSI GS QKD 014 V1.1.1 (2019-02), "Protocol and data
format of REST-based key delivery API".

Field names follow the standard exactly (clause 6): Status (6.1), Key request (6.2),
Key container (6.3), Key IDs (6.4), Error (6.5); cross-checked with the independent
client ``etsi-qkd-014-client`` (LIP6, ``etsi_qkd_014_client/data.py``).  The API
(clause 5) is ``/api/v1/keys/{slave_SAE_ID}/status`` (5.1), ``.../enc_keys`` GET/POST
(5.2, "Get key") and ``/api/v1/keys/{master_SAE_ID}/dec_keys`` GET/POST (5.3, "Get
key with key IDs"); each answers 200, or 400 "Bad request format", 401 "Unauthorized"
or 503 "Error of server side" with an Error object ``{"message", "details"}``.
Keys are base64 of the key bytes (RFC 4648), key_IDs are UUIDs.

Error messages here never hold key material: only counts, sizes, ids and names.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["EtsiError", "KeyContainer", "KeyIDs", "KeyRequest", "Status"]


class EtsiError(Exception):
    """An ETSI 014 error answer: HTTP status (400, 401, 503) and the Error object."""

    def __init__(self, status: int, message: str, details: list[dict[str, Any]] | None = None):
        super().__init__(message)
        self.status, self.message, self.details = status, message, details

    def body(self) -> dict[str, Any]:
        """The Error data format (clause 6.5)."""
        out: dict[str, Any] = {"message": self.message}
        if self.details:
            out["details"] = self.details
        return out


def bad_request(message: str, **detail: Any) -> EtsiError:
    return EtsiError(400, message, [detail] if detail else None)


def unauthorized(message: str) -> EtsiError:
    return EtsiError(401, message)


def server_error(message: str, **detail: Any) -> EtsiError:
    return EtsiError(503, message, [detail] if detail else None)


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class Status(BaseModel):
    """Status data format (clause 6.1)."""

    source_KME_ID: str
    target_KME_ID: str
    master_SAE_ID: str
    slave_SAE_ID: str
    key_size: int
    stored_key_count: int
    max_key_count: int
    max_key_per_request: int
    max_key_size: int
    min_key_size: int
    max_SAE_ID_count: int
    status_extension: dict[str, Any] | None = None


class KeyRequest(BaseModel):
    """Key request data format (clause 6.2); every field is optional.

    Types are checked by hand in :func:`parse_key_request` so that a wrong type gets
    the standard's 400 with a message, not a framework-specific 422.
    """

    model_config = ConfigDict(extra="forbid")

    number: Any = None
    size: Any = None
    additional_slave_SAE_IDs: Any = None
    extension_mandatory: Any = None
    extension_optional: Any = None


class KeyIDRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key_ID: Any = None
    key_ID_extension: Any = None


class KeyIDs(BaseModel):
    """Key IDs data format (clause 6.4)."""

    model_config = ConfigDict(extra="forbid")

    key_IDs: list[KeyIDRef] = Field(default_factory=list)
    key_IDs_extension: Any = None


class Key(BaseModel):
    key_ID: str
    key: str


class KeyContainer(BaseModel):
    """Key container data format (clause 6.3)."""

    keys: list[Key]
