"""The Sign protocol engines (sans-I/O): WalletEngine, DappEngine, their events, commands and records."""

from walletconnect.engine.commands import (
    ApproveSession,
    Command,
    ProposeSession,
    Publish,
    Subscribe,
    Unsubscribe,
)
from walletconnect.engine.core import EngineConfig, EngineCore, Entropy
from walletconnect.engine.dapp import DappEngine
from walletconnect.engine.events import *  # noqa: F403 - the event classes are the public API
from walletconnect.engine.events import __all__ as _events_all
from walletconnect.engine.records import (
    HistoryRecord,
    PairingRecord,
    PairingState,
    PendingRequest,
    ProposalRecord,
    Role,
    SessionRecord,
    SessionState,
    VerifyContext,
)
from walletconnect.engine.wallet import WalletEngine

__all__ = [
    "ApproveSession",
    "Command",
    "DappEngine",
    "EngineConfig",
    "EngineCore",
    "Entropy",
    "HistoryRecord",
    "PairingRecord",
    "PairingState",
    "PendingRequest",
    "ProposalRecord",
    "ProposeSession",
    "Publish",
    "Role",
    "SessionRecord",
    "SessionState",
    "Subscribe",
    "Unsubscribe",
    "VerifyContext",
    "WalletEngine",
    *_events_all,
]
