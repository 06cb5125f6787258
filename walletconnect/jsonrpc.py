"""JSON-RPC 2.0 messages for relay frames and envelope plaintexts: models, parse, serialize, ids; pure.

Wire rules (``@walletconnect/jsonrpc-utils`` 1.0.8, reference §1.6 and §7):

* Plaintext = ``JSON.stringify`` of the object: compact, non-ASCII not escaped (:func:`encode_json`).
* Key order ``id, jsonrpc, method, params`` / ``id, jsonrpc, result`` / ``id, jsonrpc, error``; we
  write the error object as ``code, message[, data]``. (The SDK writes whatever order its error
  object has: ``getSdkError`` gives ``message, code``; the difference is not semantic.)
* Client-to-client ids are 16-digit :func:`payload_id` numbers (< 2**53). Ids round-trip exactly:
  ints stay ints, strings stay strings (the JS SDK acks a 17+-digit numeric id with ``"<digits>n"``).
* ``formatJsonRpcError`` quirk: a reserved code (-32700, -32600..-32603) gets the standard message
  and a bare string becomes ``{code: -32000, message}``; :func:`format_error` reproduces that, while
  :func:`error` sends exactly the code and message it is given (what we always do).
* SDK peers reply ``"error": {}`` for most validation failures; that parses as code 0, message "".
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, StrictInt, StrictStr

from walletconnect import jsonsafe
from walletconnect.errors import JsonRpcParseError, SdkErrorInfo

__all__ = [
    "JSONRPC_VERSION",
    "MAX_MESSAGE_BYTES",
    "STANDARD_ERRORS",
    "JsonRpcErrorObject",
    "JsonRpcErrorResponse",
    "JsonRpcId",
    "JsonRpcMessage",
    "JsonRpcRequest",
    "JsonRpcResponse",
    "JsonRpcResult",
    "encode_json",
    "error",
    "format_error",
    "new_payload_id",
    "new_relay_id",
    "parse_message",
    "payload_id",
    "relay_id",
    "request",
    "result",
    "serialize",
    "to_dict",
]

JSONRPC_VERSION = "2.0"
MAX_MESSAGE_BYTES = 1024 * 1024
"""Default limit on the length of a JSON-RPC text (characters)."""

JsonRpcId = StrictInt | StrictStr

STANDARD_ERRORS: Mapping[int, str] = {
    -32700: "Parse error",
    -32600: "Invalid Request",
    -32601: "Method not found",
    -32602: "Invalid params",
    -32603: "Internal error",
    -32000: "Server error",
}
"""jsonrpc-utils ``STANDARD_ERROR_MAP`` by code."""

_RESERVED = frozenset({-32700, -32600, -32601, -32602, -32603})


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class JsonRpcRequest(_Model):
    """A request (or relay subscription push): ``{id, jsonrpc, method, params}``."""

    id: JsonRpcId
    jsonrpc: Literal["2.0"] = "2.0"
    method: str
    params: Any = None


class JsonRpcResult(_Model):
    """A success response ``{id, jsonrpc, result}`` (``result`` may be any JSON, including null)."""

    id: JsonRpcId
    jsonrpc: Literal["2.0"] = "2.0"
    result: Any


class JsonRpcErrorObject(_Model):
    """The ``error`` member; ``data`` is omitted on the wire when None."""

    code: StrictInt
    message: StrictStr
    data: Any | None = None


class JsonRpcErrorResponse(_Model):
    """An error response ``{id, jsonrpc, error}``."""

    id: JsonRpcId
    jsonrpc: Literal["2.0"] = "2.0"
    error: JsonRpcErrorObject


JsonRpcResponse = JsonRpcResult | JsonRpcErrorResponse
JsonRpcMessage = JsonRpcRequest | JsonRpcResult | JsonRpcErrorResponse


def encode_json(obj: Any) -> str:
    """``JSON.stringify`` equivalent: compact separators, non-ASCII kept, no NaN/Infinity."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def payload_id(now_ms: int, entropy: int) -> int:
    """The SDK's ``payloadId()``: ``now_ms * 1000 + entropy % 1000`` (16 digits today, < 2**53)."""
    return now_ms * 1000 + entropy % 1000


def new_payload_id(now_ms: int) -> int:
    """:func:`payload_id` with three random low digits from ``secrets``."""
    return payload_id(now_ms, secrets.randbelow(1000))


def relay_id(now_ms: int, entropy: int) -> int:
    """A relay request id like ``getBigIntRpcId()``: ``now_ms * 10**6 + entropy % 10**6`` (19 digits).

    The SDK sends it as a decimal *string*; the Rust relay accepts number or numeric string >= 10**9.
    """
    return now_ms * 1_000_000 + entropy % 1_000_000


def new_relay_id(now_ms: int) -> int:
    """:func:`relay_id` with six random low digits from ``secrets``."""
    return relay_id(now_ms, secrets.randbelow(1_000_000))


def request(id: int | str, method: str, params: Any) -> JsonRpcRequest:
    """``formatJsonRpcRequest``: a request with the given id."""
    return JsonRpcRequest(id=id, method=method, params=params)


def result(id: int | str, value: Any) -> JsonRpcResult:
    """``formatJsonRpcResult``: a success response."""
    return JsonRpcResult(id=id, result=value)


def error(id: int | str, code: int, message: str, data: Any | None = None) -> JsonRpcErrorResponse:
    """An error response carrying exactly ``code`` and ``message`` (no reserved-code rewriting)."""
    return JsonRpcErrorResponse(
        id=id, error=JsonRpcErrorObject(code=code, message=message, data=data)
    )


def format_error(
    id: int | str,
    err: str | SdkErrorInfo | JsonRpcErrorObject,
    data: Any | None = None,
) -> JsonRpcErrorResponse:
    """``formatJsonRpcError`` as the JS SDK does it (string -> -32000; reserved code -> standard text)."""
    if isinstance(err, str):
        code, message = -32000, err
    else:
        code, message = err.code, err.message
        if data is None and isinstance(err, JsonRpcErrorObject):
            data = err.data
    if code in _RESERVED:
        message = STANDARD_ERRORS[code]
    return error(id, code, message, data)


def to_dict(message: JsonRpcMessage) -> dict[str, Any]:
    """The message as a plain dict in wire key order."""
    out: dict[str, Any] = {"id": message.id, "jsonrpc": message.jsonrpc}
    if isinstance(message, JsonRpcRequest):
        out["method"] = message.method
        if message.params is not None:
            out["params"] = message.params
    elif isinstance(message, JsonRpcResult):
        out["result"] = message.result
    else:
        err: dict[str, Any] = {"code": message.error.code, "message": message.error.message}
        if message.error.data is not None:
            err["data"] = message.error.data
        out["error"] = err
    return out


def serialize(message: JsonRpcMessage) -> str:
    """Compact JSON text in wire key order (see module docstring)."""
    return encode_json(to_dict(message))


def _check_id(obj: dict[str, Any]) -> int | str:
    if "id" not in obj:
        raise JsonRpcParseError("missing id")
    ident = obj["id"]
    if isinstance(ident, bool) or not isinstance(ident, int | str):
        raise JsonRpcParseError(f"id must be an integer or a string, got {type(ident).__name__}")
    return ident


def _parse_error_object(raw: Any) -> JsonRpcErrorObject:
    if not isinstance(raw, dict):
        raise JsonRpcParseError("error member must be an object")
    code = raw.get("code", 0)
    message = raw.get("message", "")
    if isinstance(code, bool) or not isinstance(code, int):
        raise JsonRpcParseError("error.code must be an integer")
    if not isinstance(message, str):
        raise JsonRpcParseError("error.message must be a string")
    return JsonRpcErrorObject(code=code, message=message, data=raw.get("data"))


def parse_message(text: str, *, max_size: int = MAX_MESSAGE_BYTES) -> JsonRpcMessage:
    """Parse one JSON-RPC 2.0 message; raises only JsonRpcParseError, with a precise ``reason``.

    Batches (arrays) and notifications (no id) are rejected: WalletConnect uses neither.
    """
    if not isinstance(text, str):
        raise JsonRpcParseError(f"message must be text, got {type(text).__name__}")
    if len(text) > max_size:
        raise JsonRpcParseError(f"oversized: {len(text)} > {max_size} characters")
    try:
        obj = jsonsafe.loads_strict(text)
    except RecursionError as exc:
        raise JsonRpcParseError("not JSON: nested too deeply") from exc
    except ValueError as exc:  # JSONDecodeError, or an integer beyond int_max_str_digits
        raise JsonRpcParseError(f"not JSON: {exc}") from exc
    if isinstance(obj, list):
        raise JsonRpcParseError("batch arrays are not supported")
    if not isinstance(obj, dict):
        raise JsonRpcParseError(f"not a JSON object (got {type(obj).__name__})")
    if obj.get("jsonrpc") != JSONRPC_VERSION:
        raise JsonRpcParseError(f"bad jsonrpc version: {obj.get('jsonrpc')!r}")
    ident = _check_id(obj)
    has_result, has_error = "result" in obj, "error" in obj
    if "method" in obj:
        if has_result or has_error:
            raise JsonRpcParseError("both method and result/error")
        method = obj["method"]
        if not isinstance(method, str) or not method:
            raise JsonRpcParseError("method must be a non-empty string")
        return JsonRpcRequest(id=ident, method=method, params=obj.get("params"))
    if has_result and has_error:
        raise JsonRpcParseError("both result and error")
    if has_result:
        return JsonRpcResult(id=ident, result=obj["result"])
    if has_error:
        return JsonRpcErrorResponse(id=ident, error=_parse_error_object(obj["error"]))
    raise JsonRpcParseError("neither method, result nor error")
