"""Events the Sign engines emit to the application (frozen dataclasses, past tense); pure, no I/O.

The same classes serve both roles where the meaning is the same. An application (or the asyncio
client around an engine) drains them with ``engine.events_received()``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from walletconnect.engine.records import (
    PairingRecord,
    PendingRequest,
    ProposalRecord,
    SessionRecord,
)

__all__ = [
    "EngineEvent",
    "MessageDropped",
    "PairingDeleted",
    "PairingExpired",
    "PingReceived",
    "ProposalExpired",
    "ProposalReceived",
    "ProposalRejected",
    "RequestExpired",
    "RequestIdReused",
    "RequestReceived",
    "ResponseReceived",
    "RevokedRequestReceived",
    "SessionAcknowledged",
    "SessionDeleted",
    "SessionEventReceived",
    "SessionExpired",
    "SessionExtended",
    "SessionSettled",
    "SessionUpdated",
]


@dataclass(frozen=True, slots=True)
class ProposalReceived:
    """Wallet: a dApp proposed a session; answer with ``approve`` or ``reject``."""

    proposal: ProposalRecord


@dataclass(frozen=True, slots=True)
class ProposalExpired:
    """A proposal expired before it was answered (either role)."""

    id: int
    pairing_topic: str


@dataclass(frozen=True, slots=True)
class ProposalRejected:
    """dApp: the wallet rejected our proposal (tag 1120/1121) with ``code`` / ``message``."""

    id: int
    pairing_topic: str
    code: int
    message: str


@dataclass(frozen=True, slots=True)
class SessionSettled:
    """A session is settled: dApp on receiving wc_sessionSettle, wallet on sending it."""

    session: SessionRecord
    proposal_id: int


@dataclass(frozen=True, slots=True)
class SessionAcknowledged:
    """Wallet: the dApp acknowledged our wc_sessionSettle (tag 1103)."""

    topic: str


@dataclass(frozen=True, slots=True)
class RequestReceived:
    """Wallet: a wc_sessionRequest passed validation; answer it with ``respond``."""

    request: PendingRequest

    @property
    def topic(self) -> str:
        """Session topic."""
        return self.request.topic

    @property
    def id(self) -> int:
        """JSON-RPC id."""
        return self.request.id


@dataclass(frozen=True, slots=True)
class RequestIdReused:
    """Wallet: a request reused the JSON-RPC id of an earlier one on ``topic`` with other content.

    Not a duplicate (the decrypted method/params differ, whatever the envelope bytes): a replay of
    the id. It never reaches the request handler; answer it with an error through
    ``refuse_reused_id(topic, id, now, error=...)``. ``method`` / ``chain_id`` are the new
    request's (the wrapped method, e.g. ``personal_sign``; ``""`` if it has none), ``first_seen``
    when the earlier request with this id arrived (0 if unknown). Answering sends a second
    response for an id the dApp may already have had answered: the SDK ignores a response to an
    id it no longer awaits, so that is harmless, and a raw client learns the refusal.
    """

    topic: str
    id: int
    method: str
    first_seen: float
    chain_id: str | None = None
    received_at: float = 0.0


@dataclass(frozen=True, slots=True)
class RequestExpired:
    """An inbound request expired unanswered (wallet) — nothing is sent to the peer."""

    topic: str
    id: int


@dataclass(frozen=True, slots=True)
class ResponseReceived:
    """The peer answered one of our requests. ``error`` is ``{code, message, ...}`` or None."""

    topic: str
    id: int
    method: str
    result: Any = None
    error: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        """True for a result, False for an error."""
        return self.error is None


@dataclass(frozen=True, slots=True)
class SessionUpdated:
    """The session namespaces changed (wc_sessionUpdate)."""

    topic: str
    namespaces: dict[str, Any]


@dataclass(frozen=True, slots=True)
class SessionExtended:
    """The session expiry moved (wc_sessionExtend): ``expiry`` is the new unix time."""

    topic: str
    expiry: int


@dataclass(frozen=True, slots=True)
class SessionEventReceived:
    """dApp: the wallet emitted an event (accountsChanged, chainChanged, ...)."""

    topic: str
    name: str
    data: Any
    chain_id: str


@dataclass(frozen=True, slots=True)
class SessionDeleted:
    """A session ended by wc_sessionDelete; ``by_peer`` tells who sent it."""

    topic: str
    code: int
    message: str
    by_peer: bool


@dataclass(frozen=True, slots=True)
class SessionExpired:
    """A session reached its expiry; deleted locally, nothing sent to the peer."""

    topic: str


@dataclass(frozen=True, slots=True)
class PingReceived:
    """The peer pinged a session or pairing topic (already answered)."""

    topic: str
    id: int


@dataclass(frozen=True, slots=True)
class PairingDeleted:
    """A pairing ended by wc_pairingDelete (``by_peer``) or locally."""

    topic: str
    by_peer: bool


@dataclass(frozen=True, slots=True)
class PairingExpired:
    """A pairing reached its expiry and was removed."""

    pairing: PairingRecord


@dataclass(frozen=True, slots=True)
class MessageDropped:
    """An inbound message was dropped or refused (counted and logged; never fatal).

    ``reason`` is a short stable string: ``undecryptable``, ``unknown_topic``, ``oversized``,
    ``malformed``, ``duplicate``, ``unknown_method``, ``invalid``, ``expired``, ``unexpected``.
    ``answered`` says whether an error reply was sent.
    """

    topic: str
    reason: str
    id: int | None = None
    answered: bool = False


@dataclass(frozen=True, slots=True)
class RevokedRequestReceived:
    """A ``wc_sessionRequest`` arrived on a revoked session's topic (still watched until ``until``).

    Nothing reaches the signing path: answer it with an error through ``respond(topic, id,
    error=...)`` (``code``/``message`` are the revocation's, a sensible default answer). It is
    also emitted for requests that were pending when the session was revoked (``pending=True``).
    """

    topic: str
    id: int
    method: str
    chain_id: str | None
    params: Any
    received_at: float
    code: int
    message: str
    pending: bool = False


EngineEvent = (
    ProposalReceived
    | ProposalExpired
    | ProposalRejected
    | SessionSettled
    | SessionAcknowledged
    | RequestReceived
    | RequestIdReused
    | RequestExpired
    | ResponseReceived
    | SessionUpdated
    | SessionExtended
    | SessionEventReceived
    | SessionDeleted
    | SessionExpired
    | PingReceived
    | PairingDeleted
    | PairingExpired
    | MessageDropped
    | RevokedRequestReceived
)
"""Union of every engine event."""
