"""The one ReplayStore contract suite: every backend (memory, SQLite, Redis) subclasses it.

A backend's test module defines ``class TestXxx(ReplayStoreContract)`` with two async fixtures:
``store`` (a fresh, empty store) and ``peer`` (a second handle on the same storage: another
connection / client, as a second replica would have; the memory store returns itself).
It lives beside the policy tests, not on sys.path: load it by file path, as the backend test
modules do (``importlib.util.spec_from_file_location``).
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest

from policy.actions import Action, ActionClass, NonceKind, ProtocolNonce
from policy.interfaces import ReplayStore
from policy.replay import (
    BudgetCharge,
    BudgetExceeded,
    Claim,
    Duplicate,
    Replay,
    ReplayKey,
    ReplayLayer,
    ReplayPolicy,
    RequestIdentity,
    derive_keys,
)
from policy.request import SigningRequest

NOW = 1_700_000_000.0
TOPIC = "a" * 64
ID0 = int(NOW * 1000) * 1000 + 1  # an SDK-style payloadId issued at NOW


def owner(
    n: int, payload: str | None = None, *, topic: str = TOPIC, session: str = "s1"
) -> RequestIdentity:
    return RequestIdentity(topic, ID0 + n, payload or f"0x{n:064x}", session)


def key(layer: ReplayLayer, *parts: object, ttl_s: int = 600) -> ReplayKey:
    return ReplayKey.of(layer, tuple(parts), ttl_s)


def rpc(n: int, *, topic: str = TOPIC, ttl_s: int = 600) -> ReplayKey:
    return key(ReplayLayer.RPC_ID, topic, ID0 + n, ttl_s=ttl_s)


def payload(n: int, *, ttl_s: int = 600) -> ReplayKey:
    return key(ReplayLayer.PAYLOAD, "0xacc", "transaction", f"0x{n:064x}", ttl_s=ttl_s)


def charge(usd: str, *, cap: str = "100", period_s: int = 3600, env: str = "env-1") -> BudgetCharge:
    return BudgetCharge(env, Decimal(usd), period_s, Decimal(cap))


#: one sample key tuple per protocol layer (as the decoder documents them on NonceKind)
LAYER_SAMPLES: dict[ReplayLayer, tuple[str, ...]] = {
    ReplayLayer.RELAY_DELIVERY: (TOPIC, "f" * 64),
    ReplayLayer.RPC_ID: (TOPIC, str(ID0 + 999)),
    ReplayLayer.PAYLOAD: ("0xacc", "typed_data", "0x" + "b" * 64),
    ReplayLayer.CHAIN_NONCE: ("1", "0xacc", "7"),
    ReplayLayer.PERMIT_NONCE: ("1", "0xtoken", "0xacc", "3"),
    ReplayLayer.PERMIT2_NONCE: ("1", "0xacc", "0xtoken", "0xspender", "0"),
    ReplayLayer.PERMIT2_BIT: ("1", "0xacc", "12", "200"),
    ReplayLayer.SIWE_NONCE: ("app.example", "abcdef12"),
    ReplayLayer.BATCH_ID: ("0xacc", "https://app.example", "batch-1"),
    ReplayLayer.SEAPORT_ORDER: ("1", "0xacc", "0", "0x" + "c" * 64),
    ReplayLayer.AUTHORIZATION_NONCE: ("1", "0xacc", "5"),
}


class ReplayStoreContract:
    """Behaviour every ReplayStore must show; subclasses provide ``store`` and ``peer``."""

    @pytest.fixture
    async def store(self) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError

    @pytest.fixture
    async def peer(self, store: ReplayStore) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError

    # --- every layer refuses its replay ------------------------------------------------------------

    @pytest.mark.parametrize("layer", list(ReplayLayer))
    async def test_each_layer_refuses_a_new_request_reusing_its_key(
        self, store: ReplayStore, layer: ReplayLayer
    ) -> None:
        shared = key(layer, *LAYER_SAMPLES[layer])
        first = await store.claim([rpc(1), shared], owner=owner(1), budget=None, now=NOW)
        assert isinstance(first, Claim)
        other = owner(2, session="s2", topic="b" * 64)
        second = await store.claim(
            [rpc(2, topic="b" * 64), shared], owner=other, budget=None, now=NOW + 5
        )
        assert isinstance(second, Replay)
        assert second.layer is layer
        assert second.first_seen is not None
        assert second.first_seen.session == "s1"
        assert second.first_seen.request_id == ID0 + 1
        assert second.first_seen.at == pytest.approx(NOW)

    async def test_claim_is_all_or_nothing(self, store: ReplayStore) -> None:
        nonce = key(ReplayLayer.CHAIN_NONCE, 1, "0xacc", 7)
        assert isinstance(await store.claim([nonce], owner=owner(1), budget=None, now=NOW), Claim)
        refused = await store.claim(
            [rpc(2), payload(2), nonce], owner=owner(2), budget=charge("5"), now=NOW
        )
        assert isinstance(refused, Replay)
        assert refused.layer is ReplayLayer.CHAIN_NONCE
        # nothing of the refused claim was recorded: its other keys are free, nothing charged
        again = await store.claim([rpc(2), payload(2)], owner=owner(3), budget=None, now=NOW)
        assert isinstance(again, Claim)
        assert (await store.usage("env-1", NOW)).calls == 0

    async def test_first_held_key_in_order_names_the_layer(self, store: ReplayStore) -> None:
        nonce = key(ReplayLayer.PERMIT_NONCE, 1, "0xt", "0xacc", 1)
        await store.claim([rpc(1), payload(1), nonce], owner=owner(1), budget=None, now=NOW)
        refused = await store.claim(
            [rpc(2), payload(1), nonce], owner=owner(2), budget=None, now=NOW
        )
        assert isinstance(refused, Replay)
        assert refused.layer is ReplayLayer.PAYLOAD

    # --- duplicates vs replays ------------------------------------------------------------------------

    async def test_same_request_in_flight_is_a_silent_duplicate(self, store: ReplayStore) -> None:
        keys = [rpc(1), payload(1)]
        assert isinstance(await store.claim(keys, owner=owner(1), budget=None, now=NOW), Claim)
        dup = await store.claim(keys, owner=owner(1, session="replica-b"), budget=None, now=NOW + 1)
        assert isinstance(dup, Duplicate)
        assert dup.in_flight is True
        assert dup.stored_result is None
        assert dup.first_seen.request_id == ID0 + 1

    async def test_retry_after_complete_gets_the_stored_result(self, store: ReplayStore) -> None:
        keys = [rpc(1), payload(1)]
        won = await store.claim(keys, owner=owner(1), budget=charge("10"), now=NOW)
        assert isinstance(won, Claim)
        response = '{"id":1,"jsonrpc":"2.0","result":"0xsig"}'
        assert await store.complete(won, response, NOW + 1) is True
        dup = await store.claim(keys, owner=owner(1), budget=charge("10"), now=NOW + 2)
        assert isinstance(dup, Duplicate)
        assert dup.in_flight is False
        assert dup.stored_result == response
        usage = await store.usage("env-1", NOW + 2)
        assert usage.calls == 1  # the retry charged nothing
        assert usage.spent_usd == Decimal(10)

    async def test_re_encrypted_duplicate_matches_on_rpc_id_alone(self, store: ReplayStore) -> None:
        relay_a = key(ReplayLayer.RELAY_DELIVERY, TOPIC, "1" * 64)
        relay_b = key(ReplayLayer.RELAY_DELIVERY, TOPIC, "2" * 64)
        await store.claim([relay_a, rpc(1), payload(1)], owner=owner(1), budget=None, now=NOW)
        dup = await store.claim([relay_b, rpc(1), payload(1)], owner=owner(1), budget=None, now=NOW)
        assert isinstance(dup, Duplicate)

    async def test_same_id_with_a_different_payload_is_an_rpc_id_replay(
        self, store: ReplayStore
    ) -> None:
        await store.claim([rpc(1), payload(1)], owner=owner(1), budget=None, now=NOW)
        forged = RequestIdentity(TOPIC, ID0 + 1, f"0x{2:064x}", "s1")
        out = await store.claim([rpc(1), payload(2)], owner=forged, budget=None, now=NOW)
        assert isinstance(out, Replay)
        assert out.layer is ReplayLayer.RPC_ID

    async def test_same_payload_in_a_new_request_is_a_payload_replay(
        self, store: ReplayStore
    ) -> None:
        await store.claim([rpc(1), payload(1)], owner=owner(1), budget=None, now=NOW)
        resubmitted = owner(2, f"0x{1:064x}", session="s2")
        out = await store.claim([rpc(2), payload(1)], owner=resubmitted, budget=None, now=NOW)
        assert isinstance(out, Replay)
        assert out.layer is ReplayLayer.PAYLOAD
        assert out.first_seen is not None
        assert out.first_seen.session == "s1"

    async def test_derived_keys_catch_a_replacement_transaction(self, store: ReplayStore) -> None:
        def action(payload_hash: str) -> Action:
            return Action(
                method="eth_sendTransaction",
                action_class=ActionClass.NATIVE_TRANSFER,
                classes=frozenset({ActionClass.NATIVE_TRANSFER}),
                payload_hash=payload_hash,
                nonces=(ProtocolNonce(NonceKind.CHAIN, ("1", "0xAcc", "7")),),
            )

        policy = ReplayPolicy()
        results = []
        for n in (1, 2):
            request = SigningRequest("eth_sendTransaction", [], 1, "0xacc", request_id=ID0 + n)
            act = action(f"0x{n:064x}")
            keys = derive_keys(
                request, act, topic=TOPIC, relay_message_hash=None, now=NOW, policy=policy
            )
            results.append(
                await store.claim(keys, owner=owner(n, act.payload_hash), budget=None, now=NOW)
            )
        assert isinstance(results[0], Claim)
        assert isinstance(results[1], Replay)
        assert results[1].layer is ReplayLayer.CHAIN_NONCE

    # --- complete / abort ---------------------------------------------------------------------------------

    async def test_abort_releases_keys_and_refunds_the_budget(self, store: ReplayStore) -> None:
        keys = [rpc(1), payload(1), key(ReplayLayer.SIWE_NONCE, "app.example", "n0nce123")]
        won = await store.claim(keys, owner=owner(1), budget=charge("40"), now=NOW)
        assert isinstance(won, Claim)
        assert (await store.usage("env-1", NOW)).spent_usd == Decimal(40)
        assert await store.abort(won, NOW + 1) is True
        assert await store.usage("env-1", NOW + 1) == (Decimal(0), 0)
        assert await store.lookup(TOPIC, ID0 + 1, NOW + 1) is None
        assert await store.abort(won, NOW + 1) is False
        assert await store.complete(won, "{}", NOW + 1) is False
        retry = await store.claim(keys, owner=owner(1), budget=charge("40"), now=NOW + 2)
        assert isinstance(retry, Claim)
        assert retry.claim_id != won.claim_id

    async def test_complete_is_final(self, store: ReplayStore) -> None:
        won = await store.claim([rpc(1)], owner=owner(1), budget=charge("1"), now=NOW)
        assert isinstance(won, Claim)
        assert await store.complete(won, '"first"', NOW) is True
        assert await store.complete(won, '"second"', NOW) is False
        assert await store.abort(won, NOW) is False  # a signed claim is never released
        record = await store.lookup(TOPIC, ID0 + 1, NOW)
        assert record is not None
        assert (record.in_flight, record.result) == (False, '"first"')
        assert record.owner == owner(1)
        assert (await store.usage("env-1", NOW)).calls == 1

    async def test_lookup(self, store: ReplayStore) -> None:
        assert await store.lookup(TOPIC, ID0 + 1, NOW) is None
        await store.claim([rpc(1), payload(1)], owner=owner(1), budget=None, now=NOW)
        record = await store.lookup(TOPIC, ID0 + 1, NOW)
        assert record is not None
        assert record.in_flight is True
        assert record.result is None
        assert record.at == pytest.approx(NOW)
        assert await store.lookup("b" * 64, ID0 + 1, NOW) is None

    # --- budgets ----------------------------------------------------------------------------------------

    async def test_budget_cap_and_usage(self, store: ReplayStore) -> None:
        outcomes = [
            await store.claim([rpc(n)], owner=owner(n), budget=charge("30"), now=NOW + n)
            for n in range(4)
        ]
        assert [type(o) for o in outcomes] == [Claim, Claim, Claim, BudgetExceeded]
        refused = outcomes[3]
        assert isinstance(refused, BudgetExceeded)
        assert refused.spent_usd == Decimal(90)
        assert refused.cap_usd == Decimal(100)
        assert await store.usage("env-1", NOW + 5) == (Decimal(90), 3)
        assert await store.usage("env-2", NOW + 5) == (Decimal(0), 0)
        # exactly up to the cap is allowed; other envelopes are independent
        exact = await store.claim([rpc(10)], owner=owner(10), budget=charge("10"), now=NOW + 6)
        assert isinstance(exact, Claim)
        other = await store.claim(
            [rpc(11)], owner=owner(11), budget=charge("99", env="env-2"), now=NOW
        )
        assert isinstance(other, Claim)

    async def test_fractional_amounts_never_overspend(self, store: ReplayStore) -> None:
        wins = 0
        for n in range(12):
            out = await store.claim(
                [rpc(n)], owner=owner(n), budget=charge("0.1000001", cap="1"), now=NOW
            )
            wins += isinstance(out, Claim)
        assert wins == 9  # 10 x 0.1000001 > 1

    async def test_budget_is_a_rolling_window(self, store: ReplayStore) -> None:
        await store.claim([rpc(1)], owner=owner(1), budget=charge("60", period_s=100), now=NOW)
        await store.claim([rpc(2)], owner=owner(2), budget=charge("40", period_s=100), now=NOW + 50)
        late = await store.claim(
            [rpc(3)], owner=owner(3), budget=charge("50", period_s=100), now=NOW + 99
        )
        assert isinstance(late, BudgetExceeded)
        freed = await store.claim(
            [rpc(4)], owner=owner(4), budget=charge("50", period_s=100), now=NOW + 101
        )
        assert isinstance(freed, Claim)
        assert await store.usage("env-1", NOW + 101) == (Decimal(90), 2)

    async def test_replay_is_checked_before_the_budget(self, store: ReplayStore) -> None:
        await store.claim([payload(1)], owner=owner(1), budget=charge("100"), now=NOW)
        out = await store.claim([payload(1)], owner=owner(2), budget=charge("100"), now=NOW)
        assert isinstance(out, Replay)

    async def test_concurrent_claims_cannot_overspend(self, store: ReplayStore) -> None:
        outcomes = await asyncio.gather(
            *(
                store.claim([rpc(n), payload(n)], owner=owner(n), budget=charge("7"), now=NOW)
                for n in range(40)
            )
        )
        wins = [o for o in outcomes if isinstance(o, Claim)]
        assert len(wins) == 14  # 14 x 7 = 98 <= 100 < 105
        assert all(isinstance(o, BudgetExceeded) for o in outcomes if not isinstance(o, Claim))
        assert await store.usage("env-1", NOW) == (Decimal(98), 14)

    async def test_concurrent_claims_of_one_key_have_one_winner(
        self, store: ReplayStore, peer: ReplayStore
    ) -> None:
        shared = key(ReplayLayer.PERMIT2_BIT, 1, "0xacc", 0, 1)
        outcomes = await asyncio.gather(
            *(
                (store if n % 2 else peer).claim(
                    [rpc(n), shared], owner=owner(n), budget=None, now=NOW
                )
                for n in range(30)
            )
        )
        assert sum(isinstance(o, Claim) for o in outcomes) == 1
        replays = [o for o in outcomes if isinstance(o, Replay)]
        assert len(replays) == 29
        assert {r.layer for r in replays} == {ReplayLayer.PERMIT2_BIT}

    async def test_replicas_receiving_one_request_answer_once(
        self, store: ReplayStore, peer: ReplayStore
    ) -> None:
        keys = [rpc(1), payload(1)]
        outcomes = await asyncio.gather(
            *(
                (store if n % 2 else peer).claim(keys, owner=owner(1), budget=charge("5"), now=NOW)
                for n in range(10)
            )
        )
        assert sum(isinstance(o, Claim) for o in outcomes) == 1
        assert sum(isinstance(o, Duplicate) and o.in_flight for o in outcomes) == 9
        assert (await peer.usage("env-1", NOW)).calls == 1

    # --- TTL, purge, bounded growth -----------------------------------------------------------------------

    async def test_keys_expire_after_their_ttl(self, store: ReplayStore) -> None:
        short = key(ReplayLayer.SIWE_NONCE, "app.example", "abcdefgh", ttl_s=10)
        long = key(ReplayLayer.CHAIN_NONCE, 1, "0xacc", 1, ttl_s=1000)
        await store.claim([short, long], owner=owner(1), budget=None, now=NOW)
        held = await store.claim([short], owner=owner(2), budget=None, now=NOW + 9)
        assert isinstance(held, Replay)
        free = await store.claim([short], owner=owner(3), budget=None, now=NOW + 11)
        assert isinstance(free, Claim)
        still = await store.claim([long], owner=owner(4), budget=None, now=NOW + 11)
        assert isinstance(still, Replay)

    async def test_purge_keeps_the_store_bounded(self, store: ReplayStore) -> None:
        for n in range(60):
            out = await store.claim(
                [rpc(n, ttl_s=30 + n), payload(n, ttl_s=30 + n)],
                owner=owner(n),
                budget=charge("0.01", period_s=30 + n),
                now=NOW,
            )
            assert isinstance(out, Claim)
        assert await store.size() == 60 * 4  # two keys, one claim, one charge each
        removed = await store.purge(NOW + 44.5)  # entries of claims 0..14 have expired
        assert removed == 15 * 4
        assert await store.size() == 45 * 4
        assert await store.purge(NOW + 44.5) == 0
        assert await store.usage("env-1", NOW + 44.5) == (Decimal("0.45"), 45)
        assert await store.purge(NOW + 200) == 45 * 4
        assert await store.size() == 0
        assert await store.usage("env-1", NOW + 200) == (Decimal(0), 0)

    async def test_a_crashed_claim_stays_held_until_its_ttl(self, store: ReplayStore) -> None:
        keys = [rpc(1, ttl_s=50), payload(1, ttl_s=50)]
        assert isinstance(await store.claim(keys, owner=owner(1), budget=None, now=NOW), Claim)
        # the owner never completes: a retry gets "in flight / unknown outcome", never a new claim
        retry = await store.claim(keys, owner=owner(1), budget=None, now=NOW + 49)
        assert isinstance(retry, Duplicate)
        assert retry.in_flight
        other = await store.claim([payload(1, ttl_s=50)], owner=owner(2), budget=None, now=NOW + 49)
        assert isinstance(other, Replay)
        assert isinstance(await store.claim(keys, owner=owner(1), budget=None, now=NOW + 51), Claim)
