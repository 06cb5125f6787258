"""Pairing, proposal, session, pending-request and history records; pure, no I/O.

Records are frozen dataclasses holding plain data (str / int / bool / JSON values). Each one
snapshots to a JSON-compatible ``dict`` with :meth:`to_dict` and restores with ``from_dict``; the
stores persist exactly that, so a restarted client resumes where it stopped. Keys (sym keys,
private keys) are not part of these records: they live in the keychain (``walletconnect.storage``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from typing import Any, Self, TypeVar

__all__ = [
    "HistoryRecord",
    "PairingRecord",
    "PairingState",
    "PendingRequest",
    "ProposalRecord",
    "RecordError",
    "Role",
    "SessionRecord",
    "SessionState",
    "VerifyContext",
    "history_key",
]

JsonDict = dict[str, Any]


class RecordError(ValueError):
    """A stored record could not be restored (missing or mistyped field)."""


class Role(StrEnum):
    """Which side of a session we are."""

    WALLET = "wallet"
    DAPP = "dapp"


class PairingState(StrEnum):
    """Lifecycle of a pairing (transitions in ``engine.states``)."""

    INACTIVE = "inactive"
    ACTIVE = "active"
    CLOSED = "closed"


class SessionState(StrEnum):
    """Lifecycle of a session (transitions in ``engine.states``).

    ``SETTLING``: the wallet sent wc_sessionSettle and waits for the dApp's ack (1103), or the
    dApp derived the session key and waits for the settle. ``SETTLED``: both sides agree.
    ``CLOSED`` (deleted or expired) is terminal; closed records are removed, never stored.
    """

    SETTLING = "settling"
    SETTLED = "settled"
    CLOSED = "closed"


_T = TypeVar("_T")


def _restore(cls: type[_T], data: Mapping[str, Any]) -> _T:
    if not isinstance(data, Mapping):
        raise RecordError(f"{cls.__name__}: expected an object")
    names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    try:
        return cls(**{k: v for k, v in data.items() if k in names})
    except TypeError as exc:
        raise RecordError(f"{cls.__name__}: {exc}") from exc


def _shallow(record: Any) -> JsonDict:
    """A record's fields as a dict, without ``asdict``'s deep copy (callers serialise it at once)."""
    return {name: getattr(record, name) for name in record.__slots__}


@dataclass(frozen=True, slots=True)
class VerifyContext:
    """What the SDK hands the wallet app as ``verifyContext.verified`` (advisory only)."""

    verify_url: str = "https://verify.walletconnect.org"
    validation: str = "UNKNOWN"
    origin: str = ""
    is_scam: bool | None = None
    attestation: str | None = None

    def to_dict(self) -> JsonDict:
        """Plain-data snapshot."""
        return _shallow(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Restore from :meth:`to_dict` output."""
        return _restore(cls, data)


@dataclass(frozen=True, slots=True)
class PairingRecord:
    """A pairing: topic (sha256 of its sym key), expiry and peer metadata once known."""

    topic: str
    expiry: int
    state: PairingState = PairingState.INACTIVE
    relay_protocol: str = "irn"
    peer_metadata: JsonDict | None = None
    methods: tuple[str, ...] = ()

    def to_dict(self) -> JsonDict:
        """Plain-data snapshot."""
        data = asdict(self)
        data["state"] = str(self.state)
        data["methods"] = list(self.methods)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Restore from :meth:`to_dict` output."""
        rec = _restore(cls, data)
        try:
            state = PairingState(rec.state)
        except ValueError as exc:
            raise RecordError(f"PairingRecord: bad state {rec.state!r}") from exc
        return cls(
            topic=str(rec.topic),
            expiry=int(rec.expiry),
            state=state,
            relay_protocol=str(rec.relay_protocol),
            peer_metadata=rec.peer_metadata,
            methods=tuple(rec.methods),
        )


@dataclass(frozen=True, slots=True)
class ProposalRecord:
    """A session proposal (wc_sessionPropose params), as received (wallet) or sent (dApp)."""

    id: int
    pairing_topic: str
    proposer_public_key: str
    proposer_metadata: JsonDict
    required_namespaces: JsonDict
    optional_namespaces: JsonDict
    expiry: int
    relays: list[JsonDict] = field(default_factory=lambda: [{"protocol": "irn"}])
    session_properties: dict[str, str] | None = None
    scoped_properties: JsonDict | None = None
    requests: JsonDict | None = None
    verify_context: VerifyContext = field(default_factory=VerifyContext)
    # dApp only, after the wallet answered: the session topic we now wait on for the settle.
    session_topic: str | None = None

    def to_dict(self) -> JsonDict:
        """Plain-data snapshot."""
        data = _shallow(self)
        data["verify_context"] = self.verify_context.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Restore from :meth:`to_dict` output."""
        rec = _restore(cls, data)
        vc = rec.verify_context
        vctx = vc if isinstance(vc, VerifyContext) else VerifyContext.from_dict(vc or {})
        return cls(
            **{**{f.name: getattr(rec, f.name) for f in fields(cls)}, "verify_context": vctx}
        )


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """A session: topic, both public keys, controller, namespaces, metadata, expiry, state."""

    topic: str
    pairing_topic: str
    role: Role
    self_public_key: str
    peer_public_key: str
    controller_public_key: str
    namespaces: JsonDict
    expiry: int
    self_metadata: JsonDict
    peer_metadata: JsonDict
    state: SessionState = SessionState.SETTLING
    required_namespaces: JsonDict = field(default_factory=dict)
    optional_namespaces: JsonDict = field(default_factory=dict)
    session_properties: dict[str, str] | None = None
    scoped_properties: JsonDict | None = None
    relay_protocol: str = "irn"
    last_update_id: int = 0
    expiry_cap: int | None = None
    """Hard upper bound for ``expiry`` (set at approval); extends never move past it."""

    @property
    def acknowledged(self) -> bool:
        """True once the settle is acknowledged (the SDK's ``session.acknowledged``)."""
        return self.state is SessionState.SETTLED

    @property
    def is_controller(self) -> bool:
        """True when we are the controller (the wallet)."""
        return self.self_public_key == self.controller_public_key

    def to_dict(self) -> JsonDict:
        """Plain-data snapshot."""
        data = asdict(self)
        data["role"] = str(self.role)
        data["state"] = str(self.state)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Restore from :meth:`to_dict` output."""
        rec = _restore(cls, data)
        try:
            role, state = Role(rec.role), SessionState(rec.state)
        except ValueError as exc:
            raise RecordError(f"SessionRecord: {exc}") from exc
        values = {f.name: getattr(rec, f.name) for f in fields(cls)}
        return cls(**{**values, "role": role, "state": state})


@dataclass(frozen=True, slots=True)
class PendingRequest:
    """An inbound wc_sessionRequest the application has not answered yet (wallet role)."""

    topic: str
    id: int
    method: str
    params: Any
    chain_id: str
    expiry: int
    received_at: float
    verify_context: VerifyContext = field(default_factory=VerifyContext)

    def to_dict(self) -> JsonDict:
        """Plain-data snapshot."""
        data = _shallow(self)
        data["verify_context"] = self.verify_context.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Restore from :meth:`to_dict` output."""
        rec = _restore(cls, data)
        vc = rec.verify_context
        vctx = vc if isinstance(vc, VerifyContext) else VerifyContext.from_dict(vc or {})
        values = {f.name: getattr(rec, f.name) for f in fields(cls)}
        return cls(**{**values, "verify_context": vctx})


def history_key(topic: str, rpc_id: int) -> str:
    """The store key of a history record: ``"<topic>:<id>"``."""
    return f"{topic}:{rpc_id}"


@dataclass(frozen=True, slots=True)
class HistoryRecord:
    """One JSON-RPC exchange, keyed by (topic, id).

    ``direction`` is ``"in"`` for requests the peer sent us and ``"out"`` for ours. For inbound
    requests ``response`` holds the exact JSON text we answered with (re-sent on a duplicate);
    ``answered`` is set once a reply went out or none is due. ``expiry`` bounds how long the
    record is kept for duplicate detection. ``content_hash`` (inbound only) is the canonical hash
    of the decrypted method and params: the same id with other content is a reused id, not a
    duplicate (empty for records written before it existed: those compare as duplicates).
    ``first_seen`` is when the inbound request was first received (unix seconds, 0 if unknown).
    """

    topic: str
    id: int
    method: str
    direction: str
    expiry: int
    answered: bool = False
    response: str | None = None
    response_tag: int = 0
    response_ttl: int = 0
    content_hash: str = ""
    first_seen: float = 0.0

    @property
    def key(self) -> str:
        """``history_key(topic, id)``."""
        return history_key(self.topic, self.id)

    def to_dict(self) -> JsonDict:
        """Plain-data snapshot."""
        return _shallow(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Restore from :meth:`to_dict` output."""
        return _restore(cls, data)
