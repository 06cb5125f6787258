"""What the daemon's parts share: its state, the queued-proposal record and the audit helper (I/O: audit writes).

:class:`~proxy.app.Daemon` is assembled from :class:`~proxy.daemon_sessions.SessionsMixin` (proposals,
bindings, requests, session ends) and :class:`~proxy.daemon_revocation.RevocationMixin` (the three
revocation paths, the freeze, following other replicas) over this state; the methods each part calls in
the other are declared here so every part type-checks on its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog

from policy.envelope import CapabilityEnvelope
from policy.interfaces import ReplayStore
from policy.revocation import (
    Freeze,
    Revocation,
    SessionBinding,
)
from proxy.audit.log import AuditLog
from proxy.audit.record import AuditEntry
from proxy.config import Settings
from proxy.metrics import Metrics
from proxy.pipeline import Outcome, RequestPipeline
from proxy.revocation_rules import RequestFacts, RuleEvaluator
from proxy.session_rules import SessionPlan
from proxy.signers.base import Signer
from walletconnect.aio.wallet_client import (
    Approval,
    Rejection,
    WalletClient,
)
from walletconnect.engine.events import (
    RevokedRequestReceived,
)
from walletconnect.engine.records import PendingRequest, ProposalRecord

__all__ = [
    "DELETE_CODE",
    "ENVELOPE_END_LEAD_S",
    "PURGE_INTERVAL_S",
    "REVOKE_METHODS",
    "SWEEP_INTERVAL_S",
    "DaemonState",
    "QueuedProposal",
]

log = structlog.get_logger(__name__)

SWEEP_INTERVAL_S = 1.0
PURGE_INTERVAL_S = 300.0
#: Sessions are deleted this long before their envelope expires: the WalletConnect session's expiry is
#: capped at the envelope's, and an expired session can no longer carry a wc_sessionDelete.
ENVELOPE_END_LEAD_S = 2 * SWEEP_INTERVAL_S
#: Methods by which a dApp gives up its own session's authority (user path, no capability needed).
REVOKE_METHODS = frozenset({"wallet_revokePermissions", "wallet_revokeExecutionPermission"})
#: The SDK code a wallet's wc_sessionDelete carries (the message says why).
DELETE_CODE = 6000


@dataclass(slots=True)
class QueuedProposal:
    """A proposal waiting for an operator (no rule approved it outright)."""

    proposal: ProposalRecord
    plan: SessionPlan
    queued_at: float
    decided: asyncio.Future[Approval | Rejection] = field(default_factory=asyncio.Future)


class DaemonState:
    """Attributes and cross-part hooks of a running daemon (set up by ``Daemon.__init__`` / ``start``)."""

    settings: Settings
    clock: Callable[[], float]
    metrics: Metrics
    data_dir: Path
    store: ReplayStore
    signer: Signer
    audit: AuditLog
    pipeline: RequestPipeline
    wallet: WalletClient
    templates: dict[str, CapabilityEnvelope]
    rules: RuleEvaluator
    relay_url: str
    admin_url: str
    _tasks: list[asyncio.Task[None]]
    _queued: dict[int, QueuedProposal]
    _bindings: dict[str, SessionBinding]
    _envelopes: dict[str, CapabilityEnvelope]
    _frozen: Freeze | None
    _pending_plans: dict[int, tuple[SessionPlan, str]]
    _revoked: dict[str, Revocation]
    _revoking: set[str]
    _to_retire: set[str]

    async def _audit(self, entry: AuditEntry) -> None:
        try:
            await self.audit.append(entry)
        except Exception:
            log.exception("audit_write_failed", audit_event=entry.event)

    # Implemented by the parts (declared here so each part type-checks alone).

    def _remember(self, binding: SessionBinding) -> None:
        raise NotImplementedError

    async def _end_session(self, topic: str, end: str) -> None:
        raise NotImplementedError

    async def _send(self, pending: PendingRequest, outcome: Outcome) -> None:
        raise NotImplementedError

    async def _dapp_revokes(self, pending: PendingRequest, binding: SessionBinding) -> None:
        raise NotImplementedError

    async def _on_refused(self, facts: RequestFacts) -> None:
        raise NotImplementedError

    async def _on_revoked_request(self, event: RevokedRequestReceived) -> dict[str, Any]:
        raise NotImplementedError

    async def _retire(self, topic: str, *, notify: bool) -> None:
        raise NotImplementedError
