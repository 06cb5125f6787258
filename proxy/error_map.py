"""The one table from refusals to JSON-RPC errors the dApp receives (pure).

Every refusal carries ``data = {"kind", "reason", ...}`` so a dApp can tell a policy denial from a
replay from a malformed request even when it only looks at the code:

=========  ==============  =======================================================================
code       kind            when
=========  ==============  =======================================================================
5000       policy          the envelope does not allow it (SDK USER_REJECTED: wallets' "no")
4200       unsupported     the method is not one wcproxy signs (EIP-1193 Unsupported Method)
-32602     malformed       the params could not be decoded (JSON-RPC Invalid params)
5010       replay          a replay layer refused it (``data.layer``, ``data.first_seen``); also a
                           request reusing an answered JSON-RPC id with other content
                           (layer ``rpc_id``; a second response to that id, which the SDK ignores)
5720       replay          a ``wallet_sendCalls`` batch id was reused (EIP-5792 Duplicate ID)
5020       revoked         the session was revoked (``data.path``)
5021       frozen          an emergency stop freezes all signing
8000       expired         the request's own ``expiryTimestamp`` has passed (WC spec code)
-32002     unavailable     a store, the signer or the chain endpoint could not be reached
=========  ==============  =======================================================================

Messages name the reason in words and never carry key material or internal state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from policy.decision import Decision
from policy.errors import DenyReason
from policy.replay import Replay, ReplayLayer, Sighting

__all__ = [
    "CODE_EXPIRED",
    "CODE_FROZEN",
    "CODE_MALFORMED",
    "CODE_POLICY",
    "CODE_REPLAY",
    "CODE_REPLAY_BATCH",
    "CODE_REVOKED",
    "CODE_UNAVAILABLE",
    "CODE_UNSUPPORTED",
    "WireError",
    "decision_error",
    "expired_error",
    "frozen_error",
    "malformed_error",
    "replay_error",
    "reused_id_error",
    "revoked_error",
    "unavailable_error",
]

CODE_POLICY = 5000
CODE_UNSUPPORTED = 4200
CODE_MALFORMED = -32602
CODE_REPLAY = 5010
CODE_REPLAY_BATCH = 5720
CODE_REVOKED = 5020
CODE_FROZEN = 5021
CODE_EXPIRED = 8000
CODE_UNAVAILABLE = -32002

_MAX_MESSAGE_CHARS = 300


@dataclass(frozen=True, slots=True)
class WireError:
    """A JSON-RPC error object for the dApp."""

    code: int
    message: str
    data: dict[str, Any]

    @property
    def kind(self) -> str:
        """The refusal kind (``policy``, ``replay``, ...), as in ``data.kind``."""
        return str(self.data["kind"])

    def to_dict(self) -> dict[str, Any]:
        """``{"code", "message", "data"}``."""
        return {"code": self.code, "message": self.message, "data": dict(self.data)}


def _cut(text: str) -> str:
    return text if len(text) <= _MAX_MESSAGE_CHARS else text[: _MAX_MESSAGE_CHARS - 1] + "…"


def decision_error(decision: Decision) -> WireError:
    """The error for a denied :class:`~policy.decision.Decision` (every reason goes into ``data``)."""
    if decision.allowed:
        raise ValueError("an allowed decision has no error")
    reasons = [str(r) for r in decision.reasons]
    first = decision.reasons[0]
    summary = "; ".join(
        f"{r}: {m}" if m else str(r) for r, m in zip(reasons, decision.messages, strict=True)
    )
    data: dict[str, Any] = {"reason": str(first), "reasons": reasons}
    if reasons == [DenyReason.UNSUPPORTED_METHOD]:
        return WireError(
            CODE_UNSUPPORTED,
            _cut(f"Unsupported method: {summary}"),
            {"kind": "unsupported", **data},
        )
    if reasons == [DenyReason.UNDECODABLE]:
        return WireError(
            CODE_MALFORMED, _cut(f"Invalid params: {summary}"), {"kind": "malformed", **data}
        )
    if DenyReason.STORE_UNAVAILABLE in decision.reasons:
        return unavailable_error("replay store")
    return WireError(CODE_POLICY, _cut(f"Denied by policy: {summary}"), {"kind": "policy", **data})


def replay_error(replay: Replay) -> WireError:
    """The error for a replay-store refusal; names the layer and when it was first seen."""
    data: dict[str, Any] = {
        "kind": "replay",
        "reason": str(DenyReason.REPLAY_DETECTED),
        "layer": str(replay.layer),
        "detail": replay.reason,
    }
    if replay.first_seen is not None:
        data["first_seen"] = int(replay.first_seen.at)
    code = CODE_REPLAY_BATCH if replay.layer is ReplayLayer.BATCH_ID else CODE_REPLAY
    message = f"Replay refused ({replay.layer}): {replay.reason}"
    return WireError(code, _cut(message), data)


def reused_id_error(first_seen: float | None = None, session: str | None = None) -> WireError:
    """The error for a request that reuses a JSON-RPC id with other content (layer ``rpc_id``)."""
    sighting = Sighting(first_seen, session, None) if first_seen else None
    return replay_error(
        Replay(ReplayLayer.RPC_ID, "id already used for a different request", sighting)
    )


def revoked_error(path: str, reason: str) -> WireError:
    """The error for any request on a revoked session."""
    return WireError(
        CODE_REVOKED,
        _cut(f"Session revoked ({path}): {reason}"),
        {"kind": "revoked", "reason": str(DenyReason.SESSION_REVOKED), "path": path},
    )


def frozen_error() -> WireError:
    """The error while an emergency stop freezes all signing."""
    return WireError(
        CODE_FROZEN,
        "Signing is frozen by an emergency stop",
        {"kind": "frozen", "reason": "signing_frozen"},
    )


def expired_error() -> WireError:
    """The error for a request whose own expiry has passed."""
    return WireError(
        CODE_EXPIRED,
        "Request expired before it could be answered",
        {"kind": "expired", "reason": str(DenyReason.REQUEST_EXPIRED)},
    )


def malformed_error(reason: str, detail: str) -> WireError:
    """The error for a request that could not be parsed at all."""
    return WireError(
        CODE_MALFORMED,
        _cut(f"Invalid params: {reason}: {detail}" if detail else f"Invalid params: {reason}"),
        {"kind": "malformed", "reason": reason},
    )


def unavailable_error(what: str, reason: str = "unavailable") -> WireError:
    """The error when a dependency is down: the proxy fails closed and says so."""
    return WireError(
        CODE_UNAVAILABLE,
        _cut(f"Temporarily unavailable: {what}; nothing was signed"),
        {"kind": "unavailable", "reason": reason, "what": what},
    )
