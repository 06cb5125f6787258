"""Relay-agnostic commands the Sign engines ask their driver to perform; pure, no I/O.

The asyncio client turns them into relay calls (``irn_publish``, ``irn_subscribe``,
``irn_unsubscribe``, ``wc_proposeSession``, ``wc_approveSession``). Messages are already sealed
envelopes (standard base64 strings).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ApproveSession",
    "Command",
    "ProposeSession",
    "Publish",
    "Subscribe",
    "Unsubscribe",
]


@dataclass(frozen=True, slots=True)
class Publish:
    """``irn_publish``: ``message`` on ``topic`` with ``ttl_s`` / ``tag`` / ``prompt``.

    ``correlation_id`` is the inner JSON-RPC id; ``tvf`` holds optional flattened analytics
    fields (``rpcMethods``, ``chainId``, ...), which relays may ignore.
    """

    topic: str
    message: str
    ttl_s: int
    tag: int
    prompt: bool = False
    correlation_id: int | None = None
    tvf: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Subscribe:
    """``irn_subscribe`` to ``topic``."""

    topic: str


@dataclass(frozen=True, slots=True)
class Unsubscribe:
    """``irn_unsubscribe`` from ``topic``."""

    topic: str


@dataclass(frozen=True, slots=True)
class ProposeSession:
    """``wc_proposeSession``: the relay subscribes us to the pairing topic and publishes
    ``session_proposal`` there (tag 1100, ttl 300, prompt)."""

    pairing_topic: str
    session_proposal: str
    correlation_id: int
    ttl_s: int = 300


@dataclass(frozen=True, slots=True)
class ApproveSession:
    """``wc_approveSession``: the relay subscribes us to ``session_topic``, publishes the proposal
    response on ``pairing_topic`` (1101) and the settle request on ``session_topic`` (1102)."""

    session_topic: str
    pairing_topic: str
    session_proposal_response: str
    session_settlement_request: str
    correlation_id: int
    approved_chains: tuple[str, ...]
    approved_methods: tuple[str, ...]
    approved_events: tuple[str, ...]
    ttl_s: int = 300
    session_properties: dict[str, str] | None = None
    scoped_properties: dict[str, Any] | None = None


Command = Publish | Subscribe | Unsubscribe | ProposeSession | ApproveSession
"""Union of every command."""
