"""A wc_sessionRequest reusing a JSON-RPC id: duplicate (same content) vs replay (other content)."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from wc_engine_pair import ACCOUNT, EnginePair, settled_pair

from walletconnect.engine.commands import Publish
from walletconnect.engine.core import EngineConfig
from walletconnect.engine.events import (
    MessageDropped,
    RequestIdReused,
    RequestReceived,
    ResponseReceived,
)
from walletconnect.engine.history import content_hash
from walletconnect.engine.wallet import WalletEngine
from walletconnect.envelope import open_envelope, seal
from walletconnect.errors import LocalProtocolError
from walletconnect.storage import RecordKind, decode_value, encode_value

REFUSAL = {"code": 5010, "message": "Replay refused (rpc_id): id reused", "data": {"x": 1}}


def _of(events: list[object], kind: type) -> list[Any]:
    return [e for e in events if isinstance(e, kind)]


def _first_request(pair: EnginePair, topic: str) -> tuple[int, str, bytes]:
    """The dApp sends personal_sign; returns (id, plaintext, session key). Not answered yet."""
    rid = pair.dapp.request(topic, "eip155:1", "personal_sign", ["0x01", ACCOUNT], pair.now)
    pair.pump()
    key = pair.wallet._sym_keys[topic]
    [cmd] = [
        c
        for c in pair.commands["dapp"]
        if isinstance(c, Publish) and c.tag == 1108 and c.correlation_id == rid
    ]
    return rid, open_envelope(cmd.message, key), key


def _with_params(plaintext: str, params: list[Any]) -> str:
    doc = json.loads(plaintext)
    doc["params"]["request"]["params"] = params
    return json.dumps(doc)


def _wallet_replies(pair: EnginePair, topic: str, key: bytes, start: int) -> list[dict[str, Any]]:
    return [
        json.loads(open_envelope(c.message, key))
        for c in pair.commands["wallet"][start:]
        if isinstance(c, Publish) and c.topic == topic and c.tag == 1109
    ]


def test_content_hash_ignores_key_order_and_spacing() -> None:
    a = content_hash("wc_sessionRequest", {"chainId": "eip155:1", "request": {"a": 1, "b": [2]}})
    b = content_hash("wc_sessionRequest", {"request": {"b": [2], "a": 1}, "chainId": "eip155:1"})
    assert a == b
    assert len(a) == 64
    assert a != content_hash("wc_sessionRequest", {"chainId": "eip155:5", "request": {"a": 1}})
    assert a != content_hash("wc_sessionPing", {"chainId": "eip155:1", "request": {"a": 1}})


def test_same_id_same_content_reencrypted_is_a_duplicate() -> None:
    pair, topic = settled_pair(drain=True)
    rid, text, key = _first_request(pair, topic)
    assert len(_of(pair.take("wallet"), RequestReceived)) == 1
    pair.wallet.respond(topic, rid, pair.now, result="0xsig")
    pair.pump()
    start = len(pair.commands["wallet"])
    # Same content, other JSON spelling (key order, spaces) and a fresh IV.
    respelled = json.dumps(json.loads(text), sort_keys=True, indent=1)
    pair.deliver("wallet", topic, seal(respelled, key))
    events = pair.take("wallet")
    assert _of(events, RequestReceived) == []
    assert _of(events, RequestIdReused) == []
    assert [e.reason for e in _of(events, MessageDropped)] == ["duplicate"]
    assert _wallet_replies(pair, topic, key, start) == [
        {"id": rid, "jsonrpc": "2.0", "result": "0xsig"}
    ]


def test_same_id_other_params_is_a_reused_id_never_handled() -> None:
    pair, topic = settled_pair(drain=True)
    rid, text, key = _first_request(pair, topic)
    pair.take("wallet")
    pair.wallet.respond(topic, rid, pair.now, result="0xsig")
    pair.pump()
    pair.take("dapp")
    start = len(pair.commands["wallet"])
    pair.now += 5
    pair.deliver("wallet", topic, seal(_with_params(text, ["0x02", ACCOUNT]), key))
    events = pair.take("wallet")
    assert _of(events, RequestReceived) == []
    assert _of(events, MessageDropped) == []
    [reused] = _of(events, RequestIdReused)
    assert (reused.topic, reused.id, reused.method, reused.chain_id) == (
        topic,
        rid,
        "personal_sign",
        "eip155:1",
    )
    assert reused.first_seen == pair.now - 5
    assert reused.received_at == pair.now
    assert pair.wallet.pending_requests() == []
    # Nothing is sent until the application refuses it; the stored answer is not re-sent.
    assert _wallet_replies(pair, topic, key, start) == []
    pair.wallet.refuse_reused_id(topic, rid, pair.now, error=REFUSAL)
    pair.pump()
    assert _wallet_replies(pair, topic, key, start) == [
        {"id": rid, "jsonrpc": "2.0", "error": REFUSAL}
    ]
    # The refusal is owed once: a second call has nothing to answer.
    with pytest.raises(LocalProtocolError):
        pair.wallet.refuse_reused_id(topic, rid, pair.now, error=REFUSAL)
    # A true duplicate of the first request still gets the first answer, not the refusal.
    pair.deliver("wallet", topic, seal(text, key))
    assert _wallet_replies(pair, topic, key, start)[-1] == {
        "id": rid,
        "jsonrpc": "2.0",
        "result": "0xsig",
    }


def test_reused_id_with_other_chain_or_while_in_flight() -> None:
    pair, topic = settled_pair(drain=True)
    rid, text, key = _first_request(pair, topic)
    assert len(_of(pair.take("wallet"), RequestReceived)) == 1
    doc = json.loads(text)
    doc["params"]["chainId"] = "eip155:5"
    pair.deliver("wallet", topic, seal(json.dumps(doc), key))
    [reused] = _of(pair.take("wallet"), RequestIdReused)
    assert reused.chain_id == "eip155:5"
    # The first request is still pending and still answerable with its own result.
    assert [p.id for p in pair.wallet.pending_requests()] == [rid]
    pair.wallet.refuse_reused_id(topic, rid, pair.now, error=REFUSAL)
    assert [p.id for p in pair.wallet.pending_requests()] == [rid]
    pair.wallet.respond(topic, rid, pair.now, result="0xsig")
    pair.pump()
    replies = _wallet_replies(pair, topic, key, 0)
    assert [("error" in r, r["id"]) for r in replies] == [(True, rid), (False, rid)]


def test_refusal_not_owed_after_expiry() -> None:
    pair, topic = settled_pair(drain=True)
    rid, text, key = _first_request(pair, topic)
    pair.deliver("wallet", topic, seal(_with_params(text, ["0x03", ACCOUNT]), key))
    assert len(_of(pair.take("wallet"), RequestIdReused)) == 1
    later = pair.now + pair.wallet.config.request_expiry_s + 1
    with pytest.raises(LocalProtocolError):
        pair.wallet.refuse_reused_id(topic, rid, later, error=REFUSAL)


def _restart(pair: EnginePair) -> WalletEngine:
    """A new wallet engine from the old one's records, each through the stored JSON encoding."""
    snap = pair.wallet.snapshot()
    snap = replace(
        snap,
        history={
            k: decode_value(RecordKind.HISTORY, encode_value(RecordKind.HISTORY, v))
            for k, v in snap.history.items()
        },
    )
    restarted = WalletEngine(EngineConfig(metadata=pair.wallet.config.metadata))
    restarted.restore(snap)
    pair.engines["wallet"] = restarted
    pair.wallet = restarted
    return restarted


def test_reused_id_detected_after_restore() -> None:
    pair, topic = settled_pair(drain=True)
    rid, text, key = _first_request(pair, topic)
    first_seen = pair.now
    pair.wallet.respond(topic, rid, pair.now, result="0xsig")
    pair.pump()
    pair.take("wallet")
    restarted = _restart(pair)
    start = len(pair.commands["wallet"])
    pair.deliver("wallet", topic, seal(_with_params(text, ["0x04", ACCOUNT]), key))
    [reused] = _of(pair.take("wallet"), RequestIdReused)
    assert reused.first_seen == first_seen
    restarted.refuse_reused_id(topic, rid, pair.now, error=REFUSAL)
    pair.deliver("wallet", topic, seal(text, key))  # the true duplicate: stored answer
    events = pair.take("wallet")
    assert _of(events, RequestReceived) == []
    assert _of(events, RequestIdReused) == []
    assert _wallet_replies(pair, topic, key, start) == [
        {"id": rid, "jsonrpc": "2.0", "error": REFUSAL},
        {"id": rid, "jsonrpc": "2.0", "result": "0xsig"},
    ]
    # The dApp resolved the id once (the first answer) and ignores the later ones.
    assert [e.result for e in _of(pair.take("dapp"), ResponseReceived)] == ["0xsig"]


def test_records_without_a_hash_compare_as_duplicates() -> None:
    pair, topic = settled_pair(drain=True)
    rid, text, key = _first_request(pair, topic)
    pair.wallet.respond(topic, rid, pair.now, result="0xsig")
    pair.pump()
    pair.take("wallet")
    record = pair.wallet.history.get(topic, rid)
    assert record is not None
    assert record.content_hash
    old = {k: v for k, v in record.to_dict().items() if k not in ("content_hash", "first_seen")}
    pair.wallet.history.restore({record.key: type(record).from_dict(old)})
    pair.deliver("wallet", topic, seal(_with_params(text, ["0x05", ACCOUNT]), key))
    events = pair.take("wallet")
    assert _of(events, RequestIdReused) == []
    assert [e.reason for e in _of(events, MessageDropped)] == ["duplicate"]
