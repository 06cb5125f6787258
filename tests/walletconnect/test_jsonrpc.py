"""walletconnect.jsonrpc: wire shapes from the vectors, precise parse errors, id fidelity, fuzzing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from vectors import load

from walletconnect.errors import JsonRpcParseError, sdk_error
from walletconnect.jsonrpc import (
    MAX_MESSAGE_BYTES,
    JsonRpcErrorObject,
    JsonRpcErrorResponse,
    JsonRpcRequest,
    JsonRpcResult,
    encode_json,
    error,
    format_error,
    new_payload_id,
    new_relay_id,
    parse_message,
    payload_id,
    relay_id,
    request,
    result,
    serialize,
)

FRAMES: dict[str, Any] = load("relay-frames")
SHAPES: dict[str, str] = FRAMES["jsonrpc_shapes_outputs"]
SDK_ERR: dict[str, Any] = load("sdk-errors")
T0: list[dict[str, Any]] = load("envelope-type0")["cases"]
HS: dict[str, Any] = load("session-handshake")["outputs"]

PLAINTEXTS = [
    (c["name"], c["inputs"]["message_utf8"]) for c in T0 if "message_utf8" in c["inputs"]
] + [(k, HS[k]["message_utf8"]) for k in ("propose", "approve_result", "settle", "settle_ack")]


@pytest.mark.parametrize("text", [t for _, t in PLAINTEXTS], ids=[n for n, _ in PLAINTEXTS])
def test_vector_plaintexts_round_trip_byte_for_byte(text: str) -> None:
    if not text:
        with pytest.raises(JsonRpcParseError, match="not JSON"):
            parse_message(text)
        return
    msg = parse_message(text)
    obj = json.loads(text)
    assert encode_json(obj) == text
    if isinstance(msg, JsonRpcErrorResponse):
        # the SDK writes getSdkError objects as {message, code}; we write {code, message}
        assert json.loads(serialize(msg)) == obj
    else:
        assert serialize(msg) == text


def test_payload_plaintexts_equal_encode_json() -> None:
    for case in T0:
        if "payload" in case["inputs"]:
            assert encode_json(case["inputs"]["payload"]) == case["inputs"]["message_utf8"]


def test_shapes_vector() -> None:
    assert serialize(request(1700000000000999, "wc_sessionPing", {})) == SHAPES["request"]
    assert serialize(result(1700000000000999, True)) == SHAPES["result"]
    err = sdk_error("USER_DISCONNECTED")
    got = serialize(error(1700000000000999, err.code, err.message))
    assert json.loads(got) == json.loads(SHAPES["error"])
    assert (
        got
        == '{"id":1700000000000999,"jsonrpc":"2.0","error":{"code":6000,"message":"User disconnected."}}'
    )


@pytest.mark.parametrize(
    "case", FRAMES["cases"], ids=[c["outputs"]["parsed_id_type"] for c in FRAMES["cases"]]
)
def test_relay_frame_ids_round_trip(case: dict[str, Any]) -> None:
    msg = parse_message(case["inputs"]["relay_frame"])
    assert isinstance(msg, JsonRpcRequest)
    assert msg.method == "irn_subscription"
    raw_id = json.loads(case["inputs"]["relay_frame"])["id"]
    assert msg.id == raw_id
    assert type(msg.id) is type(raw_id)
    assert serialize(msg) == case["inputs"]["relay_frame"]
    ack = serialize(result(msg.id, True))
    if case["outputs"]["parsed_id_type"] != "bigint":
        assert ack == case["outputs"]["sdk_ack_frame"]
    # the SDK's BigInt ack ("<digits>n") must parse, id kept as that string
    sdk_ack = parse_message(case["outputs"]["sdk_ack_frame"])
    assert isinstance(sdk_ack, JsonRpcResult)
    assert sdk_ack.result is True
    assert sdk_ack.id == json.loads(case["outputs"]["sdk_ack_frame"])["id"]


_FMT = SDK_ERR["cases_expr_to_result"]


def test_format_error_reserved_code_quirk() -> None:
    out = serialize(format_error(1, JsonRpcErrorObject(code=-32601, message="custom")))
    assert out == _FMT["formatJsonRpcError(1,{code:-32601,message:'custom'}) serialized"]
    out = serialize(format_error(1, JsonRpcErrorObject(code=5000, message="User rejected.")))
    assert out == _FMT["formatJsonRpcError(1,{code:5000,message:'User rejected.'}) serialized"]
    out = serialize(format_error(1, "some string"))
    assert out == _FMT["formatJsonRpcError(1,'some string') serialized"]
    assert serialize(format_error(1, sdk_error("USER_REJECTED"))) == out.replace(
        '-32000,"message":"some string"', '5000,"message":"User rejected."'
    )
    # error() never rewrites
    assert serialize(error(1, -32601, "custom")) == (
        '{"id":1,"jsonrpc":"2.0","error":{"code":-32601,"message":"custom"}}'
    )


def test_sdk_empty_error_object_parses() -> None:
    """The SDK sends error:{} for most failures (JS Error is not enumerable)."""
    text = _FMT["formatJsonRpcError(1, new Error('x')) serialized"]
    msg = parse_message(text)
    assert isinstance(msg, JsonRpcErrorResponse)
    assert (msg.error.code, msg.error.message, msg.error.data) == (0, "", None)


def test_error_data_serialized_last() -> None:
    out = serialize(error("a", 5000, "m", {"reason": "x"}))
    assert (
        out
        == '{"id":"a","jsonrpc":"2.0","error":{"code":5000,"message":"m","data":{"reason":"x"}}}'
    )
    msg = parse_message(out)
    assert isinstance(msg, JsonRpcErrorResponse)
    assert msg.error.data == {"reason": "x"}


def test_payload_ids() -> None:
    assert payload_id(1700000000000, 123) == 1700000000000123
    assert payload_id(1700000000000, 1123) == 1700000000000123
    pid = new_payload_id(1700000000000)
    assert 1700000000000000 <= pid < 1700000000001000
    assert len(str(pid)) == 16
    assert pid < 2**53
    assert relay_id(1795489770550, 840064) == 1795489770550840064
    rid = new_relay_id(1795489770550)
    assert 1795489770550000000 <= rid < 1795489770551000000


def test_big_and_string_ids_keep_their_type() -> None:
    big = 123456789012345678901234567890
    msg = parse_message(f'{{"id":{big},"jsonrpc":"2.0","result":null}}')
    assert msg.id == big
    assert isinstance(msg, JsonRpcResult)
    assert msg.result is None
    assert serialize(msg) == f'{{"id":{big},"jsonrpc":"2.0","result":null}}'
    s = parse_message('{"id":"17","jsonrpc":"2.0","method":"m","params":[]}')
    assert s.id == "17"


def test_request_without_params_and_non_ascii() -> None:
    msg = parse_message('{"id":1,"jsonrpc":"2.0","method":"m"}')
    assert isinstance(msg, JsonRpcRequest)
    assert msg.params is None
    assert serialize(msg) == '{"id":1,"jsonrpc":"2.0","method":"m"}'
    text = '{"id":1,"jsonrpc":"2.0","result":"héllo ✓ 😀"}'
    assert serialize(parse_message(text)) == text


BAD = [
    ("not-json", "{", "not JSON"),
    ("nan", '{"id":1,"jsonrpc":"2.0","result":NaN}', "NaN"),
    ("array", "[]", "batch"),
    ("scalar", "1", "not a JSON object"),
    ("no-version", '{"id":1,"result":1}', "jsonrpc version"),
    ("bad-version", '{"id":1,"jsonrpc":"1.0","result":1}', "jsonrpc version"),
    ("missing-id", '{"jsonrpc":"2.0","method":"m","params":{}}', "missing id"),
    ("null-id", '{"id":null,"jsonrpc":"2.0","result":1}', "id must be"),
    ("float-id", '{"id":1.5,"jsonrpc":"2.0","result":1}', "id must be"),
    ("bool-id", '{"id":true,"jsonrpc":"2.0","result":1}', "id must be"),
    (
        "both",
        '{"id":1,"jsonrpc":"2.0","result":1,"error":{"code":1,"message":"x"}}',
        "both result and error",
    ),
    ("method-and-result", '{"id":1,"jsonrpc":"2.0","method":"m","result":1}', "both method"),
    ("empty-method", '{"id":1,"jsonrpc":"2.0","method":""}', "method must be"),
    ("int-method", '{"id":1,"jsonrpc":"2.0","method":5}', "method must be"),
    ("neither", '{"id":1,"jsonrpc":"2.0"}', "neither"),
    ("error-not-object", '{"id":1,"jsonrpc":"2.0","error":"x"}', "error member"),
    ("error-code-str", '{"id":1,"jsonrpc":"2.0","error":{"code":"1","message":"x"}}', "error.code"),
    ("error-msg-int", '{"id":1,"jsonrpc":"2.0","error":{"code":1,"message":2}}', "error.message"),
    ("deep", "[" * 100_000 + "]" * 100_000, "not JSON"),
    ("huge-int", '{"id":' + "9" * 5000 + ',"jsonrpc":"2.0","result":1}', "not JSON"),
]


@pytest.mark.parametrize(
    ("text", "reason"), [(t, r) for _, t, r in BAD], ids=[n for n, _, _ in BAD]
)
def test_parse_errors_are_precise(text: str, reason: str) -> None:
    with pytest.raises(JsonRpcParseError) as info:
        parse_message(text, max_size=10**6)
    assert reason in info.value.reason


def test_oversized_and_non_text() -> None:
    with pytest.raises(JsonRpcParseError, match="oversized"):
        parse_message(" " * (MAX_MESSAGE_BYTES + 1))
    with pytest.raises(JsonRpcParseError, match="oversized"):
        parse_message(SHAPES["request"], max_size=10)
    with pytest.raises(JsonRpcParseError, match="text"):
        parse_message(b"{}")  # type: ignore[arg-type]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=10,
)
ids = st.integers() | st.text(max_size=20)


@given(ids, st.text(min_size=1, max_size=20), json_values)
def test_request_round_trip(ident: int | str, method: str, params: Any) -> None:
    msg = request(ident, method, params)
    assert parse_message(serialize(msg)) == msg


@given(ids, json_values)
def test_result_round_trip(ident: int | str, value: Any) -> None:
    msg = result(ident, value)
    assert parse_message(serialize(msg)) == msg


@given(ids, st.integers(), st.text(max_size=20), json_values)
def test_error_round_trip(ident: int | str, code: int, message: str, data: Any) -> None:
    msg = error(ident, code, message, data)
    assert parse_message(serialize(msg)) == msg


@given(st.text(max_size=200))
def test_arbitrary_text_raises_only_parse_error(text: str) -> None:
    try:
        msg = parse_message(text)
    except JsonRpcParseError:
        return
    assert isinstance(msg, JsonRpcRequest | JsonRpcResult | JsonRpcErrorResponse)


@given(
    st.dictionaries(
        st.sampled_from(["id", "jsonrpc", "method", "params", "result", "error"]), json_values
    )
)
def test_arbitrary_objects_raise_only_parse_error(obj: dict[str, Any]) -> None:
    try:
        msg = parse_message(json.dumps(obj))
    except JsonRpcParseError:
        return
    assert msg.jsonrpc == "2.0"
