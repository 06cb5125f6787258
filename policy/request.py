"""SigningRequest: the protocol-independent input to decoding and decisions (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["SigningRequest"]


@dataclass(frozen=True, slots=True)
class SigningRequest:
    """One request to sign, as the proxy received it.

    ``params`` is the JSON-decoded ``request.params`` exactly as sent. ``chain_id`` is the chain the
    transport said the request is for (the WC ``chainId``, CAIP-2 reference as an int). ``account`` is
    the session account the request runs as (lowercase hex), when known. ``origin`` is the dApp origin
    (proposer metadata URL, or the verified origin).
    """

    method: str
    params: Any
    chain_id: int
    account: str | None = None
    origin: str | None = None
    session: str | None = None  # session topic or id
    request_id: int | None = None  # JSON-RPC id
    expires_at: int | None = None  # request.expiryTimestamp
