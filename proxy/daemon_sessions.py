"""The daemon's sessions: proposals (rules, operator queue), bindings, requests and session ends (I/O)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import structlog

from policy.envelope import parse_envelope
from policy.errors import RecordError, StoreUnavailableError
from policy.revocation import (
    SessionBinding,
)
from proxy.admin.backend import NotFoundError
from proxy.audit.record import AuditEntry
from proxy.daemon_state import (
    ENVELOPE_END_LEAD_S,
    PURGE_INTERVAL_S,
    REVOKE_METHODS,
    SWEEP_INTERVAL_S,
    DaemonState,
    QueuedProposal,
)
from proxy.error_map import reused_id_error
from proxy.pipeline import Answer, Outcome, SessionView, Silence
from proxy.revocation_rules import RequestFacts
from proxy.session_rules import SessionPlan, plan_session, proposal_facts
from proxy.translate import WcRequest
from walletconnect.aio.wallet_client import (
    Approval,
    Rejection,
    RequestIgnored,
    RequestRejected,
)
from walletconnect.engine.events import (
    MessageDropped,
    RequestIdReused,
    SessionDeleted,
    SessionExpired,
    SessionSettled,
)
from walletconnect.engine.records import PendingRequest, ProposalRecord, SessionRecord
from walletconnect.errors import LocalProtocolError, WalletConnectError, sdk_error
from walletconnect.uri import parse_uri

__all__ = ["SessionsMixin"]

log = structlog.get_logger("proxy.app")


class SessionsMixin(DaemonState):
    """Proposal handling, envelope bindings, the request entry point and the expiry sweep."""

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

    async def _on_reused_id(self, event: RequestIdReused) -> dict[str, Any]:
        """A request reusing an earlier JSON-RPC id with other content: a replay of the id layer.

        It never reached the pipeline (nothing is signed); refused with 5010 ``layer=rpc_id``,
        counted and audited. The dApp may already hold an answer for this id: this is a second
        response to it, which the SDK ignores (a raw client sees the refusal).
        """
        error = reused_id_error(event.first_seen or None, event.topic)
        binding = self._bindings.get(event.topic)
        if binding is None:
            try:
                binding = await self.store.binding(event.topic)
            except (StoreUnavailableError, RecordError):  # the refusal does not need it
                log.warning("reused_id_binding_unavailable", topic=event.topic)
        reasons = (str(error.data["reason"]),)
        self.metrics.replay_refusals.labels(str(error.data["layer"])).inc()
        self.metrics.record_request(
            method=event.method or "unknown",
            action_class="unknown",
            allowed=False,
            reasons=reasons,
        )
        log.info("request_id_reused", topic=event.topic, id=event.id, method=event.method)
        await self._audit(
            AuditEntry(
                event="request",
                decision="deny",
                reasons=reasons,
                session=event.topic,
                dapp=binding.dapp if binding is not None else None,
                method=event.method or None,
                chain=event.chain_id,
                replay_layer=str(error.data["layer"]),
                request_id=event.id,
                envelope_id=binding.envelope_id if binding is not None else None,
                latency_us=int(max(0.0, self.clock() - event.received_at) * 1e6),
                details={
                    "delegated": True,
                    "kind": error.kind,
                    "error_code": error.code,
                    "first_seen": event.first_seen or None,
                },
            )
        )
        facts = RequestFacts(
            session=event.topic,
            at=self.clock(),
            kind=error.kind,
            reasons=reasons,
            replay_layer=str(error.data["layer"]),
        )
        await self.pipeline.observe_refusal(facts)  # the policy path's rules see id replays too
        if event.topic in self._to_retire:
            self._to_retire.discard(event.topic)
            # End the session once this refusal is on its way: the task runs after the wallet
            # client handed the refusal to the engine, so wc_sessionDelete follows it.
            self.wallet.spawn(self._retire_after_refusal(event.topic))
        return error.to_dict()

    async def _retire_after_refusal(self, topic: str) -> None:
        try:
            await self._retire(topic, notify=True)
        finally:
            self._revoking.discard(topic)

    async def _send(self, pending: PendingRequest, outcome: Outcome) -> None:
        """Answer ``pending`` with ``outcome`` ourselves (nothing for a Silence)."""
        try:
            if isinstance(outcome, Answer):
                await self.wallet.respond(pending.topic, pending.id, result=outcome.result)
            elif not isinstance(outcome, Silence):
                await self.wallet.respond(pending.topic, pending.id, error=outcome.error.to_dict())
        except LocalProtocolError as exc:
            log.warning("response_not_sent", id=pending.id, reason=str(exc))

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
        """End sessions as their envelope expires (wc_sessionDelete), purge the store now and then.

        A session goes ENVELOPE_END_LEAD_S before its envelope's expiry, so the delete is still sent on
        a live session (the policy denies anything after expiry either way).
        """
        last_purge = 0.0
        while True:
            await asyncio.sleep(SWEEP_INTERVAL_S)
            try:
                now = self.clock()
                for topic, binding in list(self._bindings.items()):
                    if binding.expires_at - ENVELOPE_END_LEAD_S <= now:
                        log.info("envelope_expired", topic=topic)
                        with contextlib.suppress(WalletConnectError):
                            await self.wallet.disconnect(topic)
                        await self._end_session(topic, "expiry")
                if now - last_purge >= PURGE_INTERVAL_S:
                    await self.store.purge(now)
                    last_purge = now
            except Exception:  # a supervised task: log and carry on
                log.exception("sweep_failed")

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
