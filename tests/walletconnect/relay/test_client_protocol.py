"""RelayClientProtocol: auto-ack, dedup, pending requests, timeouts, reconnect with same ids (bytes in, frames out)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from walletconnect.errors import LocalProtocolError
from walletconnect.relay.client import (
    MessageReceived,
    PendingLimitError,
    RelayClientProtocol,
    RequestAcknowledged,
    RequestFailed,
    RequestTimedOut,
)
from walletconnect.relay.frames import RelayLimits
from walletconnect.relay.server import RelayServerProtocol

T1 = "a1" * 32
T2 = "b2" * 32
NOW = 1_764_000_000.0


def connected(**kwargs: Any) -> RelayClientProtocol:
    client = RelayClientProtocol("did:key:zme", **kwargs)
    client.connection_made(NOW)
    return client


def sent(client: RelayClientProtocol) -> list[dict[str, Any]]:
    return [json.loads(f) for f in client.frames_to_send()]


def push(ident: object, topic: str = T1, message: str = "m", tag: int = 1108) -> str:
    data = {"topic": topic, "message": message, "publishedAt": 1700000000000, "tag": tag}
    return json.dumps(
        {
            "id": ident,
            "jsonrpc": "2.0",
            "method": "irn_subscription",
            "params": {"id": "s", "data": data},
        }
    )


def test_subscribe_frame_and_ack_event() -> None:
    client = connected()
    rid = client.subscribe(T1, now=NOW)
    assert sent(client) == [
        {"id": rid, "jsonrpc": "2.0", "method": "irn_subscribe", "params": {"topic": T1}}
    ]
    assert len(str(rid)) == 16
    client.receive_frame(json.dumps({"id": str(rid), "jsonrpc": "2.0", "result": "subid"}), NOW)
    assert client.events_received() == [RequestAcknowledged(rid, "irn_subscribe", "subid")]
    assert client.pending_ids == ()


def test_publish_frame_has_sdk_shape_and_tvf_extras() -> None:
    client = connected()
    rid = client.publish(T1, "env", 300, 1108, True, now=NOW, correlationId=42)
    (frame,) = sent(client)
    assert frame == {
        "id": rid,
        "jsonrpc": "2.0",
        "method": "irn_publish",
        "params": {
            "topic": T1,
            "message": "env",
            "ttl": 300,
            "prompt": True,
            "tag": 1108,
            "correlationId": 42,
        },
    }


@pytest.mark.parametrize(
    "ident", [1700000000000000123, "1700000000000000123", "1700000000000000123n", 1700000000000123]
)
def test_every_push_is_acked_immediately_echoing_its_id(ident: object) -> None:
    client = connected()
    client.subscribe(T1, now=NOW)
    client.frames_to_send()
    client.receive_frame(push(ident), NOW)
    assert sent(client) == [{"id": ident, "jsonrpc": "2.0", "result": True}]
    assert client.events_received() == [MessageReceived(T1, "m", 1700000000000, 1108, None)]


def test_duplicates_and_unknown_topics_are_acked_but_not_emitted() -> None:
    client = connected()
    client.subscribe(T1, now=NOW)
    client.frames_to_send()
    client.receive_frame(push(1), NOW)
    client.receive_frame(push(2), NOW)  # same message again (at-least-once)
    client.receive_frame(push(3, topic=T2), NOW)  # not subscribed
    assert [f["id"] for f in sent(client)] == [1, 2, 3]
    assert len(client.events_received()) == 1


def test_dedup_memory_is_bounded() -> None:
    client = connected(dedup_size=2)
    client.subscribe(T1, now=NOW)
    for i, m in enumerate(["a", "b", "c", "a"]):
        client.receive_frame(push(i, message=m), NOW)
    assert [e.message for e in client.events_received() if isinstance(e, MessageReceived)] == [
        "a",
        "b",
        "c",
        "a",
    ]


def test_relay_error_becomes_request_failed() -> None:
    client = connected()
    rid = client.publish(T1, "x", 300, 1, now=NOW)
    error = {
        "code": -32000,
        "message": "Request handler error: TTL too short",
        "data": "TtlTooShort",
    }
    client.receive_frame(json.dumps({"id": rid, "jsonrpc": "2.0", "error": error}), NOW)
    (event,) = client.events_received()
    assert isinstance(event, RequestFailed)
    assert (event.id, event.error.code, event.error.data) == (rid, -32000, "TtlTooShort")


def test_malformed_frames_are_dropped_and_counted() -> None:
    client = connected()
    for text in ("nope", "[]", '{"id":1,"jsonrpc":"2.0","result":true}', push(5, topic="bad")):
        client.receive_frame(text, NOW)
    assert client.events_received() == []
    assert (
        client.malformed_frames == 2 + 1
    )  # 'nope', '[]', bad topic (unknown-id result is not malformed)


def test_unknown_request_method_is_answered_with_method_not_found() -> None:
    client = connected()
    client.receive_frame('{"id":9,"jsonrpc":"2.0","method":"irn_weird","params":{}}', NOW)
    (frame,) = sent(client)
    assert frame["error"]["code"] == -32601


def test_timeouts() -> None:
    client = connected(request_timeout_s=10)
    rid = client.publish(T1, "x", 300, 1, now=NOW)
    assert client.next_deadline() == NOW + 10
    client.expire(NOW + 9)
    assert client.events_received() == []
    client.expire(NOW + 10)
    assert client.events_received() == [RequestTimedOut(rid, "irn_publish")]
    assert client.next_deadline() is None


def test_nothing_is_written_while_disconnected_and_pending_is_bounded() -> None:
    client = RelayClientProtocol("did:key:zme", max_pending=2)
    client.subscribe(T1, now=NOW)
    client.publish(T1, "x", 300, 1, now=NOW)
    assert client.frames_to_send() == []
    with pytest.raises(PendingLimitError):
        client.publish(T1, "y", 300, 1, now=NOW)


def test_local_validation() -> None:
    client = connected()
    with pytest.raises(LocalProtocolError):
        client.subscribe("XYZ", now=NOW)
    with pytest.raises(LocalProtocolError):
        client.publish(T1, "", 300, 1, now=NOW)


def test_reconnect_batch_resubscribes_and_resends_pending_with_same_ids() -> None:
    client = connected(limits=RelayLimits(max_batch=2))
    topics = [f"{i:064x}" for i in range(5)]
    for topic in topics:
        rid = client.subscribe(topic, now=NOW)
        client.receive_frame(json.dumps({"id": rid, "jsonrpc": "2.0", "result": "s"}), NOW)
    pending_sub = client.subscribe(T1, now=NOW)  # not acked yet
    pub = client.publish(T2, "env", 300, 1108, now=NOW)
    client.frames_to_send()
    client.events_received()

    client.connection_lost()
    client.connection_made(NOW + 1)
    frames = sent(client)
    batches = [f["params"]["topics"] for f in frames if f["method"] == "irn_batchSubscribe"]
    assert batches == [topics[0:2], topics[2:4], topics[4:5]]
    resent = [(f["id"], f["method"]) for f in frames if f["method"] != "irn_batchSubscribe"]
    assert resent == [(pending_sub, "irn_subscribe"), (pub, "irn_publish")]
    # Acks of our own resubscribe batches produce no events; the publish ack does.
    for frame in frames:
        client.receive_frame(
            json.dumps({"id": frame["id"], "jsonrpc": "2.0", "result": True}), NOW + 1
        )
    assert [e.id for e in client.events_received()] == [pending_sub, pub]


def test_unsubscribe_sends_our_subscription_id_and_forgets_topic() -> None:
    client = connected()
    client.subscribe(T1, now=NOW)
    client.frames_to_send()
    client.unsubscribe(T1, now=NOW)
    (frame,) = sent(client)
    assert frame["params"] == {"topic": T1, "id": client.subscription_id(T1)}
    assert client.topics == ()
    client.connection_lost()
    client.connection_made(NOW)
    # Both pending requests are re-sent in their original order (net effect: unsubscribed), no batch.
    assert [f["method"] for f in sent(client)] == ["irn_subscribe", "irn_unsubscribe"]


def test_composites_register_topics_for_resubscription() -> None:
    client = connected()
    client.propose_session(T1, "proposal", now=NOW, correlation_id=1)
    client.approve_session(T2, T1, "resp", "settle", now=NOW, approvedChains=["eip155:1"])
    propose, approve = sent(client)
    assert propose["method"] == "wc_proposeSession"
    assert propose["params"] == {
        "pairingTopic": T1,
        "sessionProposal": "proposal",
        "ttl": 300,
        "correlationId": 1,
    }
    assert approve["params"]["approvedChains"] == ["eip155:1"]
    assert client.topics == (T1, T2)


class Wire:
    """Two clients and a RelayServerProtocol joined in memory; `up` toggles a client's link."""

    def __init__(self) -> None:
        self.server = RelayServerProtocol()
        self.clients = {1: RelayClientProtocol("did:key:zA"), 2: RelayClientProtocol("did:key:zB")}
        self.up: dict[int, bool] = {}
        for cid in self.clients:
            self.connect(cid)

    def connect(self, cid: int) -> None:
        self.server.connect(cid, self.clients[cid].client_id, NOW)
        self.clients[cid].connection_made(NOW)
        self.up[cid] = True

    def drop(self, cid: int) -> None:
        self.server.disconnect(cid)
        self.clients[cid].connection_lost()
        self.up[cid] = False

    def pump(self, *, lose_to: int | None = None) -> None:
        """Move frames until quiet; frames from the server to `lose_to` are lost (link dies mid-flight)."""
        for _ in range(50):
            moved = False
            for cid, client in self.clients.items():
                for text in client.frames_to_send():
                    moved = True
                    if self.up[cid]:
                        self.server.receive_frame(cid, text, NOW)
            for cid, text in self.server.frames_to_send():
                moved = True
                if cid != lose_to:
                    self.clients[cid].receive_frame(text, NOW)
            if not moved:
                return


def test_no_loss_no_duplicate_across_reconnect_in_memory() -> None:
    wire = Wire()
    a, b = wire.clients[1], wire.clients[2]
    b.subscribe(T1, now=NOW)
    wire.pump()
    b.events_received()
    # B's link dies while two messages are in flight to it (pushes lost, never acked).
    a.publish(T1, "one", 300, 1108, now=NOW)
    a.publish(T1, "two", 300, 1108, now=NOW)
    wire.pump(lose_to=2)
    wire.drop(2)
    # A's link also dies with a publish un-acked; it re-sends with the same id after reconnect.
    pub = a.publish(T1, "three", 300, 1108, now=NOW)
    a_frames = a.frames_to_send()
    wire.drop(1)
    wire.connect(1)
    resent = [json.loads(f) for f in a.frames_to_send()]
    assert [f["id"] for f in resent if f["method"] == "irn_publish"] == [pub]
    assert json.loads(a_frames[0])["id"] == pub
    for f in resent:
        wire.server.receive_frame(1, json.dumps(f), NOW)
    wire.connect(2)
    wire.pump()
    received = [e.message for e in b.events_received() if isinstance(e, MessageReceived)]
    assert received == ["one", "two", "three"]
    assert [e.id for e in a.events_received() if isinstance(e, RequestAcknowledged)][-1] == pub
    # A re-send of the same publish (same message) after it was stored does not deliver it again.
    wire.drop(1)
    wire.connect(1)
    wire.server.receive_frame(1, resent[-1] and json.dumps(resent[-1]), NOW)
    wire.pump()
    assert [e for e in b.events_received() if isinstance(e, MessageReceived)] == []


@settings(max_examples=100)
@given(st.lists(st.text(max_size=120), max_size=10))
def test_random_frames_never_raise(texts: list[str]) -> None:
    client = connected()
    client.subscribe(T1, now=NOW)
    for text in texts:
        client.receive_frame(text, NOW)
    client.events_received()
