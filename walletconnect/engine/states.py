"""Pairing and session lifecycles as transition tables, the one source of truth; pure, no I/O.

Rule 1: the engines never decide legality with scattered ``if``s; they ask :func:`pairing_next`
/ :func:`session_next`, which read the tables below. Rule 2: a missing entry means "illegal in
this state"; the caller turns that into a ``LocalProtocolError`` (our own verb) or a dropped /
error-answered message (the peer's). ``CLOSED`` is terminal: nothing is legal there, so nothing
is ever sent on a deleted or expired session.

Session inputs are per role: the wallet sends the settle and may update / emit; the dApp receives
the settle, sends requests and receives events.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

from walletconnect.engine.records import PairingState, Role, SessionState

__all__ = [
    "PAIRING_TRANSITIONS",
    "SESSION_TRANSITIONS",
    "PairingInput",
    "SessionInput",
    "mermaid",
    "pairing_next",
    "session_next",
]


class PairingInput(StrEnum):
    """What can happen to a pairing."""

    ACTIVATE = "activate"  # wallet approved a proposal / dApp got the proposal response
    RECEIVE_PROPOSAL = "receive_proposal"
    SEND_PROPOSAL = "send_proposal"
    PING = "ping"  # either direction
    DELETE = "delete"  # either direction
    EXPIRE = "expire"


class SessionInput(StrEnum):
    """What can happen to a session."""

    SEND_SETTLE_ACK = "send_settle_ack"  # dApp: the settle arrived and we acknowledged it
    RECEIVE_SETTLE_ACK = "receive_settle_ack"  # wallet: 1103 arrived
    SEND_REQUEST = "send_request"  # dApp: wc_sessionRequest
    RECEIVE_REQUEST = "receive_request"  # wallet
    RESPOND = "respond"  # wallet answers a wc_sessionRequest
    SEND_UPDATE = "send_update"  # controller only
    RECEIVE_UPDATE = "receive_update"
    SEND_EVENT = "send_event"  # wallet only
    RECEIVE_EVENT = "receive_event"
    PING = "ping"
    EXTEND = "extend"
    DELETE = "delete"
    EXPIRE = "expire"


_P = PairingState
_PI = PairingInput
_S = SessionState
_SI = SessionInput

PAIRING_TRANSITIONS: Mapping[PairingState, Mapping[PairingInput, PairingState]] = MappingProxyType(
    {
        _P.INACTIVE: {
            _PI.ACTIVATE: _P.ACTIVE,
            _PI.RECEIVE_PROPOSAL: _P.INACTIVE,
            _PI.SEND_PROPOSAL: _P.INACTIVE,
            _PI.PING: _P.INACTIVE,
            _PI.DELETE: _P.CLOSED,
            _PI.EXPIRE: _P.CLOSED,
        },
        _P.ACTIVE: {
            _PI.ACTIVATE: _P.ACTIVE,
            _PI.RECEIVE_PROPOSAL: _P.ACTIVE,
            _PI.SEND_PROPOSAL: _P.ACTIVE,
            _PI.PING: _P.ACTIVE,
            _PI.DELETE: _P.CLOSED,
            _PI.EXPIRE: _P.CLOSED,
        },
        _P.CLOSED: {},
    }
)

_COMMON_OPEN = {_SI.PING: None, _SI.EXTEND: None, _SI.DELETE: _S.CLOSED, _SI.EXPIRE: _S.CLOSED}


def _open(
    state: SessionState, extra: dict[SessionInput, SessionState]
) -> dict[SessionInput, SessionState]:
    row = {k: (state if v is None else v) for k, v in _COMMON_OPEN.items()}
    row.update(extra)
    return row


SESSION_TRANSITIONS: Mapping[Role, Mapping[SessionState, Mapping[SessionInput, SessionState]]] = (
    MappingProxyType(
        {
            Role.WALLET: {
                # The SDK wallet accepts requests before the settle ack arrives; so do we.
                _S.SETTLING: _open(
                    _S.SETTLING,
                    {
                        _SI.RECEIVE_SETTLE_ACK: _S.SETTLED,
                        _SI.RECEIVE_REQUEST: _S.SETTLING,
                        _SI.RESPOND: _S.SETTLING,
                        _SI.SEND_UPDATE: _S.SETTLING,
                        _SI.SEND_EVENT: _S.SETTLING,
                        _SI.RECEIVE_UPDATE: _S.SETTLING,
                        _SI.RECEIVE_EVENT: _S.SETTLING,
                    },
                ),
                _S.SETTLED: _open(
                    _S.SETTLED,
                    {
                        _SI.RECEIVE_REQUEST: _S.SETTLED,
                        _SI.RESPOND: _S.SETTLED,
                        _SI.SEND_UPDATE: _S.SETTLED,
                        _SI.SEND_EVENT: _S.SETTLED,
                        _SI.RECEIVE_UPDATE: _S.SETTLED,
                        _SI.RECEIVE_EVENT: _S.SETTLED,
                    },
                ),
                _S.CLOSED: {},
            },
            Role.DAPP: {
                _S.SETTLING: {
                    _SI.SEND_SETTLE_ACK: _S.SETTLED,
                    _SI.EXPIRE: _S.CLOSED,
                    _SI.DELETE: _S.CLOSED,
                },
                _S.SETTLED: _open(
                    _S.SETTLED,
                    {
                        _SI.SEND_REQUEST: _S.SETTLED,
                        _SI.RECEIVE_UPDATE: _S.SETTLED,
                        _SI.RECEIVE_EVENT: _S.SETTLED,
                        _SI.RECEIVE_REQUEST: _S.SETTLED,
                    },
                ),
                _S.CLOSED: {},
            },
        }
    )
)


def pairing_next(state: PairingState, event: PairingInput) -> PairingState | None:
    """The pairing state after ``event``, or None if ``event`` is illegal in ``state``."""
    return PAIRING_TRANSITIONS[state].get(event)


def session_next(role: Role, state: SessionState, event: SessionInput) -> SessionState | None:
    """The session state after ``event`` for ``role``, or None if illegal in ``state``."""
    return SESSION_TRANSITIONS[role][state].get(event)


def mermaid(role: Role) -> str:
    """The session table for ``role`` as a Mermaid state diagram (documentation)."""
    lines = ["stateDiagram-v2"]
    for state, row in SESSION_TRANSITIONS[role].items():
        lines.extend(f"    {state} --> {target}: {event}" for event, target in row.items())
    return "\n".join(lines)
