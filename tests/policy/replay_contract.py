"""The one ReplayStore contract suite: every backend (memory, SQLite, Redis) subclasses it.

A backend's test module defines ``class TestXxx(ReplayStoreContract)`` with two async fixtures:
``store`` (a fresh, empty store) and ``peer`` (a second handle on the same storage: another
connection / client, as a second replica would have; the memory store returns itself), and
``class TestXxxRevocation(RevocationContract)`` with the same two plus ``reopen`` (a fresh handle
after ``store.close()``, as after a restart).
It lives beside the policy tests, not on sys.path: load it by file path, as the backend test
modules do (``importlib.util.spec_from_file_location``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
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
from policy.revocation import (
    BINDING_RETENTION_S,
    REVOCATION_MARGIN_S,
    UNBOUND_SESSION_TTL_S,
    Freeze,
    Frozen,
    Revocation,
    RevocationPath,
    Revoked,
    SessionBinding,
    revocation_keep_until,
)

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

    async def test_decided_hears_every_outcome_once_before_claim_returns(
        self, store: ReplayStore
    ) -> None:
        heard: list[object] = []
        won = await store.claim(
            [rpc(1), payload(1)], owner=owner(1), budget=None, now=NOW, decided=heard.append
        )
        assert isinstance(won, Claim)
        assert heard == [won]
        refused = await store.claim(
            [rpc(2), payload(1)], owner=owner(2), budget=None, now=NOW, decided=heard.append
        )
        assert isinstance(refused, Replay)
        assert heard == [won, refused]

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


# --- revocation, freeze, session bindings (issue 8) ---------------------------------------------------


def revocation(
    session: str | None = "s1",
    *,
    at: float = NOW,
    reason: str = "user asked",
    path: RevocationPath = RevocationPath.USER,
) -> Revocation:
    rule = "replay_attempt" if path is RevocationPath.POLICY else None
    return Revocation(session, path, rule, "alice", reason, at, at - 0.25)


def binding(
    session: str = "s1",
    *,
    dapp: str = "https://app.example",
    approved_at: float = NOW - 100,
    expires_at: int = int(NOW) + 7 * 86_400,
) -> SessionBinding:
    return SessionBinding(
        session=session,
        envelope={"version": 1, "chains": ["eip155:1"], "caps": {"usd": "100.5"}},
        envelope_id=f"env-{session}",
        rule="default",
        dapp=dapp,
        dapp_name="Example App",
        approved_at=approved_at,
        expires_at=expires_at,
        action_classes=("native_transfer", "swap"),
        accounts=("eip155:1:0xacc",),
        chain="eip155:1",
    )


async def wait_until(predicate: Callable[[], bool], timeout_s: float = 10.0) -> None:
    """Yield to the loop until ``predicate()`` holds (bounded)."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.001)


class RevocationContract:
    """Revocation behaviour every ReplayStore must show; subclasses provide ``store``, ``peer`` and
    ``reopen`` (an async callable returning a fresh handle on the same storage, as after a restart)."""

    @pytest.fixture
    async def store(self) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError

    @pytest.fixture
    async def peer(self, store: ReplayStore) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError

    @pytest.fixture
    def reopen(self, store: ReplayStore) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError

    async def test_a_revoked_session_claims_nothing(
        self, store: ReplayStore, peer: ReplayStore
    ) -> None:
        before = await store.claim(
            [rpc(0)], owner=owner(0), budget=charge("1"), now=NOW, session="s1"
        )
        assert isinstance(before, Claim)
        assert await store.revoke(revocation("s1")) is True
        keys = [rpc(1), payload(1), key(ReplayLayer.CHAIN_NONCE, 1, "0xacc", 9)]
        for handle in (store, peer):
            out = await handle.claim(
                keys, owner=owner(1), budget=charge("5"), now=NOW + 1, session="s1"
            )
            assert isinstance(out, Revoked)
            assert out.revocation == revocation("s1")
        # nothing was held nor charged: another session claims the very same keys
        assert await store.usage("env-1", NOW + 1) == (Decimal(1), 1)
        assert await store.lookup(TOPIC, ID0 + 1, NOW + 1) is None
        other = await peer.claim(
            keys, owner=owner(1, session="s2"), budget=charge("5"), now=NOW + 1, session="s2"
        )
        assert isinstance(other, Claim)
        # without session= the claim keeps its old behaviour (no revocation check)
        plain = await store.claim([rpc(2)], owner=owner(2), budget=None, now=NOW + 1)
        assert isinstance(plain, Claim)

    async def test_the_first_revocation_wins(self, store: ReplayStore, peer: ReplayStore) -> None:
        first = revocation("s1", path=RevocationPath.POLICY, reason="replay")
        assert await store.revoke(first) is True
        assert await peer.revoke(revocation("s1", at=NOW + 5, reason="later")) is False
        assert await peer.revocation("s1") == first
        assert await store.revocation("s2") is None
        assert await peer.revocations() == [first]
        await store.revoke(revocation("s0", at=NOW - 10))
        assert [r.session for r in await peer.revocations()] == ["s0", "s1"]

    async def test_freeze_refuses_every_claim_and_unfreeze_keeps_revocations(
        self, store: ReplayStore, peer: ReplayStore
    ) -> None:
        await store.revoke(revocation("s1"))
        stop = Freeze("ops", "key compromise suspected", NOW + 1)
        assert await peer.frozen() is None
        assert await store.freeze(stop) is True
        assert await peer.freeze(Freeze("bob", "again", NOW + 2)) is False
        assert await peer.frozen() == stop
        for session in ("s1", "s2", None):
            out = await peer.claim(
                [rpc(3), payload(3)],
                owner=owner(3),
                budget=charge("5"),
                now=NOW + 3,
                session=session,
            )
            assert out == Frozen(stop)
        assert await store.usage("env-1", NOW + 3) == (Decimal(0), 0)
        assert await store.lookup(TOPIC, ID0 + 3, NOW + 3) is None
        assert await peer.unfreeze("ops", "all clear", NOW + 4) == stop
        assert await store.unfreeze("ops", "twice", NOW + 5) is None
        assert await store.frozen() is None
        s2 = await store.claim([rpc(3)], owner=owner(3), budget=None, now=NOW + 6, session="s2")
        assert isinstance(s2, Claim)
        s1 = await store.claim([rpc(4)], owner=owner(4), budget=None, now=NOW + 6, session="s1")
        assert isinstance(s1, Revoked)

    async def test_bindings_are_kept_ended_once_and_replaced(
        self, store: ReplayStore, peer: ReplayStore
    ) -> None:
        first, second = binding("s1"), binding("s2", approved_at=NOW - 500)
        await store.bind(first)
        await store.bind(second)
        assert await peer.binding("s1") == first
        assert await peer.binding("nope") is None
        assert await peer.bindings() == [second, first]  # by approval time
        assert await peer.end_binding("s1", "disconnect", NOW + 10) is True
        assert await store.end_binding("s1", "expiry", NOW + 20) is False
        assert await store.end_binding("nope", "expiry", NOW) is False
        ended = await store.binding("s1")
        assert ended is not None
        assert (ended.ended_at, ended.end) == (NOW + 10, "disconnect")
        assert ended.envelope == first.envelope
        extended = binding("s2", approved_at=NOW - 500, expires_at=int(NOW) + 9 * 86_400)
        await peer.bind(extended)
        assert await store.binding("s2") == extended

    async def test_revoke_ends_the_binding_and_revoke_all_takes_every_live_session(
        self, store: ReplayStore, peer: ReplayStore
    ) -> None:
        await store.bind(binding("a1", approved_at=NOW - 30))
        await store.bind(binding("a2", approved_at=NOW - 20))
        await store.bind(binding("b1", dapp="https://other.example", approved_at=NOW - 10))
        await store.bind(binding("old", expires_at=int(NOW) - 1))
        assert await store.revoke(revocation("a1", at=NOW)) is True
        a1 = await peer.binding("a1")
        assert a1 is not None
        assert (a1.ended_at, a1.end) == (NOW, "revoked")
        by_dapp = await peer.revoke_all(revocation(None, at=NOW + 1), dapp="https://app.example")
        assert by_dapp == ["a2"]  # a1 was already revoked, "old" has expired
        rest = await store.revoke_all(revocation(None, at=NOW + 2, path=RevocationPath.EMERGENCY))
        assert rest == ["b1"]
        assert await store.revoke(revocation(None, at=NOW + 3)) is False  # nothing left
        records = {r.session: r for r in await peer.revocations()}
        assert set(records) == {"a1", "a2", "b1"}
        # the "all" revocation is recorded per session
        assert records["b1"] == revocation("b1", at=NOW + 2, path=RevocationPath.EMERGENCY)
        for session in ("a1", "a2", "b1"):
            out = await peer.claim(
                [rpc(7)], owner=owner(7), budget=None, now=NOW + 4, session=session
            )
            assert isinstance(out, Revoked)
        old = await store.claim([rpc(7)], owner=owner(7), budget=None, now=NOW + 4, session="old")
        assert isinstance(old, Claim)

    async def test_revocations_outlive_their_session_and_bindings_are_purged(
        self, store: ReplayStore
    ) -> None:
        expires = int(NOW) + 1000
        await store.bind(binding("bound", expires_at=expires))
        await store.revoke(revocation("bound"))
        await store.revoke(revocation("unbound"))
        await store.bind(binding("alive", expires_at=expires))
        assert await store.size() == 4  # two revocations, two bindings
        bound_keep = expires + REVOCATION_MARGIN_S
        assert bound_keep == revocation_keep_until(NOW, expires)
        await store.purge(bound_keep - 1)
        assert {r.session for r in await store.revocations()} == {"bound", "unbound"}
        assert await store.purge(bound_keep) == 1
        assert await store.revocation("bound") is None
        # the bindings: kept until expiry + retention (ended or not), then purged
        assert {b.session for b in await store.bindings()} == {"bound", "alive"}
        await store.purge(expires + BINDING_RETENTION_S - 1)
        assert len(await store.bindings()) == 2
        assert await store.purge(expires + BINDING_RETENTION_S) == 2
        assert await store.bindings() == []
        unbound_keep = revocation_keep_until(NOW, None)
        assert unbound_keep == NOW + UNBOUND_SESSION_TTL_S + REVOCATION_MARGIN_S
        await store.purge(unbound_keep - 1)
        assert await store.revocation("unbound") is not None
        out = await store.claim(
            [rpc(1)], owner=owner(1), budget=None, now=unbound_keep - 1, session="unbound"
        )
        assert isinstance(out, Revoked)
        assert await store.purge(unbound_keep) == 1
        assert await store.size() == 0

    async def test_rebinding_a_revoked_session_extends_its_revocation(
        self, store: ReplayStore
    ) -> None:
        await store.bind(binding("s1", expires_at=int(NOW) + 1000))
        await store.revoke(revocation("s1"))
        later = int(NOW) + 90 * 86_400  # extended far beyond the unbound default
        await store.bind(binding("s1", expires_at=later))
        await store.purge(later + REVOCATION_MARGIN_S - 1)
        assert await store.revocation("s1") is not None
        assert await store.purge(later + REVOCATION_MARGIN_S) >= 1
        assert await store.revocation("s1") is None

    async def test_events_reach_another_handle_in_order(
        self, store: ReplayStore, peer: ReplayStore
    ) -> None:
        _none, cursor = await peer.events_since(None)
        assert _none == []
        revoked = revocation("s1")
        stop = Freeze("ops", "incident", NOW + 1)
        assert await store.revoke(revoked)
        assert not await store.revoke(revocation("s1"))  # no event for a refused revoke
        await store.freeze(stop)
        await store.freeze(stop)
        await store.unfreeze("ops", "resolved", NOW + 2)
        events, head = await peer.events_since(cursor)
        assert [e["kind"] for e in events] == ["revoke", "freeze", "unfreeze"]
        seqs = [e["seq"] for e in events]
        assert seqs == sorted(seqs)
        assert len(set(seqs)) == 3
        assert head == seqs[-1]
        assert events[0]["revocation"] == revoked.to_dict()
        assert Revocation.from_dict(events[0]["revocation"]) == revoked
        assert events[1]["freeze"] == stop.to_dict()
        assert events[2]["freeze"] == stop.to_dict()
        assert events[2]["by"] == Freeze("ops", "resolved", NOW + 2).to_dict()
        assert await peer.events_since(head) == ([], head)
        assert (await store.events_since(None))[1] == head
        assert (await peer.events_since(seqs[0]))[0] == events[1:]

    async def test_revocations_and_bindings_survive_a_restart(
        self, store: ReplayStore, reopen: Callable[[], Awaitable[ReplayStore]]
    ) -> None:
        first = binding("s1")
        await store.bind(first)
        await store.bind(binding("s2"))
        await store.revoke(revocation("s1"))
        await store.end_binding("s2", "disconnect", NOW + 1)
        stop = Freeze("ops", "incident", NOW + 2)
        await store.freeze(stop)
        await store.close()
        again = await reopen()
        try:
            assert await again.revocation("s1") == revocation("s1")
            assert await again.frozen() == stop
            assert await again.unfreeze("ops", "ok", NOW + 3) == stop
            out = await again.claim(
                [rpc(1)], owner=owner(1), budget=None, now=NOW + 4, session="s1"
            )
            assert isinstance(out, Revoked)
            s1, s2 = await again.bindings()
            assert (s1.end, s2.end) == ("revoked", "disconnect")
            assert s1.envelope == first.envelope
        finally:
            await again.close()

    async def test_claims_racing_a_revoke_never_win_after_it_returned(
        self, store: ReplayStore, peer: ReplayStore
    ) -> None:
        done = False
        results: list[tuple[bool, object]] = []

        async def claimer(handle: ReplayStore, base: int) -> None:
            after = 0
            for i in range(400):
                started_after = done
                out = await handle.claim(
                    [rpc(base + i), payload(base + i)],
                    owner=owner(base + i),
                    budget=charge("0.01", cap="1000"),
                    now=NOW,
                    session="s1",
                )
                results.append((started_after, out))
                after += started_after
                if after >= 15:
                    return
                await asyncio.sleep(0)

        async def revoker() -> None:
            nonlocal done
            await wait_until(lambda: len(results) >= 12)
            assert await store.revoke(revocation("s1"))
            done = True

        await asyncio.gather(
            claimer(store, 0), claimer(peer, 1000), claimer(store, 2000), revoker()
        )
        after = [out for started_after, out in results if started_after]
        assert len(after) >= 45
        assert all(isinstance(out, Revoked) for out in after)
        wins = [out for started_after, out in results if isinstance(out, Claim)]
        assert len(wins) >= 12  # the race was real: claims won before the revocation
        assert (await store.usage("env-1", NOW)).calls == len(wins)

    async def test_watch_delivers_a_revocation_to_another_handle(
        self, store: ReplayStore, peer: ReplayStore
    ) -> None:
        from proxy.stores.watch import watch_events

        _events, cursor = await peer.events_since(None)
        stream = watch_events(peer, cursor=cursor)

        async def first_two() -> list[dict[str, Any]]:
            seen = []
            async for event in stream:
                seen.append(event)
                if len(seen) == 2:
                    break
            return seen

        task = asyncio.create_task(first_two())
        await asyncio.sleep(0.05)
        loop = asyncio.get_running_loop()
        started = loop.time()
        await store.revoke(revocation("s9"))
        await store.freeze(Freeze("ops", "incident", NOW))
        try:
            events = await asyncio.wait_for(task, 5)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await stream.aclose()  # type: ignore[attr-defined]
        assert loop.time() - started < 2.0
        assert [e["kind"] for e in events] == ["revoke", "freeze"]
        assert events[0]["revocation"]["session"] == "s9"
