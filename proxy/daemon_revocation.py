"""The daemon's revocation paths: user, policy rules, emergency freeze, and other replicas' events (I/O)."""

from __future__ import annotations

import contextlib
from typing import Any

import structlog

from policy.errors import RecordError
from policy.revocation import (
    UNBOUND_SESSION_TTL_S,
    EventKind,
    Freeze,
    Revocation,
    RevocationPath,
    SessionBinding,
)
from proxy.admin.backend import NotFoundError
from proxy.audit.record import AuditEntry
from proxy.daemon_state import DELETE_CODE, DaemonState
from proxy.error_map import frozen_error, revoked_error
from proxy.revocation_rules import RequestFacts, RuleFiring
from proxy.stores.watch import watch_events
from walletconnect.aio.wallet_client import (
    RequestIgnored,
)
from walletconnect.engine.events import (
    RevokedRequestReceived,
)
from walletconnect.engine.records import PendingRequest
from walletconnect.errors import LocalProtocolError, SdkErrorInfo, WalletConnectError

__all__ = ["RevocationMixin"]

log = structlog.get_logger("proxy.app")


class RevocationMixin(DaemonState):
    """Revocation on three paths, refusing revoked sessions' requests, following the store's events."""

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


def _delete_reason(revocation: Revocation | None) -> SdkErrorInfo:
    """The wc_sessionDelete reason the dApp gets: the SDK's disconnect code, the revocation's why."""
    if revocation is None:
        return SdkErrorInfo(DELETE_CODE, "Session revoked.")
    rule = f", rule {revocation.rule}" if revocation.rule else ""
    return SdkErrorInfo(
        DELETE_CODE, f"Session revoked ({revocation.path}{rule}): {revocation.reason}"[:500]
    )
