"""The daemon's composition root (I/O): builds relay, stores, signer, audit, pipeline, wallet and admin API.

Resources open in order under one AsyncExitStack and close in reverse. The daemon implements the admin
API's :class:`~proxy.admin.backend.AdminBackend`. It is the second place allowed a broad ``except``:
its background tasks log and carry on, they never take the daemon down.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import time
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog
from aiohttp import web

from policy.envelope import CapabilityEnvelope, parse_envelope
from policy.errors import RecordError
from policy.interfaces import ReplayStore
from policy.replay import ReplayPolicy
from policy.revocation import (
    UNBOUND_SESSION_TTL_S,
    EventKind,
    Freeze,
    Revocation,
    RevocationPath,
    SessionBinding,
)
from proxy.admin.app import create_admin_app
from proxy.admin.backend import NotFoundError
from proxy.audit.log import AuditLog, FileChainHeadStore
from proxy.audit.record import AuditEntry
from proxy.chain_rpc import ChainRpc
from proxy.config import Settings
from proxy.error_map import frozen_error, revoked_error
from proxy.errors import ConfigError, ConfigIssue
from proxy.metrics import Metrics
from proxy.pipeline import Answer, Outcome, RequestPipeline, SessionView, Silence
from proxy.revocation_rules import RequestFacts, RuleEvaluator, RuleFiring
from proxy.session_rules import SessionPlan, plan_session, proposal_facts
from proxy.signers.base import Signer
from proxy.signers.factory import build_signer
from proxy.stores import open_replay_store
from proxy.stores.watch import watch_events
from proxy.stores.wc import open_wc_store
from proxy.translate import WcRequest
from proxy.wiring import build_pricer
from walletconnect.aio.relay_server import RelayServer
from walletconnect.aio.wallet_client import (
    Approval,
    Rejection,
    RequestIgnored,
    RequestRejected,
    WalletClient,
)
from walletconnect.engine.events import (
    MessageDropped,
    RevokedRequestReceived,
    SessionDeleted,
    SessionExpired,
    SessionSettled,
)
from walletconnect.engine.records import PendingRequest, ProposalRecord, SessionRecord
from walletconnect.errors import LocalProtocolError, SdkErrorInfo, WalletConnectError, sdk_error
from walletconnect.uri import parse_uri

__all__ = ["Daemon", "QueuedProposal"]

log = structlog.get_logger(__name__)

_SWEEP_INTERVAL_S = 1.0
_PURGE_INTERVAL_S = 300.0
#: Methods by which a dApp gives up its own session's authority (user path, no capability needed).
REVOKE_METHODS = frozenset({"wallet_revokePermissions", "wallet_revokeExecutionPermission"})
#: The SDK code a wallet's wc_sessionDelete carries (the message says why).
_DELETE_CODE = 6000


@dataclass(slots=True)
class QueuedProposal:
    """A proposal waiting for an operator (no rule approved it outright)."""

    proposal: ProposalRecord
    plan: SessionPlan
    queued_at: float
    decided: asyncio.Future[Approval | Rejection] = field(default_factory=asyncio.Future)


class Daemon:
    """One running wcproxy: ``await daemon.start()``, ``await daemon.stop()`` (or ``async with``)."""

    def __init__(
        self,
        settings: Settings,
        *,
        pair_uris: tuple[str, ...] = (),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.pair_uris = pair_uris
        self.clock = clock
        self.metrics = Metrics.create()
        self.data_dir = Path(settings.data_dir)
        self._stack = AsyncExitStack()
        self._tasks: list[asyncio.Task[None]] = []
        self._queued: dict[int, QueuedProposal] = {}
        self._bindings: dict[str, SessionBinding] = {}
        self._envelopes: dict[str, CapabilityEnvelope] = {}
        self._frozen: Freeze | None = None
        self._pending_plans: dict[int, tuple[SessionPlan, str]] = {}
        self.rules = RuleEvaluator(settings.revocation.rules)
        self._revoked: dict[str, Revocation] = {}
        self._revoking: set[str] = set()
        self._to_retire: set[str] = set()
        self.relay_url = ""
        self.admin_url = ""
        self.store: ReplayStore
        self.signer: Signer
        self.audit: AuditLog
        self.pipeline: RequestPipeline
        self.wallet: WalletClient
        self.templates: dict[str, CapabilityEnvelope] = {}

    async def __aenter__(self) -> Daemon:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Open everything, connect, pair with ``pair_uris`` and log ``ready``."""
        try:
            await self._start()
        except BaseException:
            await self._stack.aclose()
            raise

    async def _start(self) -> None:
        settings = self.settings
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.templates = self._load_templates()
        self.relay_url = await self._open_relay()
        self.store = await open_replay_store(settings.store.url)
        self._stack.push_async_callback(self.store.close)
        self.signer = build_signer(settings)
        self._stack.push_async_callback(self.signer.close)
        audit_path = Path(settings.audit.path)
        self.audit = await AuditLog.open(
            audit_path,
            FileChainHeadStore.beside(audit_path),
            fsync=settings.audit.fsync,
            fsync_interval_s=settings.audit.fsync_interval_s,
            clock=self.clock,
        )
        self._stack.push_async_callback(self.audit.close)
        chains: dict[int, ChainRpc] = {}
        for chain_id, chain in settings.chains.items():
            if chain.rpc_url is not None:
                rpc = ChainRpc(str(chain.rpc_url))
                self._stack.push_async_callback(rpc.close)
                chains[chain_id] = rpc
        self.pipeline = RequestPipeline(
            store=self.store,
            signer=self.signer,
            pricer=build_pricer(settings),
            audit=self.audit,
            metrics=self.metrics,
            replay_policy=ReplayPolicy(id_window_s=settings.replay.id_window_s),
            chains=chains,
            clock=self.clock,
            is_frozen=lambda: self._frozen is not None,
            on_refused=self._on_refused,
        )
        _events, cursor = await self.store.events_since(None)  # follow from here on
        for binding in await self.store.bindings():
            if binding.ended_at is None:
                self._remember(binding)
        self._frozen = await self.store.frozen()
        self.metrics.frozen.set(1 if self._frozen else 0)
        wc_store = await open_wc_store(settings.store.url, key_prefix=settings.store.key_prefix)
        self.wallet = WalletClient(
            self.relay_url,
            metadata=settings.metadata.model_dump(mode="json"),
            store=wc_store,
            on_proposal=self._on_proposal,
            on_request=self._on_request,
            on_revoked_request=self._on_revoked_request,
            project_id=(
                settings.relay.project_id.get_secret_value() if settings.relay.project_id else None
            ),
            clock=self.clock,
        )
        await self.wallet.start()
        self._stack.push_async_callback(self.wallet.close)
        await self._reconcile_revocations()
        await self._open_admin()
        self._tasks = [
            asyncio.create_task(self._watch_events(), name="wcproxy-events"),
            asyncio.create_task(self._sweep(), name="wcproxy-sweep"),
            asyncio.create_task(self._follow_store(cursor), name="wcproxy-store-events"),
        ]
        await self._audit(AuditEntry(event="startup", details={"signer": self.signer.name}))
        for uri in self.pair_uris:
            await self.wallet.pair(uri)
        log.info(
            "ready",
            relay=self.relay_url,
            admin=self.admin_url,
            audit_log=str(audit_path),
            data_dir=str(self.data_dir),
            signer=self.signer.name,
            accounts=list(self.signer.accounts()),
        )

    async def stop(self) -> None:
        """Drain in-flight requests, then close everything in reverse order."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        with contextlib.suppress(Exception):
            await self.wallet.drained(timeout_s=10.0)
        for queued in self._queued.values():
            if not queued.decided.done():
                queued.decided.set_result(Rejection(sdk_error("USER_REJECTED", "proxy stopping")))
        await self._stack.aclose()
        log.info("stopped")

    def _load_templates(self) -> dict[str, CapabilityEnvelope]:
        templates: dict[str, CapabilityEnvelope] = {}
        for rule in self.settings.session_rules:
            if rule.envelope is None:
                continue
            path = Path(rule.envelope)
            try:
                templates[rule.name] = parse_envelope(path.read_bytes())
            except OSError as exc:
                raise _config_error(rule.name, f"envelope {path}: {exc.strerror}") from None
            except ValueError as exc:
                raise _config_error(rule.name, f"envelope {path}: {exc}") from None
        return templates

    async def _open_relay(self) -> str:
        relay = self.settings.relay
        if relay.url != "embedded":
            return relay.url
        server = RelayServer(relay.listen_host, relay.listen_port)
        await server.start()
        self._stack.push_async_callback(server.stop)
        return server.url

    async def _open_admin(self) -> None:
        admin = self.settings.admin
        token = _secret(admin.token)
        if token is None:
            token = await asyncio.to_thread(_token_file, Path(admin.token_file))
        emergency = _secret(admin.emergency_token)
        if emergency is None:
            emergency = await asyncio.to_thread(_token_file, Path(admin.emergency_token_file))
        app = create_admin_app(self, token=token, emergency_token=emergency)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        self._stack.push_async_callback(runner.cleanup)
        site = web.TCPSite(runner, admin.host, admin.port)
        await site.start()
        bound_host, port = runner.addresses[0][:2]
        host = f"[{bound_host}]" if ":" in bound_host else bound_host
        self.admin_url = f"http://{host}:{port}"
        url_file = Path(admin.url_file)
        await asyncio.to_thread(_write_text, url_file, self.admin_url + "\n")
        self._stack.callback(_unlink_if, url_file, self.admin_url)

    # ------------------------------------------------------------------ sessions

    def _remember(self, binding: SessionBinding) -> None:
        self._bindings[binding.session] = binding
        self._envelopes[binding.session] = parse_envelope(json.dumps(binding.envelope))
        self.metrics.active_sessions.set(len(self._bindings))

    async def _on_proposal(self, proposal: ProposalRecord) -> Approval | Rejection:
        now = self.clock()
        if self._frozen is not None:
            origin = str(proposal.proposer_metadata.get("url", ""))
            await self._audit(
                AuditEntry(event="session_rejected", dapp=origin, details={"why": "frozen"})
            )
            return Rejection(sdk_error("USER_REJECTED", "signing is frozen by an emergency stop"))
        verified = (
            proposal.verify_context.origin
            if proposal.verify_context.validation == "VALID"
            else None
        )
        facts = proposal_facts(
            metadata=proposal.proposer_metadata,
            verified_origin=verified,
            required=proposal.required_namespaces,
            optional=proposal.optional_namespaces,
        )
        rules = [(rule, self.templates.get(rule.name)) for rule in self.settings.session_rules]
        plan = plan_session(
            facts,
            rules,
            unmatched=self.settings.unmatched,
            accounts=self.signer.accounts(),
            now=int(now),
        )
        log.info(
            "proposal",
            id=proposal.id,
            dapp=facts.origin,
            action=plan.action,
            rule=plan.rule,
            why=plan.why,
        )
        if plan.action == "queue":
            queued = QueuedProposal(proposal, plan, now)
            self._queued[proposal.id] = queued
            try:
                return await queued.decided
            finally:
                self._queued.pop(proposal.id, None)
        if plan.action == "reject" or plan.namespaces is None or plan.envelope is None:
            reason = plan.rejection or sdk_error("USER_REJECTED")
            await self._audit(
                AuditEntry(
                    event="session_rejected",
                    dapp=facts.origin,
                    details={"rule": plan.rule, "why": plan.why, "code": reason.code},
                )
            )
            return Rejection(reason)
        return await self._approval(proposal, plan, facts.origin)

    async def _approval(self, proposal: ProposalRecord, plan: SessionPlan, origin: str) -> Approval:
        assert plan.envelope is not None
        assert plan.namespaces is not None
        self._pending_plans[proposal.id] = (plan, origin)
        return Approval(plan.namespaces, expiry=plan.envelope.expires_at_s)

    async def _bind(self, session: SessionRecord, plan: SessionPlan, origin: str) -> None:
        assert plan.envelope is not None
        assert plan.namespaces is not None
        envelope = plan.envelope
        namespace = plan.namespaces["eip155"]
        binding = SessionBinding(
            session=session.topic,
            envelope=envelope.to_json(),
            envelope_id=envelope.envelope_id,
            rule=plan.rule,
            dapp=origin,
            dapp_name=str(session.peer_metadata.get("name", "")),
            approved_at=self.clock(),
            expires_at=envelope.expires_at_s,
            action_classes=tuple(sorted(str(c) for c in envelope.capabilities)),
            accounts=tuple(namespace["accounts"]),
            chain=namespace["chains"][0],
        )
        await self.store.bind(binding)
        self._remember(binding)
        await self._audit(
            AuditEntry(
                event="session_approved",
                session=session.topic,
                dapp=origin,
                envelope_id=envelope.envelope_id,
                details={
                    "action_classes": list(binding.action_classes),
                    "expires_at": binding.expires_at,
                    "rule": plan.rule,
                },
            )
        )

    async def _on_request(self, pending: PendingRequest, session: SessionRecord) -> Any:
        binding = self._bindings.get(session.topic)
        envelope = self._envelopes.get(session.topic)
        if binding is None or envelope is None:
            found = await self.store.binding(session.topic)
            if found is None:
                log.warning("request_without_binding", topic=session.topic, id=pending.id)
                raise RequestRejected(
                    5000,
                    "Denied by policy: session has no capability envelope",
                    {"kind": "policy", "reason": "scope_denied"},
                )
            self._remember(found)
            binding, envelope = found, self._envelopes[session.topic]
        request = WcRequest(
            topic=pending.topic,
            id=pending.id,
            method=pending.method,
            params=pending.params,
            chain=pending.chain_id,
            expiry=pending.expiry,
            received_at=pending.received_at,
        )
        if pending.method in REVOKE_METHODS:
            await self._dapp_revokes(pending, binding)
        view = SessionView(
            topic=session.topic, envelope=envelope, namespaces=session.namespaces, dapp=binding.dapp
        )
        outcome = await self.pipeline.handle(request, view)
        if session.topic in self._to_retire:
            # A rule revoked the session on this request: answer it, then send wc_sessionDelete.
            self._to_retire.discard(session.topic)
            try:
                await self._send(pending, outcome)
                await self._retire(session.topic, notify=True)
            finally:
                self._revoking.discard(session.topic)
            raise RequestIgnored("answered before the policy revocation")
        if isinstance(outcome, Answer):
            return outcome.result
        if isinstance(outcome, Silence):
            raise RequestIgnored(outcome.why)
        error = outcome.error
        raise RequestRejected(error.code, error.message, error.data)

    async def _send(self, pending: PendingRequest, outcome: Outcome) -> None:
        """Answer ``pending`` with ``outcome`` ourselves (nothing for a Silence)."""
        try:
            if isinstance(outcome, Answer):
                await self.wallet.respond(pending.topic, pending.id, result=outcome.result)
            elif not isinstance(outcome, Silence):
                await self.wallet.respond(pending.topic, pending.id, error=outcome.error.to_dict())
        except LocalProtocolError as exc:
            log.warning("response_not_sent", id=pending.id, reason=str(exc))

    async def _dapp_revokes(self, pending: PendingRequest, binding: SessionBinding) -> None:
        """``wallet_revokePermissions`` & co.: the dApp revokes its own session (user path).

        Recorded first, answered ``null``, then ``wc_sessionDelete``; no capability is needed.
        """
        topic = pending.topic
        self._revoking.add(topic)
        try:
            await self._record_revocation(
                topic,
                RevocationPath.USER,
                actor="dapp",
                reason=f"{pending.method} from the dApp",
                rule=None,
                alert_at=pending.received_at,
            )
            await self._audit(
                AuditEntry(
                    event="request",
                    decision="allow",
                    session=topic,
                    dapp=binding.dapp,
                    method=pending.method,
                    action_class="permission.revoke",
                    chain=pending.chain_id,
                    request_id=pending.id,
                    envelope_id=binding.envelope_id,
                    details={"delegated": True, "kind": "revoke"},
                )
            )
            self.metrics.record_request(
                method=pending.method, action_class="permission.revoke", allowed=True, reasons=()
            )
            try:
                await self.wallet.respond(topic, pending.id, result=None)
            except LocalProtocolError as exc:
                log.warning("response_not_sent", id=pending.id, reason=str(exc))
            await self._retire(topic, notify=True)
        finally:
            self._revoking.discard(topic)
        raise RequestIgnored("answered: the dApp revoked its session")

    async def _on_refused(self, facts: RequestFacts) -> None:
        """The pipeline's hook, called in the session's ordered section after each refusal.

        Feeds the revocation rules; a revoke rule records the revocation here (before the
        session's next request is decided); the caller answers and ends the session after.
        """
        firings = self.rules.observe(facts)
        if not firings:
            return
        binding = self._bindings.get(facts.session)
        if await self._apply_rules(firings, binding):
            self._to_retire.add(facts.session)

    async def _apply_rules(self, firings: list[RuleFiring], binding: SessionBinding | None) -> bool:
        """Raise each firing rule's alert; record a revocation for the first revoke rule.

        Returns whether the session is now revoked (by this call).
        """
        revoked = False
        for firing in firings:
            severity = "critical" if firing.action == "revoke" else "warning"
            alert_at = self.clock()
            self.metrics.alerts.labels(firing.rule, severity).inc()
            log.warning("alert", rule=firing.rule, session=firing.session, severity=severity)
            await self._audit(
                AuditEntry(
                    event="alert",
                    session=firing.session,
                    dapp=binding.dapp if binding is not None else None,
                    envelope_id=binding.envelope_id if binding is not None else None,
                    reasons=firing.reasons,
                    details={
                        "rule": firing.rule,
                        "trigger": firing.trigger,
                        "action": firing.action,
                        "severity": severity,
                        "alert_at": alert_at,
                        "count": firing.count,
                        "first_at": firing.first_at,
                    },
                )
            )
            if firing.action == "revoke" and not revoked:
                # Held until the caller ended the session, so the store-event follower leaves it
                # to us (we send wc_sessionDelete).
                self._revoking.add(firing.session)
                try:
                    revoked = await self._record_revocation(
                        firing.session,
                        RevocationPath.POLICY,
                        actor="policy",
                        reason=f"rule {firing.rule}: {firing.trigger}",
                        rule=firing.rule,
                        alert_at=alert_at,
                    )
                finally:
                    if not revoked:
                        self._revoking.discard(firing.session)
        return revoked

    async def _on_revoked_request(self, event: RevokedRequestReceived) -> dict[str, Any]:
        """A request on a revoked session (its topic is still watched): refuse and count it."""
        revocation = self._revoked.get(event.topic) or await self.store.revocation(event.topic)
        if self._frozen is not None:
            error = frozen_error()
        elif revocation is not None:
            error = revoked_error(str(revocation.path), revocation.reason)
        else:
            error = revoked_error("unknown", event.message)
        binding = self._bindings.get(event.topic) or await self.store.binding(event.topic)
        self.metrics.post_revocation_attempts.inc()
        self.metrics.record_request(
            method=event.method or "unknown",
            action_class="unknown",
            allowed=False,
            reasons=(str(error.data.get("reason", error.kind)),),
        )
        await self._audit(
            AuditEntry(
                event="request",
                decision="deny",
                reasons=(str(error.data.get("reason", error.kind)),),
                session=event.topic,
                dapp=binding.dapp if binding is not None else None,
                method=event.method or None,
                chain=event.chain_id,
                request_id=event.id,
                envelope_id=binding.envelope_id if binding is not None else None,
                latency_us=int(max(0.0, self.clock() - event.received_at) * 1e6),
                details={
                    "delegated": True,
                    "kind": error.kind,
                    "post_revocation": True,
                    "error_code": error.code,
                },
            )
        )
        return error.to_dict()

    async def _end_session(self, topic: str, end: str) -> None:
        binding = self._bindings.pop(topic, None)
        self._envelopes.pop(topic, None)
        self.pipeline.forget(topic)
        self.metrics.active_sessions.set(len(self._bindings))
        if binding is None:
            return
        now = self.clock()
        lifetime = max(0.0, now - binding.approved_at)
        for action_class in binding.action_classes or ("none",):
            self.metrics.session_lifetime.labels(action_class, end).observe(lifetime)
        await self.store.end_binding(topic, end, now)
        await self._audit(
            AuditEntry(
                event="session_ended",
                session=topic,
                dapp=binding.dapp,
                envelope_id=binding.envelope_id,
                details={
                    "end": end,
                    "lifetime_s": round(lifetime, 3),
                    "action_classes": list(binding.action_classes),
                },
            )
        )

    async def _watch_events(self) -> None:
        async for event in self.wallet.events():
            try:
                if isinstance(event, SessionDeleted):
                    await self._end_session(event.topic, "disconnect")
                elif isinstance(event, SessionExpired):
                    await self._end_session(event.topic, "expiry")
                elif isinstance(event, SessionSettled):
                    await self._settled(event)
                elif isinstance(event, MessageDropped):
                    await self._dropped(event)
            except Exception:  # a supervised task: log and carry on
                log.exception("event_handling_failed", event=type(event).__name__)

    async def _dropped(self, event: MessageDropped) -> None:
        """Audit what the protocol engine refused before the pipeline (expired session, malformed, ...)."""
        log.info(
            "message_dropped",
            topic=event.topic,
            reason=event.reason,
            id=event.id,
            answered=event.answered,
        )
        if event.reason == "duplicate":
            return
        await self._audit(
            AuditEntry(
                event="request_dropped",
                decision="deny",
                reasons=(event.reason,),
                session=event.topic,
                request_id=event.id,
                details={"answered": event.answered},
            )
        )

    async def _settled(self, event: SessionSettled) -> None:
        planned = self._pending_plans.pop(event.proposal_id, None)
        if planned is None:
            return
        plan, origin = planned
        await self._bind(event.session, plan, origin)

    async def _reconcile_revocations(self) -> None:
        """At start: end sessions revoked while we were down; watch revoked topics again."""
        now = self.clock()
        for revocation in await self.store.revocations():
            topic = revocation.session
            if topic is None:
                continue
            self._revoked[topic] = revocation
            binding = await self.store.binding(topic)
            if topic in self.wallet.sessions:  # revoked, but the dApp may not have been told
                await self._retire(topic, notify=True)
                continue
            if binding is None:
                continue
            with contextlib.suppress(WalletConnectError):
                await self.wallet.watch_revoked(
                    topic, reason=_delete_reason(revocation), watch_until=float(binding.expires_at)
                )
        log.info("revocations_restored", revoked=len(self._revoked), at=now)

    async def _follow_store(self, cursor: int) -> None:
        """React at once to revocations and freezes recorded by other replicas (the store's event feed).

        Only an accelerator: every claim checks the store itself. The revoking replica sent
        wc_sessionDelete; here the session just ends locally and its topic stays watched.
        """
        async for event in watch_events(self.store, cursor=cursor):
            try:
                await self._on_store_event(event)
            except (RecordError, KeyError, TypeError, ValueError) as exc:
                log.warning("store_event_unreadable", error=str(exc))
            except Exception:  # a supervised task: log and carry on
                log.exception("store_event_failed")

    async def _on_store_event(self, event: dict[str, Any]) -> None:
        kind = event.get("kind")
        if kind == EventKind.REVOKE:
            revocation = Revocation.from_dict(event["revocation"])
            topic = revocation.session
            if topic is None or topic in self._revoking:
                return
            self._revoked.setdefault(topic, revocation)
            if topic in self.wallet.sessions or topic in self._bindings:
                log.info("revoked_elsewhere", topic=topic, path=str(revocation.path))
                await self._retire(topic, notify=False)
        elif kind == EventKind.FREEZE:
            self._frozen = Freeze.from_dict(event["freeze"])
            self.metrics.frozen.set(1)
            log.warning("frozen_elsewhere", actor=self._frozen.actor)
        elif kind == EventKind.UNFREEZE:
            self._frozen = await self.store.frozen()
            self.metrics.frozen.set(1 if self._frozen else 0)
            log.info("unfrozen_elsewhere")

    async def _sweep(self) -> None:
        """End sessions whose envelope expired (wc_sessionDelete), purge the store now and then."""
        last_purge = 0.0
        while True:
            await asyncio.sleep(_SWEEP_INTERVAL_S)
            try:
                now = self.clock()
                for topic, binding in list(self._bindings.items()):
                    if binding.expires_at <= now:
                        log.info("envelope_expired", topic=topic)
                        with contextlib.suppress(WalletConnectError):
                            await self.wallet.disconnect(topic)
                        await self._end_session(topic, "expiry")
                if now - last_purge >= _PURGE_INTERVAL_S:
                    await self.store.purge(now)
                    last_purge = now
            except Exception:  # a supervised task: log and carry on
                log.exception("sweep_failed")

    async def _audit(self, entry: AuditEntry) -> None:
        try:
            await self.audit.append(entry)
        except Exception:
            log.exception("audit_write_failed", audit_event=entry.event)

    # ------------------------------------------------------------------ AdminBackend

    async def health(self) -> dict[str, Any]:
        """Liveness facts."""
        relay = self.wallet.relay
        return {
            "ok": True,
            "relay": self.relay_url,
            "relay_connected": bool(relay is not None and relay.connected),
            "sessions": len(self._bindings),
            "queued_proposals": len(self._queued),
            "frozen": self._frozen is not None,
            "signer": self.signer.name,
        }

    async def list_sessions(self) -> list[dict[str, Any]]:
        """Every live session with its envelope and usage."""
        now = self.clock()
        out = []
        for topic, binding in sorted(self._bindings.items()):
            usage = await self.store.usage(binding.envelope_id, now)
            revoked = await self.store.revocation(topic)
            out.append(
                {
                    "session": topic,
                    "dapp": binding.dapp,
                    "dapp_name": binding.dapp_name,
                    "rule": binding.rule,
                    "chain": binding.chain,
                    "accounts": list(binding.accounts),
                    "approved_at": int(binding.approved_at),
                    "expires_at": binding.expires_at,
                    "envelope_id": binding.envelope_id,
                    "envelope": binding.envelope,
                    "usage": {"spent_usd": str(usage.spent_usd), "calls": usage.calls},
                    "revoked": revoked.to_dict() if revoked is not None else None,
                }
            )
        return out

    async def list_proposals(self) -> list[dict[str, Any]]:
        """Proposals waiting for an operator."""
        return [
            {
                "id": pid,
                "dapp": q.proposal.proposer_metadata.get("url"),
                "name": q.proposal.proposer_metadata.get("name"),
                "rule": q.plan.rule,
                "namespaces": q.plan.namespaces,
                "queued_at": int(q.queued_at),
                "expires_at": q.proposal.expiry,
            }
            for pid, q in sorted(self._queued.items())
        ]

    def _queued_proposal(self, proposal_id: int) -> QueuedProposal:
        queued = self._queued.get(proposal_id)
        if queued is None or queued.decided.done():
            raise NotFoundError(f"no proposal {proposal_id} is waiting")
        return queued

    async def approve_proposal(self, proposal_id: int, *, actor: str) -> dict[str, Any]:
        """Approve a queued proposal with its rule's envelope."""
        queued = self._queued_proposal(proposal_id)
        plan = queued.plan
        if plan.envelope is None or plan.namespaces is None:
            raise ValueError(
                "this proposal matched no rule with an envelope; reject it or add a rule"
            )
        origin = str(queued.proposal.proposer_metadata.get("url", ""))
        queued.decided.set_result(await self._approval(queued.proposal, plan, origin))
        await self._audit(
            AuditEntry(
                event="proposal_approved", dapp=origin, details={"actor": actor, "id": proposal_id}
            )
        )
        return {"approved": proposal_id}

    async def reject_proposal(self, proposal_id: int, *, actor: str, reason: str) -> dict[str, Any]:
        """Reject a queued proposal."""
        queued = self._queued_proposal(proposal_id)
        queued.decided.set_result(Rejection(sdk_error("USER_REJECTED", reason)))
        origin = str(queued.proposal.proposer_metadata.get("url", ""))
        await self._audit(
            AuditEntry(
                event="session_rejected",
                dapp=origin,
                details={"actor": actor, "reason": reason, "id": proposal_id},
            )
        )
        return {"rejected": proposal_id}

    async def pair(self, uri: str, *, actor: str) -> dict[str, Any]:
        """Pair with a ``wc:`` URI."""
        try:
            parsed = parse_uri(uri, now=int(self.clock()))
        except WalletConnectError as exc:
            raise ValueError(f"bad pairing URI: {exc}") from None
        pairing = await self.wallet.pair(uri)
        log.info("paired", topic=pairing.topic, actor=actor)
        return {
            "pairing": pairing.topic,
            "expiry": pairing.expiry,
            "relay_protocol": parsed.relay_protocol,
        }

    async def revoke(
        self, *, session: str | None, dapp: str | None, revoke_all: bool, actor: str, reason: str
    ) -> dict[str, Any]:
        """User-path revocation of one session, a dApp's sessions, or all (every replica's)."""
        requested_at = self.clock()
        if session is not None:
            known = session in self._bindings or await self.store.binding(session) is not None
            if not known:
                raise NotFoundError(f"no session {session}")
            first = await self.revoke_session(
                session, RevocationPath.USER, actor=actor, reason=reason, alert_at=requested_at
            )
            return {"revoked": [session] if first else []}
        record = Revocation(
            session=None,
            path=RevocationPath.USER,
            rule=None,
            actor=actor,
            reason=reason,
            at=requested_at,
            alert_at=requested_at,
        )
        return {"revoked": await self._revoke_many(record, dapp=dapp)}

    async def _revoke_many(self, record: Revocation, *, dapp: str | None) -> list[str]:
        """Revoke every bound session (of ``dapp``) in one store step, then end those held here."""
        local = [
            t
            for t, b in self._bindings.items()
            if dapp is None or b.dapp.rstrip("/") == dapp.rstrip("/")
        ]
        self._revoking.update(local)
        try:
            revoked = await self.store.revoke_all(
                record, dapp=None if dapp is None else self._stored_origin(dapp)
            )
            for topic in revoked:
                await self._after_record(record.for_session(topic), self.clock())
                await self._retire(topic, notify=True)
            for topic in local:  # not in the store's list: revoked before, or never bound there
                if topic not in revoked and await self.revoke_session(
                    topic,
                    record.path,
                    actor=record.actor,
                    reason=record.reason,
                    alert_at=record.alert_at,
                ):
                    revoked.append(topic)
        finally:
            self._revoking.difference_update(local)
        return revoked

    def _stored_origin(self, dapp: str) -> str:
        """The origin as bindings store it (the CLI may add or drop a trailing slash)."""
        for binding in self._bindings.values():
            if binding.dapp.rstrip("/") == dapp.rstrip("/"):
                return binding.dapp
        return dapp

    async def revoke_session(
        self,
        topic: str,
        path: RevocationPath,
        *,
        actor: str,
        reason: str,
        rule: str | None = None,
        alert_at: float | None = None,
    ) -> bool:
        """Record the revocation (effective at once for every replica), then tell the dApp."""
        self._revoking.add(topic)
        try:
            first = await self._record_revocation(
                topic, path, actor=actor, reason=reason, rule=rule, alert_at=alert_at
            )
            await self._retire(topic, notify=True)
        finally:
            self._revoking.discard(topic)
        return first

    async def _record_revocation(
        self,
        topic: str,
        path: RevocationPath,
        *,
        actor: str,
        reason: str,
        rule: str | None,
        alert_at: float | None,
    ) -> bool:
        """Record a revocation in the store (first wins); metrics and audit for the first."""
        now = self.clock()
        record = Revocation(
            session=topic,
            path=path,
            rule=rule,
            actor=actor,
            reason=reason,
            at=now,
            alert_at=alert_at,
        )
        first = await self.store.revoke(record)
        if first:
            await self._after_record(record, now)
        else:
            kept = await self.store.revocation(topic)
            if kept is not None:
                self._revoked[topic] = kept
        return first

    async def _after_record(self, record: Revocation, now: float) -> None:
        """Metrics and audit of a revocation this daemon recorded."""
        assert record.session is not None
        topic = record.session
        self._revoked[topic] = record
        binding = self._bindings.get(topic)
        path = str(record.path)
        self.metrics.revocations.labels(path, record.rule or "").inc()
        alert_at = record.alert_at
        if alert_at is not None:
            self.metrics.time_to_revoke.labels(path).observe(max(0.0, now - alert_at))
        await self._audit(
            AuditEntry(
                event="revocation",
                session=topic,
                dapp=binding.dapp if binding else None,
                envelope_id=binding.envelope_id if binding else None,
                details={
                    "path": path,
                    "rule": record.rule,
                    "actor": record.actor,
                    "reason": record.reason,
                    "alert_at": alert_at,
                    "effective_at": now,
                    "time_to_revoke_s": None
                    if alert_at is None
                    else round(max(0.0, now - alert_at), 6),
                },
            )
        )

    async def _retire(self, topic: str, *, notify: bool) -> None:
        """End a revoked session here: wc_sessionDelete (``notify``), keep its topic watched."""
        revocation = self._revoked.get(topic) or await self.store.revocation(topic)
        binding = self._bindings.get(topic) or await self.store.binding(topic)
        live = self.wallet.sessions.get(topic)
        watch_until = float(
            binding.expires_at
            if binding is not None
            else live.expiry
            if live is not None
            else self.clock() + UNBOUND_SESSION_TTL_S
        )
        with contextlib.suppress(WalletConnectError):
            await self.wallet.revoke(
                topic,
                reason=_delete_reason(revocation),
                watch_until=watch_until,
                notify=notify,
            )
        self.rules.forget(topic)
        await self._end_session(topic, "revocation")

    async def emergency_stop(self, *, actor: str, reason: str) -> dict[str, Any]:
        """Freeze all signing and revoke every session of every replica (audited: who, why, when)."""
        now = self.clock()
        freeze = Freeze(actor=actor, reason=reason, at=now)
        first = await self.store.freeze(freeze)
        self._frozen = freeze if first else (await self.store.frozen() or freeze)
        self.metrics.frozen.set(1)
        await self._audit(
            AuditEntry(
                event="emergency_stop",
                details={"actor": actor, "reason": reason, "at": now, "already_frozen": not first},
            )
        )
        record = Revocation(
            session=None,
            path=RevocationPath.EMERGENCY,
            rule=None,
            actor=actor,
            reason=reason,
            at=now,
            alert_at=now,
        )
        revoked = await self._revoke_many(record, dapp=None)
        return {"frozen": True, "revoked": revoked}

    async def emergency_resume(self, *, actor: str, reason: str) -> dict[str, Any]:
        """Lift the freeze (revoked sessions stay revoked)."""
        now = self.clock()
        lifted = await self.store.unfreeze(actor, reason, now)
        self._frozen = None
        self.metrics.frozen.set(0)
        await self._audit(
            AuditEntry(
                event="emergency_resume",
                details={
                    "actor": actor,
                    "reason": reason,
                    "at": now,
                    "lifted": lifted.to_dict() if lifted is not None else None,
                },
            )
        )
        return {"frozen": False, "was_frozen": lifted is not None}

    def metrics_text(self) -> bytes:
        """Prometheus exposition."""
        return self.metrics.exposition()


def _config_error(rule: str, message: str) -> ConfigError:
    return ConfigError(
        [ConfigIssue(file="<config>", location=f"session_rules[{rule}].envelope", message=message)]
    )


def _secret(value: Any) -> str | None:
    return value.get_secret_value() if value is not None else None


def _token_file(path: Path) -> str:
    """Read a token file, creating it (random, mode 0600) when missing."""
    if path.exists():
        token = path.read_text(encoding="utf-8").strip()
        if token:
            return token
    path.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(token + "\n")
    return token


def _write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _unlink_if(path: Path, content: str) -> None:
    with contextlib.suppress(OSError):
        if path.read_text(encoding="utf-8").strip() == content:
            path.unlink()


def _delete_reason(revocation: Revocation | None) -> SdkErrorInfo:
    """The wc_sessionDelete reason the dApp gets: the SDK's disconnect code, the revocation's why."""
    if revocation is None:
        return SdkErrorInfo(_DELETE_CODE, "Session revoked.")
    rule = f", rule {revocation.rule}" if revocation.rule else ""
    return SdkErrorInfo(
        _DELETE_CODE, f"Session revoked ({revocation.path}{rule}): {revocation.reason}"[:500]
    )
