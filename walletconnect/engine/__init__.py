"""The Sign protocol engines (sans-I/O): WalletEngine, DappEngine, their events, commands and records.

Names are resolved lazily (PEP 562) so that ``walletconnect.storage`` can import
``walletconnect.engine.records`` without pulling the engines in (no import cycle).
"""

from __future__ import annotations

import importlib
from typing import Any

_HOMES = {
    "commands": (
        "ApproveSession",
        "Command",
        "ProposeSession",
        "Publish",
        "Subscribe",
        "Unsubscribe",
    ),
    "core": ("EngineConfig", "EngineCore", "Entropy"),
    "dapp": ("DappEngine",),
    "wallet": ("WalletEngine",),
    "records": (
        "HistoryRecord",
        "PairingRecord",
        "PairingState",
        "PendingRequest",
        "ProposalRecord",
        "Role",
        "SessionRecord",
        "SessionState",
        "VerifyContext",
    ),
    "events": (
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
    ),
}
_WHERE = {name: module for module, names in _HOMES.items() for name in names}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
