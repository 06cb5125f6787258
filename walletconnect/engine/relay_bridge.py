"""Turn engine commands into RelayClientProtocol calls; pure, no I/O.

The asyncio clients and the in-memory tests share this one mapping from the relay-agnostic
commands (:mod:`walletconnect.engine.commands`) to ``irn_*`` / ``wc_*`` relay requests.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from walletconnect.engine.commands import (
    ApproveSession,
    Command,
    ProposeSession,
    Publish,
    Subscribe,
    Unsubscribe,
)
from walletconnect.relay.client import RelayClientProtocol

__all__ = ["apply_commands"]


def apply_commands(
    relay: RelayClientProtocol, commands: Iterable[Command], now: float
) -> list[tuple[int, Command]]:
    """Queue each command on ``relay``; returns ``(relay request id, command)`` pairs."""
    out: list[tuple[int, Command]] = []
    for cmd in commands:
        if isinstance(cmd, Publish):
            tvf: dict[str, Any] = dict(cmd.tvf)
            if cmd.correlation_id is not None:
                tvf["correlationId"] = cmd.correlation_id
            rid = relay.publish(
                cmd.topic, cmd.message, cmd.ttl_s, cmd.tag, cmd.prompt, now=now, **tvf
            )
        elif isinstance(cmd, Subscribe):
            rid = relay.subscribe(cmd.topic, now=now)
        elif isinstance(cmd, Unsubscribe):
            if cmd.topic not in relay.topics:
                continue
            rid = relay.unsubscribe(cmd.topic, now=now)
        elif isinstance(cmd, ProposeSession):
            rid = relay.propose_session(
                cmd.pairing_topic,
                cmd.session_proposal,
                now=now,
                ttl=cmd.ttl_s,
                correlation_id=cmd.correlation_id,
            )
        else:
            assert isinstance(cmd, ApproveSession)
            extra: dict[str, Any] = {
                "approvedChains": list(cmd.approved_chains),
                "approvedMethods": list(cmd.approved_methods),
                "approvedEvents": list(cmd.approved_events),
            }
            if cmd.session_properties is not None:
                extra["sessionProperties"] = cmd.session_properties
            if cmd.scoped_properties is not None:
                extra["scopedProperties"] = cmd.scoped_properties
            rid = relay.approve_session(
                cmd.session_topic,
                cmd.pairing_topic,
                cmd.session_proposal_response,
                cmd.session_settlement_request,
                now=now,
                ttl=cmd.ttl_s,
                correlation_id=cmd.correlation_id,
                **extra,
            )
        out.append((rid, cmd))
    return out
