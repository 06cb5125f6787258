"""Drive scenarios against a target and judge the outcomes (I/O: relay, the target's wallet).

For every scenario the runner opens ``setup.sessions`` sessions with our dApp role
(:class:`~walletconnect.aio.dapp_client.DappClient`; the first over a new pairing, later ones as new
proposals on the same pairing, so a wallet started once serves the whole corpus), takes each
session's sym key from the dApp engine and hands it to the :class:`~proxy.attack.raw.RawAttacker`,
which from then on sends every request and sees every answer. The dApp stops listening on the
session topic so it never answers the attacker's own requests; it still speaks for the dApp when a
scenario disconnects (``wc_sessionDelete``).

Judging an attack step: a valid signature over the attack payload (:mod:`proxy.attack.verify`) is
SIGNED; a success without a signature is ACCEPTED; an error or silence is *blocked*, with a reason
class from ``data.kind`` (wcproxy) or the code. A scenario is blocked when all its attack steps are;
on a wcproxy target each blocked step's class must also be one the scenario expects. Every wait is
bounded (``timeout_s`` for answers that should come, ``quiet_s`` for silence that counts as "no answer").
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import structlog
from eth_utils.address import to_checksum_address

from proxy.attack.raw import REQUEST_TAG, Inbound, RawAttacker, request_plaintext, tamper_tag
from proxy.attack.scenario import (
    AdminStep,
    RawStep,
    RequestStep,
    Scenario,
    WaitStep,
)
from proxy.attack.target import (
    DAPP_NAME,
    DAPP_URL,
    AdminUnavailable,
    Arena,
    Target,
    dapp_name,
    profile_of,
)
from proxy.attack.template import RenderContext, TemplateError, render
from proxy.attack.verify import verify
from walletconnect.aio.dapp_client import DappClient
from walletconnect.engine.events import ProposalExpired, ProposalRejected, SessionSettled
from walletconnect.engine.records import SessionRecord
from walletconnect.errors import WalletConnectError
from walletconnect.jsonrpc import payload_id
from walletconnect.uri import parse_uri

__all__ = [
    "DEFAULT_METHODS",
    "BenchError",
    "Outcome",
    "ScenarioResult",
    "StepReport",
    "classify_error",
    "run_bench",
]

log = structlog.get_logger(__name__)

DEFAULT_METHODS: tuple[str, ...] = (
    "personal_sign",
    "eth_sign",
    "eth_signTypedData_v4",
    "eth_signTransaction",
    "eth_sendTransaction",
    "wallet_sendCalls",
    "wallet_switchEthereumChain",
)
EVENTS = ("accountsChanged", "chainChanged")
_STALE_S = 8 * 86_400  # beyond any sane id window (wcproxy: 7 days by default)
_FUTURE_S = 3600
_REQUEST_TTL_S = 300

Outcome = Literal["blocked", "SIGNED", "ACCEPTED", "error", "skipped"]

_CODE_CLASSES = {
    5000: "policy",
    4200: "unsupported",
    4100: "unsupported",
    -32601: "unsupported",
    -32602: "malformed",
    -32600: "malformed",
    5010: "replay",
    5720: "replay",
    5020: "revoked",
    5021: "frozen",
    8000: "expired",
    -32002: "unavailable",
    1001: "malformed",
    3001: "unsupported",
    5100: "unsupported",
    5101: "unsupported",
    5102: "unsupported",
    5103: "unsupported",
    5104: "unsupported",
    10001: "unsupported",
}
_KINDS = frozenset(
    {"policy", "replay", "revoked", "frozen", "expired", "malformed", "unsupported", "unavailable"}
)


class BenchError(Exception):
    """The bench could not run at all (unreachable relay, a wallet that never paired, ...)."""


@dataclass(frozen=True, slots=True)
class StepReport:
    """What one step did."""

    index: int
    kind: str
    name: str | None
    role: str
    outcome: str
    reason_class: str
    detail: str
    latency_ms: float


@dataclass(frozen=True, slots=True)
class ScenarioResult:
    """One row of the report."""

    name: str
    category: str
    proves: str
    outcome: Outcome
    reason_class: str
    reason: str
    expected: tuple[str, ...]
    ok: bool
    latency_ms: float
    steps: tuple[StepReport, ...] = ()
    source: str = ""


def classify_error(error: dict[str, Any]) -> tuple[str, str]:
    """``(reason class, human reason)`` of a JSON-RPC error object."""
    code = error.get("code")
    message = str(error.get("message", ""))[:160]
    data = error.get("data")
    kind = data.get("kind") if isinstance(data, dict) else None
    if isinstance(kind, str) and kind in _KINDS:
        klass = kind
        detail = data.get("layer") or data.get("reason") if isinstance(data, dict) else None
        reason = f"{code} {kind}" + (f" ({detail})" if detail else "")
        return klass, reason
    klass = _CODE_CLASSES.get(code, "refused") if isinstance(code, int) else "refused"
    return klass, f"{code} {message}".strip()


@dataclass(slots=True)
class _Record:
    """A request step as sent."""

    topic: str
    id: Any
    method: str
    chain: str
    params: Any
    plaintext: str
    envelope: str
    result: Any = None
    answered: bool = False


@dataclass(slots=True)
class _Judged:
    outcome: str  # blocked / SIGNED / ACCEPTED / error
    klass: str
    detail: str
    latency_ms: float = 0.0


@dataclass(slots=True)
class _Dapp:
    client: DappClient
    pairing: str | None = None


@dataclass(slots=True)
class _Run:
    scenario: Scenario
    ctx: RenderContext
    sessions: list[SessionRecord]
    client: DappClient
    account: str
    records: dict[str, _Record] = field(default_factory=dict)
    results: list[Any] = field(default_factory=list)


def _expected(scenario: Scenario) -> tuple[str, ...]:
    reasons = scenario.expect.reason
    if reasons:
        extra: tuple[str, ...] = ()
        if scenario.expect.outcome == "no_second_signature":
            extra = ("duplicate",)
        return tuple(dict.fromkeys((*reasons, *extra)))
    if scenario.expect.outcome == "no_answer":
        return ("no_answer",)
    if scenario.expect.outcome == "no_second_signature":
        return ("duplicate", "no_answer", "replay")
    return ()


class _Runner:
    def __init__(
        self,
        arena: Arena,
        *,
        timeout_s: float,
        quiet_s: float,
        pair_timeout_s: float,
        token: str,
    ) -> None:
        self.arena = arena
        self.timeout_s = timeout_s
        self.quiet_s = quiet_s
        self.pair_timeout_s = pair_timeout_s
        self.token = token
        self.raw = RawAttacker(arena.relay_url, project_id=arena.project_id)
        self._dapps: dict[str, _Dapp] = {}
        self._last_id = 0

    async def __aenter__(self) -> _Runner:
        try:
            await self.raw.start(min(self.timeout_s, 15.0))
        except (WalletConnectError, OSError) as exc:
            await self.raw.close()
            raise BenchError(f"cannot reach the relay {self.arena.relay_url}: {exc}") from None
        return self

    async def __aexit__(self, *exc: object) -> None:
        for dapp in self._dapps.values():
            with contextlib.suppress(Exception):
                await dapp.client.close()
        await self.raw.close()

    # ------------------------------------------------------------------ sessions

    async def _dapp(self, name: str) -> _Dapp:
        dapp = self._dapps.get(name)
        if dapp is None:
            client = DappClient(
                self.arena.relay_url,
                metadata={
                    "name": name,
                    "description": "wcproxy attack bench",
                    "url": DAPP_URL,
                    "icons": [],
                },
                project_id=self.arena.project_id,
            )
            try:
                await client.start()
            except (WalletConnectError, OSError) as exc:
                raise BenchError(f"cannot reach the relay {self.arena.relay_url}: {exc}") from None
            dapp = self._dapps[name] = _Dapp(client)
        return dapp

    async def _open_session(self, scenario: Scenario) -> tuple[DappClient, SessionRecord]:
        # foreign wallets have no envelope to override: one dApp, one pairing for the whole corpus
        dapp = await self._dapp(dapp_name(scenario) if self.arena.is_wcproxy else DAPP_NAME)
        client = dapp.client
        ns = {
            "eip155": {
                "chains": list(scenario.setup.chains),
                "methods": list(scenario.setup.methods or DEFAULT_METHODS),
                "events": list(EVENTS),
            }
        }
        if dapp.pairing is None:
            uri, approval = await client.connect(optional_namespaces=ns)
            dapp.pairing = parse_uri(uri).topic
            try:
                await self.arena.pair(uri)
            except (RuntimeError, OSError, ValueError, WalletConnectError) as exc:
                raise BenchError(f"cannot pair the wallet: {exc}") from None
            try:
                session = await asyncio.wait_for(approval, self.pair_timeout_s)
            except TimeoutError:
                dapp.pairing = None
                raise BenchError(
                    f"no session approved within {self.pair_timeout_s:.0f}s\n{self.arena.diagnostics()}"
                ) from None
        else:
            proposal = client.engine.connect(dapp.pairing, client.clock(), optional_namespaces=ns)
            await client.flush()
            session = await self._settled(client, proposal.id)
        await client.drained()
        if client.relay is not None:
            # the attacker sends from now on; the dApp must not answer its requests
            with contextlib.suppress(WalletConnectError):
                await client.relay.unsubscribe(session.topic)
        await self.raw.watch(session.topic, client.engine.snapshot().sym_keys[session.topic])
        return client, session

    async def _settled(self, client: DappClient, proposal_id: int) -> SessionRecord:
        deadline = time.monotonic() + self.pair_timeout_s
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise BenchError(
                    f"proposal {proposal_id} not answered within {self.pair_timeout_s:.0f}s"
                )
            try:
                event = await client.next_event(
                    (SessionSettled, ProposalRejected, ProposalExpired), remaining
                )
            except WalletConnectError:
                raise BenchError(
                    f"proposal {proposal_id} not answered within {self.pair_timeout_s:.0f}s\n"
                    f"{self.arena.diagnostics()}"
                ) from None
            if isinstance(event, SessionSettled) and event.proposal_id == proposal_id:
                return event.session
            if isinstance(event, ProposalRejected) and event.id == proposal_id:
                raise BenchError(
                    f"the wallet rejected the session proposal: {event.code} {event.message}"
                )
            if isinstance(event, ProposalExpired) and event.id == proposal_id:
                raise BenchError("the session proposal expired")

    # ------------------------------------------------------------------ ids

    def _new_id(self, offset_s: float = 0.0) -> int:
        rpc_id = payload_id(int((time.time() + offset_s) * 1000), secrets.randbelow(1000))
        if offset_s == 0.0:
            rpc_id = max(rpc_id, self._last_id + 1)
            self._last_id = rpc_id
        return rpc_id

    # ------------------------------------------------------------------ scenarios

    async def run(self, scenario: Scenario, index: int) -> ScenarioResult:
        expected = _expected(scenario)
        base: dict[str, Any] = {
            "name": scenario.name,
            "category": scenario.category,
            "proves": scenario.proves,
            "expected": expected,
            "source": scenario.source,
        }
        if scenario.needs_self and not self.arena.is_wcproxy:
            return ScenarioResult(
                **base,
                outcome="skipped",
                reason_class="",
                reason="needs --target self (operator actions or envelope/daemon overrides)",
                ok=True,
                latency_ms=0.0,
            )
        sessions: list[SessionRecord] = []
        client: DappClient | None = None
        try:
            for _ in range(scenario.setup.sessions):
                client, session = await self._open_session(scenario)
                sessions.append(session)
            assert client is not None
            return await self._steps(scenario, index, client, sessions, base)
        except (BenchError, WalletConnectError, OSError) as exc:
            return ScenarioResult(
                **base,
                outcome="error",
                reason_class="",
                reason=str(exc).splitlines()[0],
                ok=False,
                latency_ms=0.0,
            )
        finally:
            if client is not None:
                for session in sessions:
                    if session.topic in client.engine.sessions:
                        with contextlib.suppress(WalletConnectError):
                            await client.disconnect(session.topic)
                with contextlib.suppress(Exception):
                    await client.drained(5.0)
            with contextlib.suppress(Exception):
                await self.arena.after_scenario()

    def _context(
        self, scenario: Scenario, index: int, session: SessionRecord
    ) -> tuple[RenderContext, str]:
        ns = session.namespaces.get("eip155", {})
        accounts = ns.get("accounts") or []
        if not accounts:
            raise BenchError("the session has no eip155 account")
        _, chain_ref, raw_account = str(accounts[0]).split(":", 2)
        try:
            account = to_checksum_address(raw_account)
            chain_id = int(chain_ref)
        except ValueError:
            raise BenchError(
                f"the session account {accounts[0]!r} is not an eip155 account"
            ) from None
        others = [
            int(c.split(":")[1])
            for c in scenario.setup.chains
            if c.startswith("eip155:")
            and c.split(":")[1].isdigit()
            and int(c.split(":")[1]) != chain_id
        ]
        other = others[0] if others else (10 if chain_id != 10 else 137)
        ctx = RenderContext(
            account=account,
            chain_id=chain_id,
            other_chain_id=other,
            now=int(time.time()),
            nonce_base=index * 32,
            uniq=f"{self.token}{index:08x}",
            dapp_url=DAPP_URL,
            calldata=scenario.calldata,
            multisend=scenario.multisend,
            data=scenario.data,
            steps={},
        )
        return ctx, account

    async def _steps(
        self,
        scenario: Scenario,
        index: int,
        client: DappClient,
        sessions: list[SessionRecord],
        base: dict[str, Any],
    ) -> ScenarioResult:
        ctx, account = self._context(scenario, index, sessions[0])
        run = _Run(scenario, ctx, sessions, client, account)
        expected = _expected(scenario)
        reports: list[StepReport] = []
        judged: list[_Judged] = []
        for i, step in enumerate(scenario.steps):
            started = time.perf_counter()
            try:
                result = await self._step(run, i, step, expected)
            except (TemplateError, ValueError) as exc:
                result = _Judged("error", "", f"cannot build the request: {exc}")
            except AdminUnavailable as exc:
                result = _Judged("error", "", f"no operator interface for {exc}")
            except (WalletConnectError, OSError, RuntimeError) as exc:
                result = _Judged("error", "", f"{type(exc).__name__}: {exc}")
            if not result.latency_ms:
                result.latency_ms = round((time.perf_counter() - started) * 1000, 1)
            reports.append(
                StepReport(
                    i,
                    step.kind,
                    step.name,
                    step.role,
                    result.outcome,
                    result.klass,
                    result.detail,
                    result.latency_ms,
                )
            )
            is_attack = step.role == "attack" and isinstance(step, RequestStep | RawStep)
            if is_attack:
                judged.append(result)
            elif result.outcome == "error":
                return ScenarioResult(
                    **base,
                    outcome="error",
                    reason_class="",
                    reason=f"step {i} ({step.name or step.kind}): {result.detail}",
                    ok=False,
                    latency_ms=result.latency_ms,
                    steps=tuple(reports),
                )
        return self._verdict(base, judged, reports, expected)

    def _verdict(
        self,
        base: dict[str, Any],
        judged: list[_Judged],
        reports: list[StepReport],
        expected: tuple[str, ...],
    ) -> ScenarioResult:
        decisive = judged[-1]
        for rank in ("SIGNED", "ACCEPTED", "error"):
            hit = next((j for j in judged if j.outcome == rank), None)
            if hit is not None:
                decisive = hit
                break
        outcome: Outcome = decisive.outcome  # type: ignore[assignment]
        ok = outcome == "blocked"
        detail = decisive.detail
        if ok and self.arena.is_wcproxy and expected:
            wrong = [j for j in judged if j.klass not in expected]
            if wrong:
                ok = False
                decisive = wrong[0]
                detail = f"blocked, but as {wrong[0].klass} (expected {'/'.join(expected)}): {wrong[0].detail}"
        return ScenarioResult(
            **base,
            outcome=outcome,
            reason_class=decisive.klass,
            reason=detail,
            ok=ok,
            latency_ms=decisive.latency_ms,
            steps=tuple(reports),
        )

    # ------------------------------------------------------------------ one step

    def _ctx(self, run: _Run) -> RenderContext:
        steps = {
            name: {"params": r.params, **({"result": r.result} if r.answered else {})}
            for name, r in run.records.items()
        }
        ctx = run.ctx
        return RenderContext(
            account=ctx.account,
            chain_id=ctx.chain_id,
            other_chain_id=ctx.other_chain_id,
            now=ctx.now,
            nonce_base=ctx.nonce_base,
            uniq=ctx.uniq,
            dapp_url=ctx.dapp_url,
            calldata=ctx.calldata,
            multisend=ctx.multisend,
            data=ctx.data,
            steps=steps,
        )

    async def _step(self, run: _Run, i: int, step: Any, expected: tuple[str, ...]) -> _Judged:
        if isinstance(step, WaitStep):
            await asyncio.sleep(step.seconds)
            return _Judged("done", "", f"waited {step.seconds}s")
        topic = run.sessions[step.session].topic
        if isinstance(step, AdminStep):
            if step.action == "disconnect":
                if topic in run.client.engine.sessions:
                    await run.client.disconnect(topic)
                    await run.client.drained(5.0)
                return _Judged("done", "", "the dApp sent wc_sessionDelete")
            note = await self.arena.admin(step.action, topic, step.timeout_s)
            return _Judged("done", "", note)
        if isinstance(step, RequestStep):
            record = self._build_request(run, step, topic)
        else:
            record = self._build_raw(run, step)
        if step.name is not None:
            run.records[step.name] = record
        ttl, tag = _REQUEST_TTL_S, REQUEST_TAG
        if isinstance(step, RawStep):
            ttl = step.ttl or (30 * 86_400 if step.op == "tamper_ttl" else ttl)
            tag = step.relay_tag if step.relay_tag is not None else tag
        silence_ok = "no_answer" in expected or (step.role == "attack" and not expected)
        wait_s = self.quiet_s if step.role == "attack" and silence_ok else self.timeout_s
        after = self.raw.seen(record.topic, record.id)
        started = time.perf_counter()
        try:
            await self.raw.publish(record.topic, record.envelope, ttl=ttl, tag=tag)
        except WalletConnectError as exc:
            if step.role == "setup":
                return _Judged("error", "", f"the relay refused the publish: {exc}")
            return _Judged("blocked", "relay", f"the relay refused to carry it: {exc}")
        answer = await self.raw.wait_answer(record.topic, record.id, after=after, timeout_s=wait_s)
        latency = round((time.perf_counter() - started) * 1000, 1)
        judged = self._judge(run, step, record, answer)
        judged.latency_ms = latency
        if step.role == "setup" and judged.outcome not in ("SIGNED", "ACCEPTED"):
            return _Judged(
                "error", judged.klass, f"setup request was not signed: {judged.detail}", latency
            )
        if step.role == "setup":
            judged.outcome = "done"
        return judged

    def _request_id(self, run: _Run, spec: Any) -> Any:
        if spec == "fresh":
            return self._new_id()
        if spec == "stale":
            return self._new_id(-_STALE_S)
        if spec == "future":
            return self._new_id(_FUTURE_S)
        if isinstance(spec, str) and spec.startswith("same:"):
            return run.records[spec[5:]].id
        return spec

    def _build_request(self, run: _Run, step: RequestStep, topic: str) -> _Record:
        ctx = self._ctx(run)
        if step.params_from is not None and step.params is None:
            params = json.loads(json.dumps(run.records[step.params_from].params))
        else:
            params = render(step.params, ctx)
        chain = render(step.chain, ctx)
        if not isinstance(chain, str):
            raise TemplateError("chain must render to a CAIP-2 string")
        rpc_id = self._request_id(run, step.id)
        expiry = int(time.time()) + (step.expiry_s if step.expiry_s is not None else _REQUEST_TTL_S)
        plaintext = request_plaintext(rpc_id, chain, step.method, params, expiry)
        return _Record(
            topic, rpc_id, step.method, chain, params, plaintext, self.raw.seal(topic, plaintext)
        )

    def _build_raw(self, run: _Run, step: RawStep) -> _Record:
        ref = run.records[step.of]
        expiry = int(time.time()) + _REQUEST_TTL_S
        op = step.op
        if op == "duplicate_envelope":
            return _Record(
                ref.topic, ref.id, ref.method, ref.chain, ref.params, ref.plaintext, ref.envelope
            )
        if op == "reencrypt":
            return _Record(
                ref.topic,
                ref.id,
                ref.method,
                ref.chain,
                ref.params,
                ref.plaintext,
                self.raw.seal(ref.topic, ref.plaintext),
            )
        if op == "publish_on_other_topic":
            other = run.sessions[step.target_session].topic
            return _Record(
                other,
                ref.id,
                ref.method,
                ref.chain,
                ref.params,
                ref.plaintext,
                self.raw.seal(other, ref.plaintext),
            )
        offset = {"stale_id": -_STALE_S, "future_id": _FUTURE_S}.get(op, 0)
        rpc_id = self._new_id(offset)
        pad = step.size if op == "oversize" else 0
        plaintext = request_plaintext(rpc_id, ref.chain, ref.method, ref.params, expiry, pad=pad)
        envelope = self.raw.seal(ref.topic, plaintext)
        if op == "tamper_tag":
            envelope = tamper_tag(envelope)
        return _Record(ref.topic, rpc_id, ref.method, ref.chain, ref.params, plaintext, envelope)

    def _judge(self, run: _Run, step: Any, record: _Record, answer: Inbound | None) -> _Judged:
        if answer is None:
            return _Judged("blocked", "no_answer", "no answer (silence)")
        if answer.error is not None:
            klass, reason = classify_error(answer.error)
            return _Judged("blocked", klass, reason)
        record.result = answer.result
        record.answered = True
        earlier = [r.result for r in run.records.values() if r is not record and r.answered]
        repeated = answer.result in earlier
        verdict = verify(record.method, record.params, answer.result, run.account)
        if repeated and run.scenario.expect.outcome == "no_second_signature":
            return _Judged(
                "blocked", "duplicate", "the earlier answer was re-sent (no new signature)"
            )
        if verdict.kind == "signed":
            return _Judged("SIGNED", "signed", verdict.detail)
        if verdict.kind == "accepted":
            return _Judged("ACCEPTED", "accepted", verdict.detail)
        if verdict.kind == "variant":
            return _Judged("blocked", "variant", verdict.detail)
        if repeated:
            return _Judged(
                "blocked",
                "duplicate",
                "an earlier answer was re-sent (not a signature over this payload)",
            )
        return _Judged(
            "blocked", "refused", f"answered without a valid signature: {verdict.detail}"
        )


async def run_bench(
    target: Target,
    scenarios: Sequence[Scenario],
    *,
    timeout_s: float = 15.0,
    quiet_s: float = 2.0,
    pair_timeout_s: float = 60.0,
    progress: Callable[[int, int, ScenarioResult], None] | None = None,
) -> list[ScenarioResult]:
    """Run ``scenarios`` against ``target``; results in the scenarios' order.

    Raises :class:`BenchError` when the target cannot be reached at all.
    """
    token = secrets.token_hex(4)
    groups: dict[tuple[str, ...], list[tuple[int, Scenario]]] = {}
    for index, scenario in enumerate(scenarios):
        key = profile_of(scenario) if target.is_wcproxy else ("",)
        groups.setdefault(key, []).append((index, scenario))
    results: dict[int, ScenarioResult] = {}
    done = 0
    for profile, members in groups.items():
        async with (
            target.arena(profile, [s for _, s in members]) as arena,
            _Runner(
                arena,
                timeout_s=timeout_s,
                quiet_s=quiet_s,
                pair_timeout_s=pair_timeout_s,
                token=token,
            ) as runner,
        ):
            for index, scenario in members:
                result = await runner.run(scenario, index)
                results[index] = result
                done += 1
                if progress is not None:
                    progress(done, len(scenarios), result)
    return [results[i] for i in range(len(scenarios))]
