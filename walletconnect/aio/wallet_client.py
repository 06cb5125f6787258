"""WalletClient: WalletEngine + RelayClient + store + timers for the wallet role; does I/O.

The application sees a small API: an ``on_proposal`` decision callback (returns
:class:`Approval` or :class:`Rejection`), an ``on_request`` handler (returns the result or raises
:class:`RequestRejected`), the verbs ``pair``, ``approve``, ``reject``, ``respond``, ``update``,
``emit``, ``ping``, ``extend``, ``disconnect``, and the engine events (``events()`` /
``next_event()``). Requests still pending after a restart are handed to ``on_request`` again.
A request reusing an earlier JSON-RPC id with other content never reaches ``on_request``: it goes
to ``on_reused_id`` (returns the JSON-RPC error to answer; default: a generic "id already used").
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import structlog

from walletconnect.aio.engine_client import EngineClient
from walletconnect.engine.core import EngineConfig, Entropy
from walletconnect.engine.events import (
    EngineEvent,
    ProposalReceived,
    RequestIdReused,
    RequestReceived,
    RevokedRequestReceived,
)
from walletconnect.engine.records import (
    PairingRecord,
    PendingRequest,
    ProposalRecord,
    SessionRecord,
)
from walletconnect.engine.wallet import WalletEngine
from walletconnect.errors import LocalProtocolError, NamespaceError, SdkErrorInfo, sdk_error
from walletconnect.storage import WalletConnectStore

__all__ = [
    "Approval",
    "ProposalHandler",
    "Rejection",
    "RequestHandler",
    "RequestIgnored",
    "RequestRejected",
    "ReusedIdHandler",
    "RevokedRequestHandler",
    "WalletClient",
    "reused_id_error",
]

log = structlog.get_logger(__name__)

#: After a restart, answers to requests received this recently are published again (a crash may
#: have come between persisting an answer and the relay acknowledging it).
RESEND_WINDOW_S = 60.0
#: At most this many answers are re-sent at start, newest first.
RESEND_LIMIT = 1_000


@dataclass(frozen=True, slots=True)
class Approval:
    """Approve a proposal with these session namespaces (CAIP-10 accounts, methods, events)."""

    namespaces: Mapping[str, Any]
    session_properties: Mapping[str, str] | None = None
    scoped_properties: Mapping[str, Any] | None = None
    expiry: int | None = None
    """Optional hard cap (unix seconds) on the session expiry, extends included."""


@dataclass(frozen=True, slots=True)
class Rejection:
    """Reject a proposal with an SDK error (default USER_REJECTED 5000)."""

    reason: SdkErrorInfo = field(default_factory=lambda: sdk_error("USER_REJECTED"))


class RequestRejected(Exception):  # noqa: N818 - it is a verdict, not a failure
    """Raise from ``on_request`` to answer with a JSON-RPC error ``{code, message[, data]}``."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.data = data

    def to_error(self) -> dict[str, Any]:
        """The JSON-RPC error object."""
        err: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            err["data"] = self.data
        return err


class RequestIgnored(Exception):  # noqa: N818 - a verdict: stay silent
    """Raise from ``on_request`` to send nothing (e.g. another wallet instance sharing the session answers).

    The request stays pending in the engine until its expiry, then expires without a reply.
    """


ProposalHandler = Callable[[ProposalRecord], Awaitable[Approval | Rejection]]
RequestHandler = Callable[[PendingRequest, SessionRecord], Awaitable[Any]]
RevokedRequestHandler = Callable[[RevokedRequestReceived], Awaitable[Mapping[str, Any] | None]]
"""Answers a request on a revoked session: the JSON-RPC error to send (None: the revocation's)."""
ReusedIdHandler = Callable[[RequestIdReused], Awaitable[Mapping[str, Any] | None]]
"""Answers a request that reused an id with other content: the error to send (None: the default)."""


def reused_id_error(event: RequestIdReused) -> dict[str, Any]:
    """The default answer to a reused id: JSON-RPC Invalid Request, saying why."""
    return {
        "code": -32600,
        "message": f"Invalid Request: id {event.id} was already used for another request",
    }


class WalletClient(EngineClient):
    """The wallet role over a relay. ``async with WalletClient(url, metadata=..., ...) as w:``."""

    engine: WalletEngine

    def __init__(
        self,
        relay_url: str,
        *,
        metadata: Mapping[str, Any],
        store: WalletConnectStore | None = None,
        on_proposal: ProposalHandler | None = None,
        on_request: RequestHandler | None = None,
        on_revoked_request: RevokedRequestHandler | None = None,
        on_reused_id: ReusedIdHandler | None = None,
        project_id: str | None = None,
        config: EngineConfig | None = None,
        entropy: Entropy | None = None,
        clock: Callable[[], float] = time.time,
        relay_options: dict[str, Any] | None = None,
    ) -> None:
        cfg = config or EngineConfig(metadata=dict(metadata))
        super().__init__(
            WalletEngine(cfg, entropy=entropy),
            relay_url,
            store=store,
            project_id=project_id,
            clock=clock,
            relay_options=relay_options,
        )
        self.on_proposal = on_proposal
        self.on_request = on_request
        self.on_revoked_request = on_revoked_request
        self.on_reused_id = on_reused_id
        self._in_flight: set[tuple[str, int]] = set()

    @property
    def sessions(self) -> dict[str, SessionRecord]:
        """Live sessions by topic."""
        return dict(self.engine.sessions)

    async def _resume(self) -> None:
        async with self._lock:
            resent = self.engine.resend_recent_answers(
                self.clock(), window_s=RESEND_WINDOW_S, limit=RESEND_LIMIT
            )
        if resent:
            log.info("wc.answers_resent", count=resent)
            await self.flush()
        for pending in self.engine.pending_requests():
            self._dispatch_request(pending)

    def handle_event(self, event: EngineEvent) -> None:
        if isinstance(event, ProposalReceived) and self.on_proposal is not None:
            self.spawn(self._decide(event.proposal))
        elif isinstance(event, RequestReceived):
            self._dispatch_request(event.request)
        elif isinstance(event, RevokedRequestReceived):
            self.spawn(self._handle_revoked(event))
        elif isinstance(event, RequestIdReused):
            self.spawn(self._handle_reused(event))

    def _dispatch_request(self, pending: PendingRequest) -> None:
        key = (pending.topic, pending.id)
        if self.on_request is None or key in self._in_flight:
            return
        self._in_flight.add(key)
        self.spawn(self._handle_request(pending))

    async def _decide(self, proposal: ProposalRecord) -> None:
        assert self.on_proposal is not None
        try:
            verdict = await self.on_proposal(proposal)
        except Exception:
            log.exception("wc.on_proposal_failed", proposal_id=proposal.id)
            verdict = Rejection()
        try:
            if isinstance(verdict, Approval):
                await self.approve(
                    proposal.id,
                    verdict.namespaces,
                    session_properties=verdict.session_properties,
                    scoped_properties=verdict.scoped_properties,
                    expiry=verdict.expiry,
                )
            else:
                await self.reject(proposal.id, verdict.reason)
        except NamespaceError as exc:
            log.warning("wc.approval_invalid", proposal_id=proposal.id, code=exc.code)
            await self.reject(proposal.id, exc.sdk_error)
        except LocalProtocolError as exc:
            log.warning("wc.decision_too_late", proposal_id=proposal.id, error=str(exc))

    async def _handle_request(self, pending: PendingRequest) -> None:
        assert self.on_request is not None
        session = self.engine.sessions.get(pending.topic)
        if session is None:
            if self.engine.is_revoked_pending(pending.topic, pending.id):
                await self._handle_revoked(_revoked_event(pending, self.engine))
            self._in_flight.discard((pending.topic, pending.id))
            return
        try:
            result = await self.on_request(pending, session)
        except RequestRejected as exc:
            await self._answer(pending, error=exc.to_error())
        except RequestIgnored as exc:
            log.debug("wc.request_ignored", id=pending.id, why=str(exc))
        except Exception:
            log.exception("wc.on_request_failed", id=pending.id, method=pending.method)
            await self._answer(pending, error={"code": -32603, "message": "Internal error"})
        else:
            await self._answer(pending, result=result)
        finally:
            self._in_flight.discard((pending.topic, pending.id))

    async def _handle_revoked(self, event: RevokedRequestReceived) -> None:
        error: Mapping[str, Any] | None = None
        if self.on_revoked_request is not None:
            try:
                error = await self.on_revoked_request(event)
            except Exception:
                log.exception("wc.on_revoked_request_failed", id=event.id)
        if error is None:
            error = {"code": event.code, "message": event.message}
        try:
            await self.respond(event.topic, event.id, error=error)
        except LocalProtocolError as exc:
            log.info("wc.revoked_answer_not_sent", id=event.id, reason=str(exc))

    async def _handle_reused(self, event: RequestIdReused) -> None:
        error: Mapping[str, Any] | None = None
        if self.on_reused_id is not None:
            try:
                error = await self.on_reused_id(event)
            except Exception:
                log.exception("wc.on_reused_id_failed", id=event.id)
        if error is None:
            error = reused_id_error(event)
        try:
            async with self._lock:
                self.engine.refuse_reused_id(event.topic, event.id, self.clock(), error=error)
            await self.flush()
        except LocalProtocolError as exc:
            log.info("wc.reused_id_answer_not_sent", id=event.id, reason=str(exc))

    async def _answer(self, pending: PendingRequest, **kwargs: Any) -> None:
        try:
            await self.respond(pending.topic, pending.id, **kwargs)
        except LocalProtocolError as exc:
            log.warning("wc.response_not_sent", id=pending.id, reason=str(exc))

    # ------------------------------------------------------------------ verbs

    async def pair(self, uri: str) -> PairingRecord:
        """Pair from a ``wc:`` URI (subscribes to the pairing topic)."""
        async with self._lock:
            pairing = self.engine.pair(uri, self.clock())
        await self.flush()
        return pairing

    async def approve(
        self,
        proposal_id: int,
        namespaces: Mapping[str, Any],
        *,
        session_properties: Mapping[str, str] | None = None,
        scoped_properties: Mapping[str, Any] | None = None,
        expiry: int | None = None,
    ) -> SessionRecord:
        """Approve a proposal (``wc_approveSession``); returns the new session (unacknowledged).

        ``expiry`` caps the session expiry (see :meth:`WalletEngine.approve`).
        """
        async with self._lock:
            session = self.engine.approve(
                proposal_id,
                namespaces,
                self.clock(),
                session_properties=session_properties,
                scoped_properties=scoped_properties,
                expiry=expiry,
            )
        await self.flush()
        return session

    async def reject(self, proposal_id: int, reason: SdkErrorInfo | None = None) -> None:
        """Reject a proposal (tag 1120)."""
        async with self._lock:
            self.engine.reject(proposal_id, self.clock(), reason)
        await self.flush()

    async def respond(
        self,
        topic: str,
        rpc_id: int,
        *,
        result: Any = None,
        error: SdkErrorInfo | Mapping[str, Any] | None = None,
    ) -> None:
        """Answer a pending request; persisted before it is published."""
        async with self._lock:
            if error is not None:
                self.engine.respond(topic, rpc_id, self.clock(), error=error)
            else:
                self.engine.respond(topic, rpc_id, self.clock(), result=result)
        await self.flush()

    async def update(self, topic: str, namespaces: Mapping[str, Any]) -> None:
        """wc_sessionUpdate (applied locally at once)."""
        async with self._lock:
            self.engine.update(topic, namespaces, self.clock())
        await self.flush()

    async def revoke(
        self, topic: str, *, reason: SdkErrorInfo, watch_until: float, notify: bool = True
    ) -> bool:
        """End a session for good, keep watching its topic until ``watch_until`` (see
        :meth:`WalletEngine.revoke`); later requests there go to ``on_revoked_request``."""
        async with self._lock:
            done = self.engine.revoke(
                topic, self.clock(), reason=reason, watch_until=watch_until, notify=notify
            )
        await self.flush()
        return done

    async def watch_revoked(self, topic: str, *, reason: SdkErrorInfo, watch_until: float) -> bool:
        """Watch a revoked session's topic again (after a restart); see :meth:`WalletEngine.watch_revoked`."""
        async with self._lock:
            done = self.engine.watch_revoked(
                topic, self.clock(), reason=reason, watch_until=watch_until
            )
        await self.flush()
        return done

    async def emit(self, topic: str, name: str, data: Any, chain_id: str) -> None:
        """wc_sessionEvent (accountsChanged, chainChanged, ...)."""
        async with self._lock:
            self.engine.emit(topic, name, data, chain_id, self.clock())
        await self.flush()


def _revoked_event(pending: PendingRequest, engine: WalletEngine) -> RevokedRequestReceived:
    stone = engine.tombstones.get(pending.topic)
    return RevokedRequestReceived(
        topic=pending.topic,
        id=pending.id,
        method=pending.method,
        chain_id=pending.chain_id,
        params=pending.params,
        received_at=pending.received_at,
        code=stone.code if stone is not None else 6000,
        message=stone.message if stone is not None else "Session revoked.",
        pending=True,
    )
