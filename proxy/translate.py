"""Translate between the walletconnect and policy vocabularies (pure): a WC request -> SigningRequest."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from policy.request import SigningRequest

__all__ = [
    "TranslationError",
    "WcRequest",
    "caip2_chain_id",
    "session_account",
    "to_signing_request",
]


class TranslationError(ValueError):
    """The WalletConnect request cannot be expressed as a signing request (bad chain id, no account)."""


@dataclass(frozen=True, slots=True)
class WcRequest:
    """The facts of one ``wc_sessionRequest`` the pipeline needs, independent of the engine's records."""

    topic: str
    id: int
    method: str
    params: Any
    chain: str  # CAIP-2
    expiry: int | None
    received_at: float


def caip2_chain_id(chain: str) -> int:
    """``"eip155:1"`` -> 1; anything else raises TranslationError."""
    namespace, _, reference = chain.partition(":")
    if namespace != "eip155" or not reference.isdigit() or len(reference) > 20:
        raise TranslationError(f"not an eip155 chain id: {chain[:80]!r}")
    return int(reference)


def session_account(namespaces: Mapping[str, Any], chain: str) -> str | None:
    """The first session account on ``chain`` (CAIP-10 ``chain:address``), lowercased, or None."""
    prefix = chain + ":"
    for ns in namespaces.values():
        if not isinstance(ns, Mapping):
            continue
        for account in ns.get("accounts", ()):
            if isinstance(account, str) and account.startswith(prefix):
                return account[len(prefix) :].lower()
    return None


def to_signing_request(
    request: WcRequest, *, namespaces: Mapping[str, Any], origin: str | None, session: str
) -> SigningRequest:
    """Build the policy input: chain id as int, the session's account on that chain, the dApp origin."""
    return SigningRequest(
        method=request.method,
        params=request.params,
        chain_id=caip2_chain_id(request.chain),
        account=session_account(namespaces, request.chain),
        origin=origin,
        session=session,
        request_id=request.id,
        expires_at=request.expiry,
    )
