"""The request path: decode -> policy + replay claim -> sign -> respond -> audit -> metrics (I/O).

Decisions (id freshness, policy, the atomic replay/budget/revocation claim) are taken one request at a
time per session, in arrival order; signing and publishing run outside that section, so a busy
session is pipelined rather than throttled by relay or signer latency. This is one of the two places
allowed a broad ``except``: whatever goes wrong with one request is logged, audited and answered
with an error; it never takes the daemon down and never signs.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import structlog

from policy.budget import EnvelopeUsage, budget_period_s
from policy.decision import Decision
from policy.engine import decide
from policy.envelope import CapabilityEnvelope
from policy.errors import DenyReason, StoreUnavailableError
from policy.interfaces import ReplayStore
from policy.pricing import Pricer
from policy.replay import (
    MAX_USD,
    BudgetCharge,
    BudgetExceeded,
    Claim,
    ClaimOutcome,
    Duplicate,
    Replay,
    ReplayPolicy,
    RequestIdentity,
    check_request_id,
    derive_keys,
)
from policy.request import SigningRequest
from policy.revocation import Frozen, Revoked
from proxy.audit.log import AuditLog
from proxy.audit.record import AuditEntry
from proxy.chain_rpc import ChainRpc, ChainRpcError
from proxy.error_map import (
    WireError,
    decision_error,
    expired_error,
    frozen_error,
    malformed_error,
    replay_error,
    revoked_error,
    unavailable_error,
)
from proxy.errors import AuditError, SignerError, SignerInputError, SignerUnavailableError
from proxy.metrics import Metrics
from proxy.revocation_rules import RequestFacts
from proxy.signers.base import Signer
from proxy.signing import SIGNABLE_METHODS, sign_request
from proxy.translate import TranslationError, WcRequest, to_signing_request

__all__ = ["Answer", "Outcome", "Refusal", "RequestPipeline", "SessionView", "Silence"]

log = structlog.get_logger(__name__)

_TX_METHODS = ("eth_sendTransaction", "eth_signTransaction")


@dataclass(frozen=True, slots=True)
class SessionView:
    """What the pipeline needs to know about a session: its envelope, accounts and the dApp."""

    topic: str
    envelope: CapabilityEnvelope
    namespaces: Mapping[str, Any]
    dapp: str
    allow_replacement: bool = False


@dataclass(frozen=True, slots=True)
class Answer:
    """Send this result."""

    result: Any


@dataclass(frozen=True, slots=True)
class Refusal:
    """Send this error."""

    error: WireError


@dataclass(frozen=True, slots=True)
class Silence:
    """Send nothing: another worker or replica owns this request (duplicate delivery)."""

    why: str


Outcome = Answer | Refusal | Silence


class _OrderedSection:
    """A session's ordered section (its lock), left at most once: early, or when the request is."""

    __slots__ = ("_lock", "inside")

    def __init__(self, lock: asyncio.Lock) -> None:
        self._lock = lock
        self.inside = False

    async def enter(self) -> None:
        await self._lock.acquire()
        self.inside = True

    def leave(self) -> None:
        if self.inside:
            self.inside = False
            self._lock.release()


@dataclass(slots=True)
class _Trace:
    """What the audit record of one request collects along the way."""

    started: float
    decision: Decision | None = None
    replay_layer: str | None = None
    reasons: tuple[str, ...] = ()
    kind: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    observed: bool = False


class RequestPipeline:
    """Judges and executes signing requests for every session of one daemon."""

    def __init__(
        self,
        *,
        store: ReplayStore,
        signer: Signer,
        pricer: Pricer,
        audit: AuditLog,
        metrics: Metrics,
        replay_policy: ReplayPolicy,
        chains: Mapping[int, ChainRpc],
        clock: Callable[[], float] = time.time,
        instance_id: str | None = None,
        is_frozen: Callable[[], bool] = lambda: False,
        on_refused: Callable[[RequestFacts], Awaitable[None]] | None = None,
    ) -> None:
        self.instance_id = instance_id or secrets.token_hex(8)
        self.store = store
        self.signer = signer
        self.pricer = pricer
        self.audit = audit
        self.metrics = metrics
        self.replay_policy = replay_policy
        self.chains = dict(chains)
        self.clock = clock
        self.is_frozen = is_frozen
        self.on_refused = on_refused
        self._locks: dict[str, asyncio.Lock] = {}
        self._storing: set[asyncio.Task[None]] = set()

    def _lock(self, topic: str) -> asyncio.Lock:
        lock = self._locks.get(topic)
        if lock is None:
            lock = self._locks[topic] = asyncio.Lock()
        return lock

    async def drain(self, timeout_s: float = 10.0) -> None:
        """Wait for the answers still being stored (see :meth:`_store_answer`); call before closing the store."""
        if self._storing:
            await asyncio.wait(set(self._storing), timeout=timeout_s)

    def forget(self, topic: str) -> None:
        """Drop per-session state once a session is gone."""
        self._locks.pop(topic, None)

    async def handle(self, request: WcRequest, session: SessionView) -> Outcome:
        """Judge and, when allowed, execute one request; always returns what to send back."""
        outcome, _facts = await self.judge(request, session)
        return outcome

    async def judge(self, request: WcRequest, session: SessionView) -> tuple[Outcome, RequestFacts]:
        """:meth:`handle`, plus the facts the policy revocation rules look at."""
        trace = _Trace(started=self.clock())
        outcome: Outcome
        signing: SigningRequest | None = None
        try:
            signing = to_signing_request(
                request, namespaces=session.namespaces, origin=session.dapp, session=session.topic
            )
            outcome = await self._run(request, signing, session, trace)
        except TranslationError as exc:
            outcome = self._refuse(trace, malformed_error("bad_chain", str(exc)))
        except StoreUnavailableError as exc:
            log.error("store_unavailable", error=str(exc))
            outcome = self._refuse(trace, unavailable_error("replay store", "store_unavailable"))
        except Exception:  # the per-request guard: log, deny, answer
            log.exception(
                "request_failed", topic=session.topic, id=request.id, method=request.method
            )
            outcome = self._refuse(trace, unavailable_error("internal error", "internal_error"))
        await self._record(request, session, signing, trace, outcome)
        facts = self._facts(session, trace, outcome)
        if isinstance(outcome, Refusal) and not trace.observed:
            async with self._lock(session.topic):
                await self._observe(facts, trace)
        return outcome, facts

    def _facts(self, session: SessionView, trace: _Trace, outcome: Outcome) -> RequestFacts:
        kind = (
            "allow"
            if isinstance(outcome, Answer)
            else "duplicate"
            if isinstance(outcome, Silence)
            else trace.kind
        )
        return RequestFacts(
            session=session.topic,
            at=self.clock(),
            kind=kind,
            reasons=trace.reasons if not isinstance(outcome, Answer) else (),
            replay_layer=trace.replay_layer,
        )

    async def _observe(self, facts: RequestFacts, trace: _Trace) -> None:
        """Tell the revocation rules about a refusal, inside the session's ordered section.

        So a rule that revokes does it before the session's next request is decided.
        """
        trace.observed = True
        if self.on_refused is None:
            return
        try:
            await self.on_refused(facts)
        except Exception:  # the rules must never break the request path
            log.exception("refusal_observer_failed", topic=facts.session)

    async def observe_refusal(self, facts: RequestFacts) -> None:
        """Tell the revocation rules about a refusal decided outside the pipeline (e.g. a reused
        JSON-RPC id the engine refused), in the session's ordered section like any other."""
        async with self._lock(facts.session):
            await self._observe(facts, _Trace(started=facts.at))

    def _refuse(self, trace: _Trace, error: WireError) -> Refusal:
        trace.kind = error.kind
        if not trace.reasons:
            trace.reasons = (str(error.data.get("reason", error.kind)),)
        return Refusal(error)

    async def _run(
        self, request: WcRequest, signing: SigningRequest, session: SessionView, trace: _Trace
    ) -> Outcome:
        now = self.clock()
        if self.is_frozen():  # the claim checks the store's freeze too; this answers at once
            return self._refuse(trace, frozen_error())
        if request.expiry is not None and request.expiry < now:
            return self._refuse(trace, expired_error())
        stale = check_request_id(request.id, now=now, policy=self.replay_policy)
        if stale is not None:
            record = await self.store.lookup(session.topic, request.id, now)
            if record is not None:  # an old duplicate of something we already handled
                return Silence("stale duplicate")
            trace.replay_layer = str(stale.layer)
            self.metrics.replay_refusals.labels(str(stale.layer)).inc()
            return self._refuse(trace, replay_error(stale))
        transaction: dict[str, Any] | None = None
        # Filling (nonce, gas, fees), deciding and claiming run in the session's ordered section, so
        # two transactions of one session never get the same nonce from the node. A won claim ends
        # the section as soon as the store has decided it (every later claim sees it), not when it
        # is durable: the session's next request is decided while this one's fsync runs, and this
        # one is signed only once the claim is durable (when ``claim`` returns).
        section = _OrderedSection(self._lock(session.topic))
        await section.enter()
        try:
            if request.method in _TX_METHODS:
                filled = await self._prepare_transaction(signing)
                if isinstance(filled, Refusal):
                    trace.kind = filled.error.kind
                    trace.reasons = (str(filled.error.data["reason"]),)
                    return filled
                transaction = filled
                signing = SigningRequest(
                    method=signing.method,
                    params=[transaction],
                    chain_id=signing.chain_id,
                    account=signing.account,
                    origin=signing.origin,
                    session=signing.session,
                    request_id=signing.request_id,
                    expires_at=signing.expires_at,
                )

            def decided(outcome: object) -> None:
                if isinstance(outcome, Claim) and section.inside:
                    if transaction is not None:
                        self._note_nonce(signing, transaction)
                    section.leave()

            claimed = await self._decide_and_claim(signing, session, trace, now, decided)
            if isinstance(claimed, Refusal):
                await self._observe(self._facts(session, trace, claimed), trace)
            elif isinstance(claimed, Claim):
                decided(claimed)  # no-op unless the store returned without calling it
        finally:
            section.leave()
        if not isinstance(claimed, Claim):
            return claimed
        return await self._execute(signing, session, trace, claimed, transaction)

    def _note_nonce(self, signing: SigningRequest, transaction: dict[str, Any]) -> None:
        rpc = self.chains.get(signing.chain_id)
        nonce = transaction.get("nonce")
        if rpc is None or signing.account is None or not isinstance(nonce, str | int):
            return
        try:
            value = int(nonce, 16) if isinstance(nonce, str) else nonce
        except ValueError:
            return
        rpc.note_claimed(signing.account, value)

    async def _prepare_transaction(self, signing: SigningRequest) -> dict[str, Any] | Refusal:
        params = signing.params
        if not isinstance(params, list) or len(params) != 1 or not isinstance(params[0], dict):
            return Refusal(malformed_error("bad_params", f"{signing.method} takes [transaction]"))
        tx = dict(params[0])
        if tx.get("chainId") is None:
            # As a wallet does: a dApp that leaves chainId out means the chain the request is for.
            tx["chainId"] = hex(signing.chain_id)
        rpc = self.chains.get(signing.chain_id)
        complete = all(tx.get(k) is not None for k in ("nonce", "gas")) and (
            tx.get("gasPrice") is not None or tx.get("maxFeePerGas") is not None
        )
        if rpc is None:
            if signing.method == "eth_sendTransaction":
                return Refusal(
                    unavailable_error(f"chain {signing.chain_id} endpoint", "broadcast_unavailable")
                )
            return tx
        if complete and signing.method == "eth_signTransaction":
            return tx
        try:
            return await rpc.fill_transaction(
                tx, account=signing.account or "", chain_id=signing.chain_id
            )
        except ChainRpcError as exc:
            log.warning("chain_fill_failed", chain=signing.chain_id, error=str(exc))
            return Refusal(
                unavailable_error(f"chain {signing.chain_id} endpoint", "chain_unavailable")
            )

    async def _decide_and_claim(
        self,
        signing: SigningRequest,
        session: SessionView,
        trace: _Trace,
        now: float,
        decided: Callable[[ClaimOutcome], None],
    ) -> Claim | Outcome:
        envelope = session.envelope
        envelope_id = envelope.envelope_id
        if not envelope.limits_usage:
            usage = EnvelopeUsage()
        else:
            live = await self.store.usage(envelope_id, now)
            usage = EnvelopeUsage(spent_usd=live.spent_usd, calls=live.calls)
        started = time.perf_counter()
        decision = decide(signing, envelope, usage, int(now), prices=self.pricer)
        trace.decision = decision
        if not decision.allowed or decision.action is None:
            self.metrics.decision_latency.observe(time.perf_counter() - started)
            trace.reasons = tuple(str(r) for r in decision.reasons) or ("undecodable",)
            return (
                self._refuse(trace, decision_error(decision))
                if not decision.allowed
                else self._refuse(trace, malformed_error("undecodable", ""))
            )
        if signing.method not in SIGNABLE_METHODS:
            trace.reasons = (str(DenyReason.UNSUPPORTED_METHOD),)
            return self._refuse(
                trace,
                decision_error(
                    Decision.deny(
                        {
                            DenyReason.UNSUPPORTED_METHOD: [
                                f"{signing.method} is not executed by this proxy"
                            ]
                        }
                    )
                ),
            )
        action = decision.action
        keys = derive_keys(
            signing,
            action,
            topic=session.topic,
            relay_message_hash=None,
            now=now,
            policy=self.replay_policy,
            envelope_expires_at=envelope.expires_at_s,
            allow_replacement=session.allow_replacement,
        )
        period = budget_period_s(envelope.period_seconds, envelope.expires_at_s, int(now))
        charge = BudgetCharge(
            envelope_id=envelope_id,
            usd=decision.budget_charge_usd,
            period_s=period,
            cap_usd=envelope.budget_usd if envelope.budget_usd is not None else MAX_USD,
        )
        owner = RequestIdentity(
            topic=session.topic,
            request_id=signing.request_id,
            payload_hash=action.payload_hash,
            session=session.topic,
        )
        outcome = await self.store.claim(
            keys, owner=owner, budget=charge, now=now, session=session.topic, decided=decided
        )
        self.metrics.decision_latency.observe(time.perf_counter() - started)
        if isinstance(outcome, Claim):
            return outcome
        return self._not_claimed(outcome, decision, trace)

    def _not_claimed(self, outcome: object, decision: Decision, trace: _Trace) -> Outcome:
        """What to send when the claim did not go through (duplicate, replay, budget, revocation)."""
        if isinstance(outcome, Duplicate):
            trace.kind = "duplicate"
            trace.reasons = ("duplicate",)
            if outcome.in_flight or outcome.stored_result is None:
                return Silence("duplicate in flight")
            return _stored(outcome.stored_result, self.instance_id)
        if isinstance(outcome, Replay):
            trace.replay_layer = str(outcome.layer)
            self.metrics.replay_refusals.labels(str(outcome.layer)).inc()
            return self._refuse(trace, replay_error(outcome))
        if isinstance(outcome, BudgetExceeded):
            denial = Decision.deny(
                {
                    DenyReason.BUDGET_EXHAUSTED: [
                        f"{outcome.spent_usd} spent + {outcome.charge_usd} exceeds the budget {outcome.cap_usd}"
                    ]
                },
                usd_value=decision.usd_value,
                action=decision.action,
            )
            trace.decision = denial
            trace.reasons = (str(DenyReason.BUDGET_EXHAUSTED),)
            return self._refuse(trace, decision_error(denial))
        if isinstance(outcome, Frozen):
            return self._refuse(trace, frozen_error())
        if isinstance(outcome, Revoked):
            self.metrics.post_revocation_attempts.inc()
            trace.extra["post_revocation"] = True
            revocation = outcome.revocation
            return self._refuse(trace, revoked_error(str(revocation.path), revocation.reason))
        log.error("unknown_claim_outcome", outcome=type(outcome).__name__)
        return self._refuse(trace, unavailable_error("replay store", "store_unavailable"))

    async def _execute(
        self,
        signing: SigningRequest,
        session: SessionView,
        trace: _Trace,
        claim: Claim,
        transaction: dict[str, Any] | None,
    ) -> Outcome:
        decision = trace.decision
        assert decision is not None
        assert decision.action is not None
        rpc = self.chains.get(signing.chain_id)
        started = time.perf_counter()
        try:
            result = await sign_request(
                signing, decision.action, self.signer, transaction=transaction, broadcaster=rpc
            )
        except SignerInputError as exc:
            await self.store.abort(claim, self.clock())  # nothing was signed
            return self._refuse(trace, malformed_error("signer_input", str(exc)))
        except SignerUnavailableError as exc:
            await self.store.abort(
                claim, self.clock()
            )  # the claim came first: a retry cannot double-sign
            log.warning("signer_unavailable", error=str(exc))
            return self._refuse(trace, unavailable_error("signer", "signer_unavailable"))
        except (SignerError, ChainRpcError) as exc:
            # Something may have been signed (or broadcast): keep the claim so it is never signed again.
            log.error("signing_failed", error=str(exc), kind=type(exc).__name__)
            return self._refuse(trace, unavailable_error("signer", "signer_failed"))
        finally:
            self.metrics.signer_latency.labels(self.signer.name).observe(
                time.perf_counter() - started
            )
        response = json.dumps({"result": result, "by": self.instance_id}, separators=(",", ":"))
        task = asyncio.create_task(self._store_answer(claim, response))
        self._storing.add(task)
        task.add_done_callback(self._storing.discard)
        trace.kind = "allow"
        return Answer(result)

    async def _store_answer(self, claim: Claim, response: str) -> None:
        """Keep the answer of a signed claim for retries, without holding the answer back.

        The claim was durable before anything was signed, so this only decides what a later
        duplicate of this request gets: until it is stored, a duplicate finds the claim in flight
        and is ignored (the dApp has, or will get, this answer), never signed again.
        """
        try:
            await self.store.complete(claim, response, self.clock())
        except StoreUnavailableError as exc:
            log.warning("answer_not_stored", error=str(exc))

    async def _record(
        self,
        request: WcRequest,
        session: SessionView,
        signing: SigningRequest | None,
        trace: _Trace,
        outcome: Outcome,
    ) -> None:
        decision = trace.decision
        action = decision.action if decision is not None else None
        action_class = str(action.action_class) if action is not None else "unknown"
        allowed = isinstance(outcome, Answer)
        latency_s = self.clock() - trace.started
        self.metrics.request_latency.observe(max(0.0, latency_s))
        if not isinstance(outcome, Silence):
            self.metrics.record_request(
                method=request.method,
                action_class=action_class,
                allowed=allowed,
                reasons=trace.reasons,
            )
        mismatches = _mismatch_kinds(decision)
        for kind in mismatches:
            self.metrics.context_mismatches.labels(kind).inc()
        label = "allow" if allowed else ("duplicate" if isinstance(outcome, Silence) else "deny")
        details: dict[str, Any] = {"delegated": True, "kind": trace.kind or label}
        if decision is not None and decision.messages:
            details["messages"] = list(decision.messages)
        if mismatches:
            details["context_mismatch"] = mismatches
        if isinstance(outcome, Refusal):
            details["error_code"] = outcome.error.code
        details.update(trace.extra)
        entry = AuditEntry(
            event="request",
            decision=label,
            reasons=trace.reasons if not allowed else (),
            session=session.topic,
            dapp=session.dapp,
            method=request.method,
            action_class=action_class,
            chain=request.chain,
            destinations=tuple(sorted(action.destinations)) if action is not None else (),
            usd_value=decision.usd_value if decision is not None else None,
            replay_layer=trace.replay_layer,
            latency_us=int(max(0.0, latency_s) * 1e6),
            signer=self.signer.name if allowed else None,
            request_id=request.id,
            payload_hash=action.payload_hash if action is not None else None,
            envelope_id=session.envelope.envelope_id,
            details=details,
        )
        try:
            await self.audit.append(entry)
        except AuditError as exc:
            log.error("audit_write_failed", error=str(exc))
        # The audit log has every decision; the daemon log repeats refusals at info, allowed
        # requests only at debug (one line per signature would dominate a busy daemon's log).
        emit = log.debug if allowed else log.info
        emit(
            "request_decided",
            topic=session.topic,
            id=request.id,
            method=request.method,
            action_class=action_class,
            decision=label,
            reasons=list(trace.reasons) if not allowed else [],
            latency_ms=round(latency_s * 1000, 3),
        )


def _stored(stored_result: str, instance_id: str) -> Outcome:
    """Re-send our own stored answer to a retry; stay silent when another replica answered it."""
    try:
        data = json.loads(stored_result)
    except ValueError:
        return Silence("unreadable stored result")
    if not isinstance(data, dict) or "result" not in data:
        return Silence("stored result without a result")
    if data.get("by") not in (None, instance_id):
        return Silence("answered by another replica")
    return Answer(data["result"])


def _mismatch_kinds(decision: Decision | None) -> list[str]:
    if decision is None or DenyReason.CONTEXT_MISMATCH not in decision.reasons:
        return []
    message = decision.messages[decision.reasons.index(DenyReason.CONTEXT_MISMATCH)].lower()
    kinds = [kind for kind in ("chain", "account", "origin") if kind in message]
    return kinds or ["other"]
