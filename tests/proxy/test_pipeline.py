"""The request path without sockets: memory store, dev signer, real policy, real audit log."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct

from policy.envelope import load_envelope
from policy.memory import MemoryReplayStore
from policy.pricing import Pricer
from policy.replay import ReplayPolicy
from policy.revocation import Freeze, Revocation, RevocationPath
from proxy.audit.log import AuditLog, MemoryChainHeadStore
from proxy.audit.verify import verify_chain
from proxy.error_map import (
    CODE_EXPIRED,
    CODE_FROZEN,
    CODE_MALFORMED,
    CODE_POLICY,
    CODE_REPLAY,
    CODE_REVOKED,
    CODE_UNAVAILABLE,
    CODE_UNSUPPORTED,
)
from proxy.errors import SignerUnavailableError
from proxy.metrics import Metrics
from proxy.pipeline import Answer, Refusal, RequestPipeline, SessionView, Silence
from proxy.signers.base import Signer, VerifyingSigner
from proxy.signers.keystore import DevSigner
from proxy.translate import WcRequest

ALLOWED = "0x1111111111111111111111111111111111111111"
STRANGER = "0x2222222222222222222222222222222222222222"
TOPIC = "ab" * 32
NOW = time.time()


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


def _envelope(**extra: Any) -> Any:
    return load_envelope(
        {
            "sessionKey": "t",
            "capabilities": ["message.sign", "native.transfer"],
            "maxValueUsd": 100,
            "allowedDestinations": [ALLOWED],
            "chainId": 1,
            "expiresAt": int(NOW) + 3600,
            **extra,
        }
    )


class Harness:
    def __init__(
        self,
        pipeline: RequestPipeline,
        store: MemoryReplayStore,
        account: str,
        clock: Clock,
        audit_path: Path,
    ) -> None:
        self.pipeline = pipeline
        self.store = store
        self.account = account
        self.clock = clock
        self.audit_path = audit_path
        self.ids = iter(range(1, 10_000))
        self.view = SessionView(
            topic=TOPIC,
            envelope=_envelope(),
            namespaces={
                "eip155": {"accounts": [f"eip155:1:{account}"], "methods": [], "events": []}
            },
            dapp="https://dapp.example",
        )

    def request(
        self, method: str, params: Any, *, rpc_id: int | None = None, expiry: int | None = None
    ) -> WcRequest:
        rid = rpc_id if rpc_id is not None else int(self.clock.now * 1000) * 1000 + next(self.ids)
        return WcRequest(TOPIC, rid, method, params, "eip155:1", expiry, self.clock.now)

    async def run(self, request: WcRequest) -> Any:
        return await self.pipeline.handle(request, self.view)

    def tx(self, to: str, value: int, nonce: int = 0) -> dict[str, Any]:
        return {
            "from": self.account,
            "to": to,
            "value": hex(value),
            "data": "0x",
            "gas": hex(21_000),
            "maxFeePerGas": hex(10**10),
            "maxPriorityFeePerGas": hex(10**9),
            "nonce": hex(nonce),
            "chainId": "0x1",
            "type": "0x2",
        }


async def _harness(tmp_path: Path, signer: Signer | None = None) -> Harness:
    clock = Clock()
    store = MemoryReplayStore()
    dev = VerifyingSigner(DevSigner())
    audit_path = tmp_path / "audit.jsonl"
    audit = await AuditLog.open(audit_path, MemoryChainHeadStore(), fsync="never", clock=clock)
    pipeline = RequestPipeline(
        store=store,
        signer=signer or dev,
        pricer=Pricer.from_config({"quotes": {"ETH": "3000", "USDC": "1"}}),
        audit=audit,
        metrics=Metrics.create(),
        replay_policy=ReplayPolicy(),
        chains={},
        clock=clock,
    )
    return Harness(pipeline, store, dev.accounts()[0], clock, audit_path)


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[Harness]:
    harness = await _harness(tmp_path)
    yield harness
    await harness.pipeline.audit.close()


def _message(text: str) -> str:
    return "0x" + text.encode().hex()


async def test_allowed_personal_sign_returns_a_signature_that_recovers(h: Harness) -> None:
    out = await h.run(h.request("personal_sign", [_message("hello"), h.account]))
    assert isinstance(out, Answer)
    signer = Account.recover_message(encode_defunct(text="hello"), signature=out.result)
    assert signer.lower() == h.account


async def test_allowed_transaction_is_signed_for_exactly_the_judged_fields(h: Harness) -> None:
    out = await h.run(h.request("eth_signTransaction", [h.tx(ALLOWED, 10**16)]))
    assert isinstance(out, Answer)
    assert Account.recover_transaction(out.result).lower() == h.account


async def test_a_transaction_without_chain_id_is_bound_to_the_request_chain(h: Harness) -> None:
    tx = h.tx(ALLOWED, 10**16)
    del tx["chainId"]
    out = await h.run(h.request("eth_signTransaction", [tx]))
    assert isinstance(out, Answer)
    signed = Account.recover_transaction(out.result)
    assert signed.lower() == h.account


async def test_policy_denial_carries_every_reason(h: Harness) -> None:
    out = await h.run(
        h.request("eth_signTransaction", [h.tx(STRANGER, 10**17)])
    )  # $300 to a stranger
    assert isinstance(out, Refusal)
    assert out.error.code == CODE_POLICY
    assert out.error.data["kind"] == "policy"
    assert set(out.error.data["reasons"]) == {"destination_not_allowed", "value_cap_exceeded"}


async def test_the_same_payload_in_a_new_request_is_a_replay(h: Harness) -> None:
    params = [_message("pay me once"), h.account]
    assert isinstance(await h.run(h.request("personal_sign", params)), Answer)
    again = await h.run(h.request("personal_sign", params))
    assert isinstance(again, Refusal)
    assert again.error.code == CODE_REPLAY
    assert again.error.data["layer"] == "payload"


async def test_a_retry_of_the_same_request_gets_the_stored_answer_without_a_second_signature(
    h: Harness,
) -> None:
    gate = asyncio.Event()

    class SlowToStore(MemoryReplayStore):
        async def complete(self, *args: Any, **kwargs: Any) -> bool:
            await gate.wait()
            return await super().complete(*args, **kwargs)

    h.pipeline.store = SlowToStore()
    request = h.request("personal_sign", [_message("retry"), h.account])
    first = await h.run(request)  # answered while its result is still being stored
    early = await h.run(request)
    assert isinstance(early, Silence)  # a retry in that window is ignored, never signed again
    gate.set()
    await h.pipeline.drain()
    second = await h.run(request)
    assert isinstance(first, Answer)
    assert isinstance(second, Answer)
    assert first.result == second.result


async def test_revoked_session_gets_nothing_signed_and_the_attempt_is_counted(h: Harness) -> None:
    await h.store.revoke(
        Revocation(
            session=TOPIC,
            path=RevocationPath.USER,
            rule=None,
            actor="t",
            reason="lost phone",
            at=NOW,
        )
    )
    out = await h.run(h.request("personal_sign", [_message("x"), h.account]))
    assert isinstance(out, Refusal)
    assert out.error.code == CODE_REVOKED
    assert h.pipeline.metrics.post_revocation_attempts._value.get() == 1


async def test_a_freeze_refuses_every_request(h: Harness) -> None:
    await h.store.freeze(Freeze(actor="ops", reason="drill", at=NOW))
    out = await h.run(h.request("personal_sign", [_message("x"), h.account]))
    assert isinstance(out, Refusal)
    assert out.error.code == CODE_FROZEN


async def test_a_request_past_its_own_expiry_is_refused(h: Harness) -> None:
    out = await h.run(
        h.request("personal_sign", [_message("late"), h.account], expiry=int(NOW) - 1)
    )
    assert isinstance(out, Refusal)
    assert out.error.code == CODE_EXPIRED


@pytest.mark.parametrize(
    ("method", "params", "code"),
    [
        ("personal_sign", "not a list", CODE_MALFORMED),
        ("eth_signTransaction", [{"to": "0xzz"}], CODE_MALFORMED),
        ("eth_decrypt", ["0x00", ALLOWED], CODE_UNSUPPORTED),
        (
            "eth_sendTransaction",
            [{"to": ALLOWED}],
            CODE_UNAVAILABLE,
        ),  # no chain endpoint configured
    ],
)
async def test_bad_or_unsupported_requests_get_their_own_codes(
    h: Harness, method: str, params: Any, code: int
) -> None:
    out = await h.run(h.request(method, params))
    assert isinstance(out, Refusal)
    assert out.error.code == code


async def test_stale_ids_are_refused_as_replays(h: Harness) -> None:
    old_id = int((NOW - 7200) * 1000) * 1000 + 1
    out = await h.run(h.request("personal_sign", [_message("old"), h.account], rpc_id=old_id))
    assert isinstance(out, Refusal)
    assert out.error.code == CODE_REPLAY
    assert out.error.data["layer"] == "rpc_id"


async def test_an_unavailable_signer_releases_the_claim_so_a_retry_can_succeed(
    tmp_path: Path,
) -> None:
    class Down(VerifyingSigner):
        async def sign_message(self, account: str, message: bytes, digest: bytes) -> str:
            raise SignerUnavailableError("down")

    flaky = await _harness(tmp_path, Down(DevSigner()))
    request = flaky.request("personal_sign", [_message("later"), flaky.account])
    out = await flaky.run(request)
    assert isinstance(out, Refusal)
    assert out.error.code == CODE_UNAVAILABLE
    flaky.pipeline.signer = VerifyingSigner(DevSigner())
    assert isinstance(await flaky.run(request), Answer)
    await flaky.pipeline.audit.close()


async def test_a_store_that_is_down_fails_closed(h: Harness) -> None:
    from policy.errors import StoreUnavailableError

    class Broken(MemoryReplayStore):
        async def claim(self, *args: Any, **kwargs: Any) -> Any:
            raise StoreUnavailableError("redis unreachable")

    h.pipeline.store = Broken()
    out = await h.run(h.request("personal_sign", [_message("x"), h.account]))
    assert isinstance(out, Refusal)
    assert out.error.code == CODE_UNAVAILABLE


async def test_duplicate_in_flight_elsewhere_stays_silent(h: Harness) -> None:
    from policy.replay import RequestIdentity, rpc_id_key

    request = h.request("personal_sign", [_message("mine"), h.account])
    # another replica claimed this (topic, id) for the same payload and has not answered yet
    from policy.decode import decode
    from proxy.translate import to_signing_request

    action = decode(
        to_signing_request(request, namespaces=h.view.namespaces, origin=None, session=TOPIC)
    )
    owner = RequestIdentity(TOPIC, request.id, action.payload_hash, TOPIC)
    await h.store.claim((rpc_id_key(TOPIC, request.id),), owner=owner, budget=None, now=NOW)
    assert isinstance(await h.run(request), Silence)


async def test_every_decision_lands_in_a_verifiable_audit_log(h: Harness) -> None:
    await h.run(h.request("personal_sign", [_message("a"), h.account]))
    await h.run(h.request("eth_signTransaction", [h.tx(STRANGER, 1)]))
    await h.pipeline.audit.close()
    lines = h.audit_path.read_text().splitlines(keepends=True)
    records = [json.loads(line) for line in lines]
    assert [r["decision"] for r in records] == ["allow", "deny"]
    assert records[1]["reasons"] == ["destination_not_allowed"]
    assert verify_chain(lines).ok
    assert h.account not in "".join(r.get("payload_hash") or "" for r in records)


async def test_replicas_sharing_a_store_answer_each_request_once(tmp_path: Path) -> None:
    first = await _harness(tmp_path / "a")
    second = await _harness(tmp_path / "b")
    second.pipeline.store = first.pipeline.store  # two daemons, one shared replay store
    request = first.request("personal_sign", [_message("both replicas see me"), first.account])
    answered = await first.run(request)
    assert isinstance(answered, Answer)
    assert isinstance(await second.run(request), Silence)  # the other replica stays quiet
    await first.pipeline.drain()
    # a retry reaching the replica that answered gets the same answer
    retry = await first.run(request)
    assert isinstance(retry, Answer)
    assert retry.result == answered.result
    for h in (first, second):
        await h.pipeline.audit.close()


class _CountingStore(MemoryReplayStore):
    def __init__(self) -> None:
        super().__init__()
        self.usage_reads = 0

    async def usage(self, envelope_id: str, now: float) -> Any:
        self.usage_reads += 1
        return await super().usage(envelope_id, now)


async def test_usage_is_read_only_for_envelopes_with_a_budget_or_call_limit(h: Harness) -> None:
    store = h.pipeline.store = _CountingStore()
    assert isinstance(await h.run(h.request("personal_sign", [_message("a"), h.account])), Answer)
    assert store.usage_reads == 0  # neither budgetUsd nor maxCalls: nothing to read
    h.view = replace(h.view, envelope=_envelope(maxCalls=1))
    assert isinstance(await h.run(h.request("personal_sign", [_message("b"), h.account])), Answer)
    refused = await h.run(h.request("personal_sign", [_message("c"), h.account]))
    assert isinstance(refused, Refusal)
    assert "max_calls_exceeded" in str(refused.error.data)
    assert store.usage_reads == 2


class _DurableLaterStore(MemoryReplayStore):
    """Decides each claim at once (``decided``), makes it 'durable' only when ``durable`` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.durable = asyncio.Event()
        self.decided: list[object] = []

    async def claim(self, keys: Any, **kwargs: Any) -> Any:
        hook = kwargs.pop("decided", None)

        def heard(outcome: Any) -> None:
            self.decided.append(outcome)
            if hook is not None:
                hook(outcome)

        outcome = await super().claim(keys, decided=heard, **kwargs)
        await self.durable.wait()
        return outcome


async def _until(condition: Any) -> None:
    for _ in range(200):
        if condition():
            return
        await asyncio.sleep(0.005)


async def test_a_sessions_next_request_is_decided_while_the_last_claim_becomes_durable(
    h: Harness,
) -> None:
    store = h.pipeline.store = _DurableLaterStore()
    first = asyncio.create_task(h.run(h.request("personal_sign", [_message("one"), h.account])))
    second = asyncio.create_task(h.run(h.request("personal_sign", [_message("two"), h.account])))
    await _until(lambda: len(store.decided) == 2)
    assert [type(o).__name__ for o in store.decided] == ["Claim", "Claim"]
    assert not first.done()  # decided, not durable: not signed, not answered
    assert not second.done()
    store.durable.set()
    assert isinstance(await first, Answer)
    assert isinstance(await second, Answer)


async def test_the_next_decision_still_sees_the_claim_before_it(h: Harness) -> None:
    store = h.pipeline.store = _DurableLaterStore()
    h.view = replace(h.view, envelope=_envelope(maxCalls=1))
    first = asyncio.create_task(h.run(h.request("personal_sign", [_message("one"), h.account])))
    second = asyncio.create_task(h.run(h.request("personal_sign", [_message("two"), h.account])))
    # decided (and refused) while the first claim is not yet durable
    refused = await asyncio.wait_for(second, 2)
    assert isinstance(refused, Refusal)
    assert "max_calls_exceeded" in str(refused.error.data)
    assert not first.done()
    store.durable.set()
    assert isinstance(await first, Answer)
