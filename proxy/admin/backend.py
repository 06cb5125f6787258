"""The admin API's view of the daemon: a Protocol the running proxy implements (pure)."""

from __future__ import annotations

from typing import Any, Protocol

__all__ = ["AdminBackend", "NotFoundError"]


class NotFoundError(LookupError):
    """The session, proposal or dApp named by an admin call does not exist."""


class AdminBackend(Protocol):
    """Operations the admin API exposes; every method returns JSON-ready data."""

    async def health(self) -> dict[str, Any]:
        """Liveness and readiness facts (relay connected, store reachable, frozen)."""
        ...

    async def list_sessions(self) -> list[dict[str, Any]]:
        """Every known session with its envelope and usage."""
        ...

    async def list_proposals(self) -> list[dict[str, Any]]:
        """Proposals waiting for an operator."""
        ...

    async def approve_proposal(self, proposal_id: int, *, actor: str) -> dict[str, Any]:
        """Approve a queued proposal; raises NotFoundError."""
        ...

    async def reject_proposal(self, proposal_id: int, *, actor: str, reason: str) -> dict[str, Any]:
        """Reject a queued proposal; raises NotFoundError."""
        ...

    async def pair(self, uri: str, *, actor: str) -> dict[str, Any]:
        """Pair with a ``wc:`` URI; raises ValueError for a malformed URI."""
        ...

    async def revoke(
        self,
        *,
        session: str | None,
        dapp: str | None,
        revoke_all: bool,
        actor: str,
        reason: str,
    ) -> dict[str, Any]:
        """Revoke one session, every session of a dApp origin, or all sessions."""
        ...

    async def emergency_stop(self, *, actor: str, reason: str) -> dict[str, Any]:
        """Revoke everything and freeze all signing until resumed."""
        ...

    async def emergency_resume(self, *, actor: str, reason: str) -> dict[str, Any]:
        """Lift the emergency freeze (revoked sessions stay revoked)."""
        ...

    def metrics_text(self) -> bytes:
        """Prometheus exposition text."""
        ...
