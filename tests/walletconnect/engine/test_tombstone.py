"""WalletEngine.revoke: a revoked session's topic stays watched (a tombstone) until it would have expired."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pytest
from wc_engine_pair import ACCOUNT, EnginePair, settled_pair

from walletconnect.engine.commands import Publish, Subscribe, Unsubscribe
from walletconnect.engine.events import (
    RequestReceived,
    ResponseReceived,
    RevokedRequestReceived,
    SessionDeleted,
)
from walletconnect.engine.wallet import WalletEngine
from walletconnect.envelope import open_envelope, seal
from walletconnect.errors import LocalProtocolError, SdkErrorInfo
from walletconnect.storage import Delete, RecordKind

REASON = SdkErrorInfo(6000, "Session revoked (policy): replay attempt")


def _of(events: Sequence[object], kind: type) -> list:  # type: ignore[type-arg]
    return [e for e in events if isinstance(e, kind)]


def settled() -> tuple[EnginePair, str, bytes]:
    pair, topic = settled_pair(drain=True)
    return pair, topic, pair.wallet._sym_keys[topic]


def raw_request(pair: EnginePair, topic: str, key: bytes, rpc_id: int) -> str:
    """A wc_sessionRequest sealed with the session key, as a dApp ignoring the deletion sends it."""
    body = {
        "id": rpc_id,
        "jsonrpc": "2.0",
        "method": "wc_sessionRequest",
        "params": {
            "request": {"method": "personal_sign", "params": ["0x01", ACCOUNT]},
            "chainId": "eip155:1",
        },
    }
    return seal(json.dumps(body), key)


def wallet_answers(pair: EnginePair, key: bytes) -> list[dict]:  # type: ignore[type-arg]
    return [
        json.loads(open_envelope(c.message, key))
        for c in pair.commands["wallet"]
        if isinstance(c, Publish) and c.tag == 1109
    ]


def test_revoke_notifies_dapp_keeps_watching_and_refuses_later_requests() -> None:
    pair, topic, key = settled()
    assert pair.wallet.revoke(topic, pair.now, reason=REASON, watch_until=pair.now + 3600)
    pair.pump()
    [deleted] = _of(pair.take("dapp"), SessionDeleted)
    assert (deleted.code, deleted.message) == (6000, REASON.message)
    assert topic not in pair.dapp.sessions
    [gone] = _of(pair.take("wallet"), SessionDeleted)
    assert gone.topic == topic
    assert topic not in pair.wallet.sessions
    assert topic in pair.wallet.tombstones
    assert topic in pair.wallet.topics()
    assert not any(isinstance(c, Unsubscribe) for c in pair.commands["wallet"])
    changes = pair.wallet.changes_to_persist()
    assert Delete(RecordKind.SYM_KEY, topic) not in changes

    pair.deliver("wallet", topic, raw_request(pair, topic, key, 77))
    events = pair.take("wallet")
    assert _of(events, RequestReceived) == []
    [revoked] = _of(events, RevokedRequestReceived)
    assert (revoked.id, revoked.method, revoked.chain_id, revoked.code) == (
        77,
        "personal_sign",
        "eip155:1",
        6000,
    )
    with pytest.raises(LocalProtocolError):
        pair.wallet.respond(topic, 77, pair.now, result="0xsig")  # never a result
    pair.wallet.respond(topic, 77, pair.now, error={"code": 5020, "message": "revoked"})
    pair.pump()
    assert wallet_answers(pair, key) == [
        {"id": 77, "jsonrpc": "2.0", "error": {"code": 5020, "message": "revoked"}}
    ]
    # a duplicate delivery is not a second attempt: the stored answer is re-sent
    pair.deliver("wallet", topic, raw_request(pair, topic, key, 77))
    assert _of(pair.take("wallet"), RevokedRequestReceived) == []


def test_tombstone_expires_then_topic_is_forgotten() -> None:
    pair, topic, key = settled()
    pair.wallet.revoke(topic, pair.now, reason=REASON, watch_until=pair.now + 60)
    pair.pump()
    assert pair.wallet.next_deadline() == pair.now + 60
    pair.advance(61)
    assert topic not in pair.wallet.tombstones
    assert topic not in pair.wallet._sym_keys
    assert Unsubscribe(topic) in pair.commands["wallet"]
    pair.wallet.receive_message(topic, raw_request(pair, topic, key, 5), pair.now, pair.now)
    assert _of(pair.wallet.events_received(), RevokedRequestReceived) == []


def test_revoke_without_notify_sends_nothing_and_pending_may_only_get_an_error() -> None:
    pair, topic, _key = settled()
    rid = pair.dapp.request(topic, "eip155:1", "personal_sign", ["0x01", ACCOUNT], pair.now)
    pair.pump()
    assert len(_of(pair.take("wallet"), RequestReceived)) == 1
    before = len(pair.commands["wallet"])
    pair.wallet.revoke(topic, pair.now, reason=REASON, watch_until=pair.now + 60, notify=False)
    pair.pump()
    assert not any(isinstance(c, Publish) for c in pair.commands["wallet"][before:])
    assert topic in pair.dapp.sessions  # the other instance told the dApp, not this one
    assert pair.wallet.is_revoked_pending(topic, rid)
    with pytest.raises(LocalProtocolError):
        pair.wallet.respond(topic, rid, pair.now, result="0xsig")
    pair.wallet.respond(topic, rid, pair.now, error={"code": 5020, "message": "revoked"})
    pair.pump()
    [resp] = _of(pair.take("dapp"), ResponseReceived)
    assert resp.error == {"code": 5020, "message": "revoked"}


def test_watch_revoked_after_restart() -> None:
    pair, topic, key = settled()
    pair.wallet.revoke(topic, pair.now, reason=REASON, watch_until=pair.now + 600)
    pair.pump()
    snapshot = pair.wallet.snapshot()
    assert topic in snapshot.sym_keys
    assert topic not in snapshot.sessions
    fresh = WalletEngine()
    fresh.restore(snapshot)
    assert topic not in fresh.topics()
    assert fresh.watch_revoked(topic, pair.now, reason=REASON, watch_until=pair.now + 600)
    assert Subscribe(topic) in fresh.messages_to_send()
    fresh.receive_message(topic, raw_request(pair, topic, key, 9), pair.now, pair.now)
    assert [e.id for e in _of(fresh.events_received(), RevokedRequestReceived)] == [9]
    # past its time: the key is forgotten instead
    other = WalletEngine()
    other.restore(snapshot)
    assert not other.watch_revoked(topic, pair.now + 601, reason=REASON, watch_until=pair.now + 600)
    assert topic not in other._sym_keys
    assert not other.watch_revoked("ab" * 32, pair.now, reason=REASON, watch_until=pair.now + 1)


def test_revoke_unknown_topic_is_a_no_op() -> None:
    pair, topic, _key = settled()
    assert not pair.wallet.revoke("cd" * 32, pair.now, reason=REASON, watch_until=pair.now + 1)
    pair.wallet.revoke(topic, pair.now, reason=REASON, watch_until=pair.now + 1)
    assert not pair.wallet.revoke(topic, pair.now, reason=REASON, watch_until=pair.now + 1)
