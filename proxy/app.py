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
from policy.interfaces import ReplayStore
from policy.replay import ReplayPolicy
from policy.revocation import Freeze, Revocation, RevocationPath, SessionBinding
from proxy.admin.app import create_admin_app
from proxy.admin.backend import NotFoundError
from proxy.audit.log import AuditLog, FileChainHeadStore
from proxy.audit.record import AuditEntry
from proxy.chain_rpc import ChainRpc
from proxy.config import Settings
from proxy.errors import ConfigError, ConfigIssue
from proxy.metrics import Metrics
from proxy.pipeline import Answer, RequestPipeline, SessionView, Silence
from proxy.session_rules import SessionPlan, plan_session, proposal_facts
from proxy.signers.base import Signer
from proxy.signers.factory import build_signer
from proxy.stores import open_replay_store
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
    SessionDeleted,
    SessionExpired,
    SessionSettled,
)
from walletconnect.engine.records import PendingRequest, ProposalRecord, SessionRecord
from walletconnect.errors import WalletConnectError, sdk_error
from walletconnect.uri import parse_uri

__all__ = ["Daemon", "QueuedProposal"]

log = structlog.get_logger(__name__)

_SWEEP_INTERVAL_S = 1.0
_PURGE_INTERVAL_S = 300.0


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
        )
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
            project_id=(
                settings.relay.project_id.get_secret_value() if settings.relay.project_id else None
            ),
            clock=self.clock,
        )
        await self.wallet.start()
        self._stack.push_async_callback(self.wallet.close)
        await self._open_admin()
        self._tasks = [
            asyncio.create_task(self._watch_events(), name="wcproxy-events"),
            asyncio.create_task(self._sweep(), name="wcproxy-sweep"),
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
        view = SessionView(
            topic=session.topic, envelope=envelope, namespaces=session.namespaces, dapp=binding.dapp
        )
        outcome = await self.pipeline.handle(request, view)
        if isinstance(outcome, Answer):
            return outcome.result
        if isinstance(outcome, Silence):
            raise RequestIgnored(outcome.why)
        error = outcome.error
        raise RequestRejected(error.code, error.message, error.data)

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
        """User-path revocation of one session, a dApp's sessions, or all."""
        if session is not None:
            targets = (
                [session] if session in self._bindings or await self.store.binding(session) else []
            )
            if not targets:
                raise NotFoundError(f"no session {session}")
        elif dapp is not None:
            targets = [
                t for t, b in self._bindings.items() if b.dapp.rstrip("/") == dapp.rstrip("/")
            ]
        else:
            targets = list(self._bindings)
        revoked = [
            t
            for t in targets
            if await self.revoke_session(t, RevocationPath.USER, actor=actor, reason=reason)
        ]
        return {"revoked": revoked}

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
        binding = self._bindings.get(topic)
        if first:
            self.metrics.revocations.labels(str(path), rule or "").inc()
            if alert_at is not None:
                self.metrics.time_to_revoke.labels(str(path)).observe(max(0.0, now - alert_at))
            await self._audit(
                AuditEntry(
                    event="revocation",
                    session=topic,
                    dapp=binding.dapp if binding else None,
                    details={
                        "path": str(path),
                        "rule": rule,
                        "actor": actor,
                        "reason": reason,
                        "alert_at": alert_at,
                        "effective_at": now,
                        "time_to_revoke_s": None if alert_at is None else round(now - alert_at, 6),
                    },
                )
            )
        with contextlib.suppress(WalletConnectError):
            await self.wallet.disconnect(topic)
        await self._end_session(topic, "revocation")
        return first

    async def emergency_stop(self, *, actor: str, reason: str) -> dict[str, Any]:
        """Freeze all signing and revoke every session (audited)."""
        now = self.clock()
        freeze = Freeze(actor=actor, reason=reason, at=now)
        await self.store.freeze(freeze)
        self._frozen = freeze
        self.metrics.frozen.set(1)
        await self._audit(
            AuditEntry(event="emergency_stop", details={"actor": actor, "reason": reason})
        )
        revoked = [
            t
            for t in list(self._bindings)
            if await self.revoke_session(
                t, RevocationPath.EMERGENCY, actor=actor, reason=reason, alert_at=now
            )
        ]
        return {"frozen": True, "revoked": revoked}

    async def emergency_resume(self, *, actor: str, reason: str) -> dict[str, Any]:
        """Lift the freeze (revoked sessions stay revoked)."""
        lifted = await self.store.unfreeze(actor, reason, self.clock())
        self._frozen = None
        self.metrics.frozen.set(0)
        await self._audit(
            AuditEntry(event="emergency_resume", details={"actor": actor, "reason": reason})
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
