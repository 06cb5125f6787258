"""Relay frames: id quirks (relay-frames vectors), size limits, precise error tags, serializer shapes."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from vectors import load

from walletconnect.relay.frames import (
    PAYLOAD_ERRORS,
    RelayFrameError,
    RelayIdFactory,
    RelayLimits,
    RelayRequest,
    RelayResult,
    parse_frame,
    parse_publish,
    parse_relay_id,
    parse_subscription,
    parse_topic_list,
    payload_error,
    serialize_error,
    serialize_request,
    serialize_result,
)

TOPIC = "ab" * 32
VECTORS = load("relay-frames")


@pytest.mark.parametrize("case", VECTORS["cases"], ids=lambda c: c["outputs"]["parsed_id_type"])
def test_sdk_ack_ids_parse_to_the_pushed_id(case: dict[str, object]) -> None:
    push = parse_frame(case["inputs"]["relay_frame"])  # type: ignore[index]
    ack = parse_frame(case["outputs"]["sdk_ack_frame"])  # type: ignore[index]
    assert isinstance(push, RelayRequest)
    assert isinstance(ack, RelayResult)
    assert ack.id == push.id
    assert ack.result is True


def test_ack_echo_keeps_the_raw_id() -> None:
    ack = parse_frame('{"id":"1700000000000000123n","jsonrpc":"2.0","result":true}')
    assert ack.raw_id == "1700000000000000123n"
    assert ack.id == 1700000000000000123
    assert serialize_result(ack.raw_id, True) == VECTORS["cases"][0]["outputs"]["sdk_ack_frame"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (1, 1),
        ("42", 42),
        ("42n", 42),
        ("1795489770550840064", 1795489770550840064),
        (2**64 - 1, 2**64 - 1),
    ],
)
def test_relay_id_forms(raw: object, expected: int) -> None:
    assert parse_relay_id(raw) == expected


@pytest.mark.parametrize(
    "raw", [True, None, 1.5, "", "n", "12a", "-1", -1, 2**64, "1" * 21, "٣", [1]]
)
def test_bad_relay_ids(raw: object) -> None:
    with pytest.raises(RelayFrameError) as info:
        parse_relay_id(raw)
    assert info.value.tag == "InvalidRequestId"


@pytest.mark.parametrize(
    ("text", "tag"),
    [
        ("not json", "Serialization"),
        ("[1,2]", "Serialization"),
        ('{"jsonrpc":"2.0","method":"irn_subscribe"}', "InvalidRequestId"),
        ('{"id":true,"jsonrpc":"2.0","method":"irn_subscribe"}', "InvalidRequestId"),
        ('{"id":1,"jsonrpc":"1.0","method":"irn_subscribe"}', "InvalidJsonRpcVersion"),
        ('{"id":1,"jsonrpc":"2.0","method":5}', "InvalidMethod"),
        ('{"id":1,"jsonrpc":"2.0","method":"irn_publish","params":[1]}', "InvalidParams"),
        ('{"id":1,"jsonrpc":"2.0"}', "Serialization"),
        ('{"id":1,"jsonrpc":"2.0","error":{"code":"x"}}', "Serialization"),
        ('{"id":1,"jsonrpc":"2.0","result":NaN}', "Serialization"),
        ("[" * 100_000, "Serialization"),
    ],
)
def test_malformed_frames_have_precise_tags(text: str, tag: str) -> None:
    with pytest.raises(RelayFrameError) as info:
        parse_frame(text)
    assert info.value.tag == tag
    assert info.value.error.code == -32600
    assert info.value.error.message == "Invalid payload: " + PAYLOAD_ERRORS[tag]


def test_oversized_frame() -> None:
    text = json.dumps({"id": 1, "jsonrpc": "2.0", "result": "x" * 2000})
    with pytest.raises(RelayFrameError) as info:
        parse_frame(text, max_bytes=1000)
    assert info.value.tag == "PayloadSizeExceeded"
    # Multi-byte characters count as bytes, not characters.
    text = json.dumps({"id": 1, "jsonrpc": "2.0", "result": "é" * 490}, ensure_ascii=False)
    assert len(text) < 1000
    with pytest.raises(RelayFrameError):
        parse_frame(text, max_bytes=1000)


def test_error_frame_shape_and_unknown_id_is_zero() -> None:
    assert json.loads(serialize_error(None, payload_error("InvalidTopic"))) == {
        "id": 0,
        "jsonrpc": "2.0",
        "error": {
            "code": -32600,
            "message": "Invalid payload: Topic decoding failed",
            "data": "InvalidTopic",
        },
    }


def test_request_key_order_and_ascii_output() -> None:
    text = serialize_request(1700000000000123, "irn_publish", {"message": "\ud800"})
    assert text.startswith('{"id":1700000000000123,"jsonrpc":"2.0","method":"irn_publish"')
    assert text.isascii()


def _publish(**over: object) -> dict[str, object]:
    params: dict[str, object] = {"topic": TOPIC, "message": "AAAA", "ttl": 300, "tag": 1100}
    params.update(over)
    return params


def test_publish_params_keep_tvf_extras() -> None:
    p = parse_publish(_publish(prompt=True, correlationId=7, rpcMethods=["eth_sign"]))
    assert (p.topic, p.message, p.ttl_s, p.tag, p.prompt) == (TOPIC, "AAAA", 300, 1100, True)
    assert p.extra == {"correlationId": 7, "rpcMethods": ["eth_sign"]}


@pytest.mark.parametrize(
    ("over", "code", "tag"),
    [
        ({"topic": "AB" * 32}, -32600, "InvalidTopic"),
        ({"topic": "ab" * 31}, -32600, "InvalidTopic"),
        ({"topic": 5}, -32600, "InvalidTopic"),
        ({"ttl": 5}, -32000, "TtlTooShort"),
        ({"ttl": 10**9}, -32000, "TtlTooLong"),
        ({"ttl": "300"}, -32600, "InvalidParams"),
        ({"ttl": True}, -32600, "InvalidParams"),
        ({"message": ""}, -32600, "InvalidParams"),
        ({"message": "A" * 101}, -32600, "PayloadSizeExceeded"),
        ({"message": "\ud800"}, -32600, "InvalidParams"),
        ({"tag": -1}, -32600, "InvalidParams"),
        ({"prompt": "yes"}, -32600, "InvalidParams"),
        ({"attestation": 3}, -32600, "InvalidParams"),
    ],
)
def test_publish_validation(over: dict[str, object], code: int, tag: str) -> None:
    with pytest.raises(RelayFrameError) as info:
        parse_publish(_publish(**over), RelayLimits(max_message_chars=100))
    assert (info.value.error.code, info.value.tag) == (code, tag)


def test_batch_limits() -> None:
    limits = RelayLimits(max_batch=3)
    assert parse_topic_list({"topics": [TOPIC] * 3}, limits) == [TOPIC] * 3
    for topics, tag in (
        ([], "BatchEmpty"),
        ([TOPIC] * 4, "BatchLimitExceeded"),
        ("x", "InvalidParams"),
    ):
        with pytest.raises(RelayFrameError) as info:
            parse_topic_list({"topics": topics}, limits)
        assert info.value.tag == tag


def test_subscription_params_parse() -> None:
    data = parse_subscription(
        {"id": "s", "data": {"topic": TOPIC, "message": "m", "publishedAt": 1, "tag": 1108}}
    )
    assert (data.topic, data.message, data.published_at, data.tag) == (TOPIC, "m", 1, 1108)


def test_id_factory_is_16_digits_and_strictly_increasing() -> None:
    ids = RelayIdFactory(lambda n: b"\xff" * n)
    now = 1_764_000_000.123
    seq = [ids.next(now) for _ in range(2000)]
    assert all(len(str(i)) == 16 for i in seq)
    assert seq == sorted(set(seq))
    assert seq[0] == 1_764_000_000_123_000 + (0xFFFF % 1000)


@given(st.text(max_size=300))
def test_parse_frame_raises_only_relay_frame_error(text: str) -> None:
    with contextlib.suppress(RelayFrameError):
        parse_frame(text)


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=10),
        lambda inner: (
            st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
        ),
        max_leaves=12,
    )
)
def test_parse_publish_raises_only_relay_frame_error(params: object) -> None:
    candidate = params if isinstance(params, dict) else {"topic": TOPIC, "message": params}
    with contextlib.suppress(RelayFrameError):
        parse_publish(candidate)
