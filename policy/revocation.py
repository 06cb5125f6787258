"""Revocation, emergency freeze and session-binding records, their claim outcomes and store events (pure).

A revoked session gets nothing signed from the moment its revocation is recorded: the replay
store checks revocations and the freeze *in the same atomic step* as the replay claim
(``ReplayStore.claim(..., session=...)``), so a request already in the pipeline cannot slip
through. Three paths revoke (:class:`RevocationPath`): the user (CLI / admin API / the dApp's
own ``wallet_revokePermissions``), a policy rule, and the emergency stop (which also freezes all
signing until resumed).

Retention (every backend keeps these bounds; the stores compute them with the helpers below):

* a revocation is kept until :func:`revocation_keep_until`: the revoked session's expiry (from its
  binding) + :data:`REVOCATION_MARGIN_S`; with no binding known, ``at`` +
  :data:`UNBOUND_SESSION_TTL_S` + margin. It is never purged before the session would have
  expired, and re-binding a revoked session (an extended expiry) extends it;
* a session binding is kept until :func:`binding_purge_at`: the later of its expiry and its end,
  + :data:`BINDING_RETENTION_S` (so a revoked session's relay topic can be watched until it would
  have expired, and post-revocation attempts counted);
* store events (revoke / freeze / unfreeze, see :func:`revoke_event`) are a log of the last
  :data:`MAX_EVENTS`, read with ``events_since(cursor)``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from policy.errors import RecordError

__all__ = [
    "BINDING_RETENTION_S",
    "MAX_EVENTS",
    "MAX_SESSION_CHARS",
    "MAX_TEXT_CHARS",
    "REVOCATION_MARGIN_S",
    "UNBOUND_SESSION_TTL_S",
    "EventKind",
    "Freeze",
    "Frozen",
    "Revocation",
    "RevocationPath",
    "Revoked",
    "SessionBinding",
    "binding_purge_at",
    "freeze_event",
    "revocation_keep_until",
    "revoke_event",
    "unfreeze_event",
]

#: A revocation outlives its session's expiry by this much (clock skew, late deliveries).
REVOCATION_MARGIN_S = 86_400
#: How long a session with no known binding may live (WalletConnect sessions last 7 days, and
#: ``wc_sessionExtend`` can push that further): the revocation is kept this long + the margin.
UNBOUND_SESSION_TTL_S = 30 * 86_400
#: An ended or expired binding is purged this long after the later of its expiry and its end.
BINDING_RETENTION_S = 7 * 86_400
#: The store's event log keeps the last this-many events.
MAX_EVENTS = 1000
#: Longest session id (a WalletConnect topic is 64 hex characters).
MAX_SESSION_CHARS = 256
#: Longest actor / reason / rule / origin / name text.
MAX_TEXT_CHARS = 2000
_MAX_ITEMS = 512


class RevocationPath(StrEnum):
    """Which of the three independent paths revoked a session."""

    USER = "user"
    POLICY = "policy"
    EMERGENCY = "emergency"


class EventKind(StrEnum):
    """What a store event reports (the ``kind`` field of an event dict)."""

    REVOKE = "revoke"
    FREEZE = "freeze"
    UNFREEZE = "unfreeze"


def _text(data: Mapping[str, object], name: str, *, limit: int = MAX_TEXT_CHARS) -> str:
    value = data.get(name)
    if not isinstance(value, str) or len(value) > limit:
        raise RecordError(f"{name}: expected a string of at most {limit} characters")
    return value


def _opt_text(data: Mapping[str, object], name: str, *, limit: int = MAX_TEXT_CHARS) -> str | None:
    return None if data.get(name) is None else _text(data, name, limit=limit)


def _time(data: Mapping[str, object], name: str) -> float:
    value = data.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise RecordError(f"{name}: expected a finite number")
    return float(value)


def _opt_time(data: Mapping[str, object], name: str) -> float | None:
    return None if data.get(name) is None else _time(data, name)


def _texts(data: Mapping[str, object], name: str) -> tuple[str, ...]:
    value = data.get(name)
    if not isinstance(value, list | tuple) or len(value) > _MAX_ITEMS:
        raise RecordError(f"{name}: expected a list of at most {_MAX_ITEMS} strings")
    if not all(isinstance(v, str) and len(v) <= MAX_TEXT_CHARS for v in value):
        raise RecordError(f"{name}: expected strings")
    return tuple(value)


def _check_session(session: str | None, *, optional: bool) -> None:
    if session is None and optional:
        return
    if not isinstance(session, str) or not 0 < len(session) <= MAX_SESSION_CHARS:
        raise RecordError(f"session: expected 1..{MAX_SESSION_CHARS} characters")


def _check_times(**times: float | None) -> None:
    for name, value in times.items():
        if value is not None and not math.isfinite(value):
            raise RecordError(f"{name}: expected a finite number")


@dataclass(frozen=True, slots=True)
class Revocation:
    """A recorded revocation: from ``at`` on, the session gets nothing signed.

    ``session`` None means "every session" (``revoke --all`` / the emergency stop): stores expand it
    to one record per bound session (``revoke_all``). ``rule`` names the policy rule on the policy
    path. ``alert_at`` is when the critical alert that led to it was raised (time-to-revoke metric).
    """

    session: str | None
    path: RevocationPath
    rule: str | None
    actor: str
    reason: str
    at: float
    alert_at: float | None = None

    def __post_init__(self) -> None:
        _check_session(self.session, optional=True)
        if not isinstance(self.path, RevocationPath):
            raise RecordError("path: expected a RevocationPath")
        for name in ("rule", "actor", "reason"):
            value = getattr(self, name)
            if value is not None and len(value) > MAX_TEXT_CHARS:
                raise RecordError(f"{name}: longer than {MAX_TEXT_CHARS} characters")
        _check_times(at=self.at, alert_at=self.alert_at)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON."""
        return {
            "session": self.session,
            "path": self.path.value,
            "rule": self.rule,
            "actor": self.actor,
            "reason": self.reason,
            "at": self.at,
            "alert_at": self.alert_at,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> Revocation:
        """Parse :meth:`to_dict` output. Raises :class:`RecordError`."""
        if not isinstance(data, Mapping):
            raise RecordError("revocation: expected an object")
        path = _text(data, "path", limit=32)
        if path not in RevocationPath.__members__.values():
            raise RecordError(f"path: unknown revocation path {path[:32]!r}")
        return cls(
            session=_opt_text(data, "session", limit=MAX_SESSION_CHARS),
            path=RevocationPath(path),
            rule=_opt_text(data, "rule"),
            actor=_text(data, "actor"),
            reason=_text(data, "reason"),
            at=_time(data, "at"),
            alert_at=_opt_time(data, "alert_at"),
        )

    def for_session(self, session: str) -> Revocation:
        """This revocation applied to one session (how ``revoke_all`` records each)."""
        return Revocation(
            session, self.path, self.rule, self.actor, self.reason, self.at, self.alert_at
        )


@dataclass(frozen=True, slots=True)
class Freeze:
    """An emergency freeze: no claim succeeds until it is lifted (who, why, when)."""

    actor: str
    reason: str
    at: float

    def __post_init__(self) -> None:
        if len(self.actor) > MAX_TEXT_CHARS or len(self.reason) > MAX_TEXT_CHARS:
            raise RecordError(f"actor/reason: longer than {MAX_TEXT_CHARS} characters")
        _check_times(at=self.at)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON."""
        return {"actor": self.actor, "reason": self.reason, "at": self.at}

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> Freeze:
        """Parse :meth:`to_dict` output. Raises :class:`RecordError`."""
        if not isinstance(data, Mapping):
            raise RecordError("freeze: expected an object")
        return cls(_text(data, "actor"), _text(data, "reason"), _time(data, "at"))


@dataclass(frozen=True, slots=True)
class Revoked:
    """Claim refused: the session is revoked (nothing was held or charged)."""

    revocation: Revocation


@dataclass(frozen=True, slots=True)
class Frozen:
    """Claim refused: an emergency freeze is active (nothing was held or charged)."""

    freeze: Freeze


@dataclass(frozen=True, slots=True)
class SessionBinding:
    """What the proxy approved for one WalletConnect session (its topic), kept beside revocations.

    ``envelope`` is the resolved capability envelope JSON; ``dapp`` the origin, ``dapp_name`` the
    name it claims; ``expires_at`` the session expiry (Unix seconds). ``ended_at``/``end`` say when
    and how it ended (``"expiry"``, ``"revoked"``, ``"disconnect"``, ...); None while alive.
    """

    session: str
    envelope: dict[str, Any] = field(hash=False)
    envelope_id: str
    rule: str | None
    dapp: str
    dapp_name: str
    approved_at: float
    expires_at: int
    action_classes: tuple[str, ...]
    accounts: tuple[str, ...]
    chain: str
    ended_at: float | None = None
    end: str | None = None

    def __post_init__(self) -> None:
        _check_session(self.session, optional=False)
        for name in ("envelope_id", "rule", "dapp", "dapp_name", "chain", "end"):
            value = getattr(self, name)
            if value is not None and len(value) > MAX_TEXT_CHARS:
                raise RecordError(f"{name}: longer than {MAX_TEXT_CHARS} characters")
        if not isinstance(self.envelope, dict):
            raise RecordError("envelope: expected an object")
        if len(self.action_classes) > _MAX_ITEMS or len(self.accounts) > _MAX_ITEMS:
            raise RecordError(f"action_classes/accounts: more than {_MAX_ITEMS} items")
        _check_times(approved_at=self.approved_at, ended_at=self.ended_at)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON (the envelope as given)."""
        return {
            "session": self.session,
            "envelope": self.envelope,
            "envelope_id": self.envelope_id,
            "rule": self.rule,
            "dapp": self.dapp,
            "dapp_name": self.dapp_name,
            "approved_at": self.approved_at,
            "expires_at": self.expires_at,
            "action_classes": list(self.action_classes),
            "accounts": list(self.accounts),
            "chain": self.chain,
            "ended_at": self.ended_at,
            "end": self.end,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> SessionBinding:
        """Parse :meth:`to_dict` output. Raises :class:`RecordError`."""
        if not isinstance(data, Mapping):
            raise RecordError("binding: expected an object")
        envelope = data.get("envelope")
        if not isinstance(envelope, dict):
            raise RecordError("envelope: expected an object")
        expires_at = data.get("expires_at")
        if isinstance(expires_at, bool) or not isinstance(expires_at, int):
            raise RecordError("expires_at: expected an integer")
        return cls(
            session=_text(data, "session", limit=MAX_SESSION_CHARS),
            envelope=envelope,
            envelope_id=_text(data, "envelope_id"),
            rule=_opt_text(data, "rule"),
            dapp=_text(data, "dapp"),
            dapp_name=_text(data, "dapp_name"),
            approved_at=_time(data, "approved_at"),
            expires_at=expires_at,
            action_classes=_texts(data, "action_classes"),
            accounts=_texts(data, "accounts"),
            chain=_text(data, "chain"),
            ended_at=_opt_time(data, "ended_at"),
            end=_opt_text(data, "end"),
        )

    @property
    def purge_at(self) -> float:
        """When a store may forget this binding (see :func:`binding_purge_at`)."""
        return binding_purge_at(self.expires_at, self.ended_at)


def revocation_keep_until(at: float, session_expires_at: float | None) -> float:
    """When a revocation made at ``at`` may be purged: never before its session would have expired."""
    expiry = at + UNBOUND_SESSION_TTL_S if session_expires_at is None else session_expires_at
    return max(at, expiry) + REVOCATION_MARGIN_S


def binding_purge_at(expires_at: float, ended_at: float | None) -> float:
    """When a binding may be purged: retention after the later of its expiry and its end."""
    return max(expires_at, ended_at or expires_at) + BINDING_RETENTION_S


def revoke_event(revocation: Revocation) -> dict[str, Any]:
    """The event a store logs and publishes when ``revocation`` (one session) is recorded."""
    return {"kind": EventKind.REVOKE.value, "revocation": revocation.to_dict()}


def freeze_event(freeze: Freeze) -> dict[str, Any]:
    """The event a store logs and publishes when a freeze starts."""
    return {"kind": EventKind.FREEZE.value, "freeze": freeze.to_dict()}


def unfreeze_event(lifted: Freeze, by: Freeze) -> dict[str, Any]:
    """The event of lifting ``lifted``; ``by`` says who lifted it, why and when."""
    return {"kind": EventKind.UNFREEZE.value, "freeze": lifted.to_dict(), "by": by.to_dict()}
