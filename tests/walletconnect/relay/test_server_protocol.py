"""RelayServerProtocol: frames in, frames out (fan-out, no echo, mailbox, ttl, acks, composites, limits)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from walletconnect.relay.frames import RelayLimits
from walletconnect.relay.server import FrameLogRecord, RelayServerProtocol

T1 = "a1" * 32
T2 = "b2" * 32
NOW = 1_764_000_000.0


class Relay:
    """A RelayServerProtocol plus helpers to send dict frames and read JSON replies per connection."""

    def __init__(self, **kwargs: Any) -> None:
        self.proto = RelayServerProtocol(**kwargs)
        self.inbox: dict[int, list[dict[str, Any]]] = {}
        self._next = 1

    def connect(self, conn_id: int, client_id: str | None = None, now: float = NOW) -> int:
        self.proto.connect(conn_id, client_id or f"did:key:z{conn_id}", now)
        self.inbox[conn_id] = []
        return conn_id

    def send(self, conn_id: int, method: str, params: dict[str, Any], now: float = NOW) -> int:
        self._next += 1
        frame = {"id": str(self._next), "jsonrpc": "2.0", "method": method, "params": params}
        self.raw(conn_id, json.dumps(frame), now)
        return self._next

    def raw(self, conn_id: int, text: str, now: float = NOW) -> None:
        self.proto.receive_frame(conn_id, text, now)
        self.flush()

    def flush(self) -> None:
        for conn_id, text in self.proto.frames_to_send():
            self.inbox[conn_id].append(json.loads(text))

    def take(self, conn_id: int) -> list[dict[str, Any]]:
        out, self.inbox[conn_id] = self.inbox[conn_id], []
        return out

    def pushes(self, conn_id: int) -> list[dict[str, Any]]:
        return [f for f in self.take(conn_id) if f.get("method") == "irn_subscription"]

    def publish(
        self,
        conn_id: int,
        topic: str,
        message: str,
        ttl: int = 300,
        tag: int = 1108,
        now: float = NOW,
    ) -> int:
        return self.send(
            conn_id,
            "irn_publish",
            {"topic": topic, "message": message, "ttl": ttl, "tag": tag},
            now,
        )

    def ack(self, conn_id: int, push: dict[str, Any], *, bigint_suffix: bool = False) -> None:
        ident = f"{push['id']}n" if bigint_suffix else push["id"]
        self.raw(conn_id, json.dumps({"id": ident, "jsonrpc": "2.0", "result": True}))


@pytest.fixture
def relay() -> Relay:
    return Relay(entropy=lambda n: b"\x00" * n)


def test_subscribe_returns_sha256_of_topic_and_client_id(relay: Relay) -> None:
    relay.connect(1, "did:key:z6MktwupdmLXVVqTzCw4i46r4uGyosGXRnR3XjN4Zq7oMMsw")
    topic = "c859c03e148c3550e19b0f0acfc144adcbd8bab311a67b68f185f04656dd619a"
    rid = relay.send(1, "irn_subscribe", {"topic": topic})
    assert relay.take(1) == [
        {
            "id": str(rid),
            "jsonrpc": "2.0",
            "result": "dd78f53d701ea8fd2012a81219feeb6f5041c675f1e81bb25e0913aeed4e25b6",
        }
    ]


def test_fan_out_to_every_subscriber_but_never_echo(relay: Relay) -> None:
    for conn in (1, 2, 3):
        relay.connect(conn)
        relay.send(conn, "irn_subscribe", {"topic": T1})
        relay.take(conn)
    rid = relay.publish(1, T1, "hello", tag=1108)
    assert relay.take(1) == [{"id": str(rid), "jsonrpc": "2.0", "result": True}]
    for conn in (2, 3):
        (push,) = relay.pushes(conn)
        assert push["params"]["data"] == {
            "topic": T1,
            "message": "hello",
            "publishedAt": int(NOW * 1000),
            "tag": 1108,
        }
        assert push["params"]["id"] == hashlib.sha256(f"{T1}did:key:z{conn}".encode()).hexdigest()
        assert isinstance(push["id"], int)
        assert len(str(push["id"])) == 16


def test_late_subscriber_receives_retained_message_after_its_subscribe_result(relay: Relay) -> None:
    relay.connect(1)
    relay.publish(1, T1, "early")
    relay.take(1)
    relay.connect(2)
    rid = relay.send(2, "irn_subscribe", {"topic": T1}, now=NOW + 100)
    result, push = relay.take(2)
    assert result["id"] == str(rid)
    assert push["method"] == "irn_subscription"
    assert push["params"]["data"]["message"] == "early"
    assert push["params"]["data"]["publishedAt"] == int(NOW * 1000)


def test_ttl_expiry_drops_the_message(relay: Relay) -> None:
    relay.connect(1)
    relay.publish(1, T1, "short", ttl=30)
    assert relay.proto.next_deadline() == NOW + 30
    relay.proto.expire(NOW + 29.9)
    assert relay.proto.mailbox_size(T1) == 1
    relay.proto.expire(NOW + 30)
    assert relay.proto.mailbox_size(T1) == 0
    assert relay.proto.stored_bytes == 0
    relay.connect(2)
    relay.send(2, "irn_subscribe", {"topic": T1}, now=NOW + 31)
    assert relay.pushes(2) == []


def test_acked_message_is_not_redelivered_but_unacked_is_on_resubscribe(relay: Relay) -> None:
    relay.connect(1)
    relay.connect(2, "did:key:zwallet")
    relay.send(2, "irn_subscribe", {"topic": T1})
    relay.take(2)
    relay.publish(1, T1, "m1")
    relay.publish(1, T1, "m2")
    p1, _p2 = relay.pushes(2)
    relay.ack(2, p1, bigint_suffix=True)  # the SDK's BigInt quirk: "<digits>n"
    # Reconnect as the same client (new connection id): only the un-acked m2 comes again.
    relay.proto.disconnect(2)
    relay.connect(3, "did:key:zwallet")
    relay.send(3, "irn_batchSubscribe", {"topics": [T1]})
    assert [p["params"]["data"]["message"] for p in relay.pushes(3)] == ["m2"]


def test_identical_publish_is_stored_and_fanned_out_once(relay: Relay) -> None:
    relay.connect(1)
    relay.connect(2)
    relay.send(2, "irn_subscribe", {"topic": T1})
    relay.take(2)
    first = relay.publish(1, T1, "same")
    second = relay.publish(1, T1, "same")
    assert [f["id"] for f in relay.take(1)] == [str(first), str(second)]
    assert len(relay.pushes(2)) == 1
    assert relay.proto.mailbox_size(T1) == 1


def test_unsubscribe_stops_delivery(relay: Relay) -> None:
    relay.connect(1)
    relay.connect(2)
    relay.send(2, "irn_subscribe", {"topic": T1})
    relay.send(2, "irn_unsubscribe", {"topic": T1, "id": "whatever"})
    assert [f["result"] for f in relay.take(2)][-1] is True
    relay.publish(1, T1, "after")
    assert relay.pushes(2) == []
    assert relay.proto.subscribers(T1) == frozenset()


def test_batch_publish_and_batch_fetch(relay: Relay) -> None:
    relay.connect(1)
    msgs = [{"topic": t, "message": m, "ttl": 300, "tag": 1} for t, m in ((T1, "x"), (T2, "y"))]
    relay.send(1, "irn_batchPublish", {"messages": msgs})
    assert relay.take(1)[0]["result"] is True
    relay.connect(2)
    relay.send(2, "irn_batchFetchMessages", {"topics": [T1, T2]})
    (reply,) = relay.take(2)
    assert [m["message"] for m in reply["result"]["messages"]] == ["x", "y"]
    assert reply["result"]["hasMore"] is False
    relay.send(2, "irn_fetchMessages", {"topic": T1})
    assert relay.take(2)[0]["result"]["messages"] == []  # fetched = delivered


def test_propose_session_subscribes_caller_and_publishes_proposal(relay: Relay) -> None:
    relay.connect(1, "did:key:zdapp")
    relay.connect(2, "did:key:zwallet")
    relay.send(
        1,
        "wc_proposeSession",
        {"pairingTopic": T1, "sessionProposal": "prop", "ttl": 300, "correlationId": 5},
    )
    assert relay.take(1)[0]["result"] is True
    assert relay.proto.subscribers(T1) == {1}
    relay.send(2, "irn_subscribe", {"topic": T1})
    (push,) = relay.pushes(2)
    assert push["params"]["data"]["tag"] == 1100
    assert push["params"]["data"]["message"] == "prop"


def test_approve_session_publishes_response_and_settle_and_subscribes_caller(relay: Relay) -> None:
    relay.connect(1, "did:key:zdapp")
    relay.connect(2, "did:key:zwallet")
    relay.send(1, "wc_proposeSession", {"pairingTopic": T1, "sessionProposal": "prop"})
    relay.send(2, "irn_subscribe", {"topic": T1})
    relay.take(1)
    relay.take(2)
    params = {
        "sessionTopic": T2,
        "pairingTopic": T1,
        "sessionProposalResponse": "resp",
        "sessionSettlementRequest": "settle",
        "approvedChains": ["eip155:1"],
    }
    relay.send(2, "wc_approveSession", params)
    assert relay.take(2)[0]["result"] is True  # no echo of its own response on the pairing topic
    assert relay.proto.subscribers(T2) == {2}
    (resp,) = relay.pushes(1)
    assert (resp["params"]["data"]["message"], resp["params"]["data"]["tag"]) == ("resp", 1101)
    relay.send(1, "irn_subscribe", {"topic": T2})
    (settle,) = relay.pushes(1)
    assert (settle["params"]["data"]["message"], settle["params"]["data"]["tag"]) == (
        "settle",
        1102,
    )


def test_unknown_method_and_malformed_frames_get_errors_not_exceptions(relay: Relay) -> None:
    relay.connect(1)
    relay.send(1, "irn_nope", {})
    relay.raw(1, "{broken")
    relay.send(1, "irn_subscribe", {"topic": "XYZ"})
    relay.send(1, "irn_publish", {"topic": T1, "message": "m", "ttl": 1, "tag": 1})
    relay.send(1, "irn_batchSubscribe", {"topics": [T1] * 501})
    relay.send(1, "irn_batchSubscribe", {"topics": []})
    errors = [(f["id"], f["error"]["code"], f["error"]["data"]) for f in relay.take(1)]
    assert [e[1:] for e in errors] == [
        (-32600, "InvalidMethod"),
        (-32600, "Serialization"),
        (-32600, "InvalidTopic"),
        (-32000, "TtlTooShort"),
        (-32600, "BatchLimitExceeded"),
        (-32600, "BatchEmpty"),
    ]
    assert errors[1][0] == 0  # unreadable frame -> id 0
    assert errors[2][0] != 0  # readable id is echoed


def test_oversized_frame_is_answered(relay: Relay) -> None:
    proto = Relay(limits=RelayLimits(max_frame_bytes=200))
    proto.connect(1)
    proto.publish(1, T1, "A" * 300)
    (err,) = proto.take(1)
    assert err["error"]["data"] == "PayloadSizeExceeded"


def test_mailbox_limits() -> None:
    relay = Relay(limits=RelayLimits(max_messages_per_topic=2, max_total_bytes=10))
    relay.connect(1)
    relay.publish(1, T1, "aaaa")
    relay.publish(1, T1, "bbbb")
    relay.publish(1, T1, "cccc")  # topic full
    relay.publish(1, T2, "dddddddddd")  # relay full (8 + 10 > 10)
    codes = [(f.get("result"), f.get("error", {}).get("data")) for f in relay.take(1)]
    assert codes == [
        (True, None),
        (True, None),
        (None, "MailboxLimitExceeded"),
        (None, "MailboxLimitExceeded"),
    ]
    assert relay.proto.stored_bytes == 8


def test_topics_per_connection_limit() -> None:
    relay = Relay(limits=RelayLimits(max_topics_per_connection=1))
    relay.connect(1)
    relay.send(1, "irn_subscribe", {"topic": T1})
    relay.send(1, "irn_subscribe", {"topic": T2})
    replies = relay.take(1)
    assert replies[1]["error"] == {
        "code": -32000,
        "message": "Request handler error: Subscriber limit exceeded",
        "data": "SubscriberLimitExceeded",
    }


def test_unacked_pushes_per_connection_are_bounded() -> None:
    relay = Relay(limits=RelayLimits(max_unacked_per_connection=3))
    relay.connect(1)
    relay.connect(2)
    relay.send(2, "irn_subscribe", {"topic": T1})
    for i in range(10):
        relay.publish(1, T1, f"m{i}")
    assert len(relay.pushes(2)) == 10
    assert len(relay.proto._conns[2].unacked) == 3


def test_disconnect_forgets_subscriptions_and_queued_frames(relay: Relay) -> None:
    relay.connect(1)
    relay.connect(2)
    relay.proto.receive_frame(
        2,
        json.dumps({"id": 9, "jsonrpc": "2.0", "method": "irn_subscribe", "params": {"topic": T1}}),
        NOW,
    )
    relay.proto.disconnect(2)
    assert relay.proto.frames_to_send() == []
    relay.publish(1, T1, "x")
    assert relay.proto.subscribers(T1) == frozenset()


def test_frame_log_records_both_directions() -> None:
    records: list[FrameLogRecord] = []
    relay = Relay(frame_log=records.append)
    relay.connect(1, "did:key:zlog")
    relay.send(1, "irn_subscribe", {"topic": T1})
    assert [(r.direction, r.client_id) for r in records] == [
        ("in", "did:key:zlog"),
        ("out", "did:key:zlog"),
    ]


def test_anonymous_connections_are_distinct_clients() -> None:
    proto = RelayServerProtocol()
    proto.connect(1, None, NOW)
    proto.connect(2, None, NOW)
    sub = json.dumps(
        {"id": 1, "jsonrpc": "2.0", "method": "irn_subscribe", "params": {"topic": T1}}
    )
    proto.receive_frame(2, sub, NOW)
    pub = {"topic": T1, "message": "m", "ttl": 60, "tag": 1}
    proto.receive_frame(
        1, json.dumps({"id": 2, "jsonrpc": "2.0", "method": "irn_publish", "params": pub}), NOW
    )
    assert [c for c, f in proto.frames_to_send() if "irn_subscription" in f] == [2]


frames = st.one_of(
    st.text(max_size=200),
    st.fixed_dictionaries(
        {
            "id": st.one_of(st.integers(), st.text(max_size=5), st.none()),
            "jsonrpc": st.sampled_from(["2.0", "1.0"]),
            "method": st.sampled_from(
                [
                    "irn_subscribe",
                    "irn_batchSubscribe",
                    "irn_unsubscribe",
                    "irn_batchUnsubscribe",
                    "irn_publish",
                    "irn_batchPublish",
                    "irn_fetchMessages",
                    "irn_batchFetchMessages",
                    "wc_proposeSession",
                    "wc_approveSession",
                    "irn_subscription",
                ]
            ),
            "params": st.dictionaries(
                st.sampled_from(
                    [
                        "topic",
                        "topics",
                        "message",
                        "ttl",
                        "tag",
                        "messages",
                        "pairingTopic",
                        "sessionTopic",
                        "sessionProposal",
                        "sessionProposalResponse",
                        "sessionSettlementRequest",
                        "subscriptions",
                        "id",
                    ]
                ),
                st.one_of(
                    st.sampled_from([T1, T2, "x"]),
                    st.integers(-5, 10**6),
                    st.lists(st.sampled_from([T1, T2, "bad"]), max_size=3),
                    st.lists(
                        st.fixed_dictionaries(
                            {
                                "topic": st.sampled_from([T1, "z"]),
                                "message": st.text(max_size=4),
                                "ttl": st.integers(0, 400),
                            }
                        ),
                        max_size=2,
                    ),
                    st.text(max_size=10),
                    st.none(),
                ),
            ),
        }
    ).map(json.dumps),
    st.fixed_dictionaries(
        {"id": st.integers(0, 2**64), "jsonrpc": st.just("2.0"), "result": st.booleans()}
    ).map(json.dumps),
)


@settings(max_examples=150)
@given(st.lists(st.tuples(st.sampled_from([1, 2]), frames, st.floats(0, 1000)), max_size=12))
def test_random_frames_never_crash_and_every_request_frame_gets_json_back(
    steps: list[tuple[int, str, float]],
) -> None:
    proto = RelayServerProtocol()
    proto.connect(1, "did:key:z1", NOW)
    proto.connect(2, None, NOW)
    for conn, text, dt in steps:
        proto.receive_frame(conn, text, NOW + dt)
        for _conn, out in proto.frames_to_send():
            assert isinstance(json.loads(out), dict)
        proto.expire(NOW + dt)
    assert proto.stored_bytes >= 0
