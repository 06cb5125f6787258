"""One contract every WalletConnectStore backend must pass (memory, SQLite, Redis).

Subclass :class:`StoreContract` and provide ``make_store(namespace)``, an async factory that
returns a store on the *same* backing data for the same namespace (so a "restart" is a new
store object over the same data).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from walletconnect.engine.records import (
    HistoryRecord,
    PairingRecord,
    PairingState,
    PendingRequest,
    ProposalRecord,
    Role,
    SessionRecord,
    SessionState,
    VerifyContext,
)
from walletconnect.storage import (
    CLIENT_SEED_KEY,
    Delete,
    Put,
    RecordKind,
    StoreChange,
    WalletConnectStore,
)

TOPIC = "ab" * 32
TOPIC2 = "cd" * 32

PAIRING = PairingRecord(TOPIC, 1_700_000_300, PairingState.ACTIVE, "irn", {"name": "d"}, ("a",))
SESSION = SessionRecord(
    topic=TOPIC2,
    pairing_topic=TOPIC,
    role=Role.WALLET,
    self_public_key="11" * 32,
    peer_public_key="22" * 32,
    controller_public_key="11" * 32,
    namespaces={
        "eip155": {"accounts": ["eip155:1:0xabc"], "methods": ["personal_sign"], "events": []}
    },
    expiry=1_700_604_800,
    self_metadata={"name": "w"},
    peer_metadata={"name": "d", "icons": ["ü"]},
    state=SessionState.SETTLED,
    session_properties={"k": "v"},
)
PROPOSAL = ProposalRecord(
    id=1_700_000_000_000_100,
    pairing_topic=TOPIC,
    proposer_public_key="33" * 32,
    proposer_metadata={"name": "d"},
    required_namespaces={},
    optional_namespaces={"eip155": {"chains": ["eip155:1"], "methods": [], "events": []}},
    expiry=1_700_000_300,
    verify_context=VerifyContext(origin="https://d.example"),
)
HISTORY = HistoryRecord(
    TOPIC2,
    1_700_000_000_000_200,
    "wc_sessionRequest",
    "in",
    1_800_000_000,
    True,
    '{"id":1}',
    1109,
    900,
)
PENDING = PendingRequest(
    TOPIC2,
    1_700_000_000_000_300,
    "personal_sign",
    ["0x", "0xabc"],
    "eip155:1",
    1_700_000_900,
    1_700_000_000.5,
)

ALL: list[StoreChange] = [
    Put(RecordKind.CLIENT_SEED, CLIENT_SEED_KEY, b"\x01" * 32),
    Put(RecordKind.SYM_KEY, TOPIC, b"\x02" * 32),
    Put(RecordKind.PRIVATE_KEY, "11" * 32, b"\x03" * 32),
    Put(RecordKind.PAIRING, TOPIC, PAIRING),
    Put(RecordKind.SESSION, TOPIC2, SESSION),
    Put(RecordKind.PROPOSAL, str(PROPOSAL.id), PROPOSAL),
    Put(RecordKind.HISTORY, HISTORY.key, HISTORY),
    Put(RecordKind.PENDING_REQUEST, f"{TOPIC2}:{PENDING.id}", PENDING),
]

Factory = Callable[[str], Awaitable[WalletConnectStore]]


class StoreContract:
    """The conformance suite (async tests; asyncio_mode=auto)."""

    @pytest.fixture
    def make_store(self) -> Factory:  # pragma: no cover - overridden
        raise NotImplementedError

    async def test_is_a_store(self, make_store: Factory) -> None:
        store = await make_store("ns")
        assert isinstance(store, WalletConnectStore)
        await store.close()

    async def test_empty_load(self, make_store: Factory) -> None:
        store = await make_store("empty")
        snap = await store.load()
        assert snap.client_seed is None
        assert (snap.sessions, snap.pairings, snap.history, snap.pending_requests) == (
            {},
            {},
            {},
            {},
        )
        await store.close()

    async def test_round_trip_every_kind_across_restart(self, make_store: Factory) -> None:
        store = await make_store("rt")
        await store.apply(ALL)
        await store.close()
        again = await make_store("rt")
        snap = await again.load()
        assert snap.client_seed == b"\x01" * 32
        assert snap.sym_keys == {TOPIC: b"\x02" * 32}
        assert snap.private_keys == {"11" * 32: b"\x03" * 32}
        assert snap.pairings == {TOPIC: PAIRING}
        assert snap.sessions == {TOPIC2: SESSION}
        assert snap.proposals == {PROPOSAL.id: PROPOSAL}
        assert snap.history == {HISTORY.key: HISTORY}
        assert snap.pending_requests == {f"{TOPIC2}:{PENDING.id}": PENDING}
        assert await again.get(RecordKind.SESSION, TOPIC2) == SESSION
        assert await again.get(RecordKind.SESSION, "ff" * 32) is None
        await again.close()

    async def test_delete_and_overwrite_in_order(self, make_store: Factory) -> None:
        store = await make_store("del")
        await store.apply(ALL)
        newer = PAIRING.__class__(TOPIC, 1, PairingState.INACTIVE)
        await store.apply(
            [
                Delete(RecordKind.SESSION, TOPIC2),
                Put(RecordKind.PAIRING, TOPIC, newer),
                Put(RecordKind.SYM_KEY, TOPIC2, b"\x09" * 32),
                Delete(RecordKind.SYM_KEY, TOPIC2),
                Delete(RecordKind.CLIENT_SEED, CLIENT_SEED_KEY),
                Delete(RecordKind.HISTORY, "nope:1"),
            ]
        )
        snap = await store.load()
        assert snap.sessions == {}
        assert snap.pairings == {TOPIC: newer}
        assert TOPIC2 not in snap.sym_keys
        assert snap.client_seed is None
        await store.close()

    async def test_apply_is_atomic(self, make_store: Factory) -> None:
        store = await make_store("atomic")
        await store.apply([Put(RecordKind.PAIRING, TOPIC, PAIRING)])
        bad: list[StoreChange] = [
            Delete(RecordKind.PAIRING, TOPIC),
            Put(RecordKind.SESSION, TOPIC2, "not a record"),  # type: ignore[arg-type]
        ]
        with pytest.raises(TypeError):
            await store.apply(bad)
        assert (await store.load()).pairings == {TOPIC: PAIRING}
        await store.close()

    async def test_namespaces_are_isolated(self, make_store: Factory) -> None:
        a = await make_store("iso-a")
        b = await make_store("iso-b")
        await a.apply(ALL)
        assert (await b.load()).sessions == {}
        assert await b.get(RecordKind.SESSION, TOPIC2) is None
        await a.close()
        await b.close()

    async def test_concurrent_applies_all_land(self, make_store: Factory) -> None:
        store = await make_store("conc")
        changes = [[Put(RecordKind.SYM_KEY, f"{i:064x}", bytes([i]) * 32)] for i in range(40)]
        await asyncio.gather(*(store.apply(c) for c in changes))
        assert len((await store.load()).sym_keys) == 40
        await store.close()
