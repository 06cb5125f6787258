"""Relay JSON-RPC frames (``irn_*`` and the two ``wc_*`` composites): parse and serialize; pure, no I/O.

Every parser here raises only :class:`RelayFrameError`, whose ``error`` is the relay error to answer
with (code + message + tag, as the Rust relay's ``ErrorData``: ``-32600`` payload errors such as
``InvalidTopic`` or ``PayloadSizeExceeded``, ``-32000`` handler errors such as ``TtlTooShort``).

Relay request ids arrive as JSON numbers, decimal strings, or decimal strings with a trailing ``n``
(the SDK's safe-json writes a BigInt, i.e. any id of 17+ digits it parsed from a number, that way);
all three parse to the same ``int`` and the original JSON value is kept as ``raw_id`` so a reply can
echo it verbatim. Our own outgoing ids are 16-digit ``payloadId``-style numbers (see
:class:`RelayIdFactory`), which the SDK keeps as plain numbers.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from typing import Any, TypeAlias

from walletconnect import jsonsafe
from walletconnect.errors import WalletConnectError

__all__ = [
    "DEFAULT_LIMITS",
    "HANDLER_ERRORS",
    "MAX_RELAY_ID",
    "PAYLOAD_ERRORS",
    "PROPOSAL_RESPONSE_TAG",
    "PROPOSAL_TAG",
    "SESSION_COMPOSITE_TTL_S",
    "SETTLE_TAG",
    "ApproveSessionParams",
    "ErrorCode",
    "FetchedMessage",
    "ProposeSessionParams",
    "PublishParams",
    "RawId",
    "RelayErrorData",
    "RelayErrorResponse",
    "RelayFrame",
    "RelayFrameError",
    "RelayIdFactory",
    "RelayLimits",
    "RelayMethod",
    "RelayRequest",
    "RelayResult",
    "SubscriptionData",
    "UnsubscribeParams",
    "approve_session_params",
    "chunks",
    "handler_error",
    "normalize_method",
    "parse_approve_session",
    "parse_frame",
    "parse_propose_session",
    "parse_publish",
    "parse_relay_id",
    "parse_subscription",
    "parse_topic",
    "parse_topic_list",
    "parse_unsubscribe",
    "parse_unsubscribe_batch",
    "payload_error",
    "propose_session_params",
    "publish_params",
    "serialize_error",
    "serialize_request",
    "serialize_result",
    "subscription_params",
]

RawId: TypeAlias = int | str
"""A relay request id exactly as it was on the wire (number or string)."""

MAX_RELAY_ID = 2**64 - 1
"""The Rust relay's ids are u64; anything larger is ``InvalidRequestId``."""

PROPOSAL_TAG = 1100
PROPOSAL_RESPONSE_TAG = 1101
SETTLE_TAG = 1102
SESSION_COMPOSITE_TTL_S = 300
"""Tag / ttl the relay uses for the messages of ``wc_proposeSession`` and ``wc_approveSession``."""


class RelayMethod(StrEnum):
    """Relay JSON-RPC method names (``irn`` protocol, as in ``@walletconnect/relay-api``)."""

    SUBSCRIBE = "irn_subscribe"
    BATCH_SUBSCRIBE = "irn_batchSubscribe"
    UNSUBSCRIBE = "irn_unsubscribe"
    BATCH_UNSUBSCRIBE = "irn_batchUnsubscribe"
    PUBLISH = "irn_publish"
    BATCH_PUBLISH = "irn_batchPublish"
    FETCH_MESSAGES = "irn_fetchMessages"
    BATCH_FETCH_MESSAGES = "irn_batchFetchMessages"
    SUBSCRIPTION = "irn_subscription"
    PROPOSE_SESSION = "wc_proposeSession"
    APPROVE_SESSION = "wc_approveSession"


def normalize_method(method: str) -> str:
    """Map the ``iridium_*`` aliases the Rust relay accepts onto ``irn_*``; other names unchanged."""
    if method.startswith("iridium_"):
        return "irn_" + method[len("iridium_") :]
    return method


class ErrorCode(IntEnum):
    """Relay error classes (``relay_rpc::rpc::error``) plus JSON-RPC's method-not-found."""

    AUTH = 3000
    TOO_MANY_REQUESTS = 3001
    PAYLOAD = -32600
    METHOD_NOT_FOUND = -32601
    HANDLER = -32000
    INTERNAL = -32603


PAYLOAD_ERRORS: Mapping[str, str] = {
    "InvalidMethod": "Invalid request method",
    "InvalidParams": "Invalid request parameters",
    "PayloadSizeExceeded": "Payload size exceeded",
    "InvalidTopic": "Topic decoding failed",
    "InvalidSubscriptionId": "Subscription ID decoding failed",
    "InvalidRequestId": "Invalid request ID",
    "InvalidJsonRpcVersion": "Invalid JSON RPC version",
    "BatchLimitExceeded": "The batch contains too many items",
    "BatchEmpty": "The batch contains no items",
    "Serialization": "Failed to deserialize request",
}
"""``-32600`` tags and their messages (``PayloadError`` in the Rust relay)."""

HANDLER_ERRORS: Mapping[str, str] = {
    "TtlTooShort": "TTL too short",
    "TtlTooLong": "TTL too long",
    "MailboxLimitExceeded": "Mailbox limit exceeded",
    "SubscriberLimitExceeded": "Subscriber limit exceeded",
}
"""``-32000`` tags used by our relay (publish and subscribe handler errors)."""


@dataclass(frozen=True, slots=True)
class RelayErrorData:
    """A relay JSON-RPC error object: ``{"code", "message", "data"}`` (``data`` = the error tag)."""

    code: int
    message: str
    data: Any = None

    def to_dict(self) -> dict[str, Any]:
        """The wire form; ``data`` is omitted when ``None``."""
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            out["data"] = self.data
        return out


def payload_error(tag: str) -> RelayErrorData:
    """A ``-32600`` error for one of :data:`PAYLOAD_ERRORS`."""
    return RelayErrorData(ErrorCode.PAYLOAD, f"Invalid payload: {PAYLOAD_ERRORS[tag]}", tag)


def handler_error(tag: str) -> RelayErrorData:
    """A ``-32000`` error for one of :data:`HANDLER_ERRORS`."""
    return RelayErrorData(ErrorCode.HANDLER, f"Request handler error: {HANDLER_ERRORS[tag]}", tag)


class RelayFrameError(WalletConnectError):
    """A relay frame is malformed or breaks a limit.

    ``error`` is the relay error to answer with; ``raw_id`` the request id if it could be read
    (``None`` means answer with id ``0``, as the Rust relay does); ``detail`` a human hint.
    """

    def __init__(
        self, error: RelayErrorData, raw_id: RawId | None = None, detail: str = ""
    ) -> None:
        super().__init__(f"{error.data or error.code}: {detail}" if detail else str(error.data))
        self.error = error
        self.raw_id = raw_id
        self.detail = detail

    @property
    def tag(self) -> str | None:
        """The error tag (e.g. ``"InvalidTopic"``)."""
        return self.error.data if isinstance(self.error.data, str) else None


def _payload(tag: str, detail: str = "", raw_id: RawId | None = None) -> RelayFrameError:
    return RelayFrameError(payload_error(tag), raw_id, detail)


@dataclass(frozen=True, slots=True)
class RelayLimits:
    """Size, ttl and memory limits of the relay protocol (client and server); all documented defaults.

    * ``max_frame_bytes`` 1 MiB: any frame (also the websockets ``max_size``).
    * ``max_message_chars`` 256 KiB: one envelope (``PayloadSizeExceeded``); envelopes are ASCII.
    * ``min_ttl_s`` 10 s / ``max_ttl_s`` 30 days: publish ttl bounds (``TtlTooShort`` / ``TtlTooLong``);
      the SDK 2.25 publishes with ttls from 30 s to 1 day (rpc-opts vectors).
    * ``max_batch`` 500: items in any batch call (``BatchLimitExceeded``), as the Rust relay.
    * ``max_messages_per_topic`` 500 and ``max_total_bytes`` 64 MiB: the server mailbox
      (``MailboxLimitExceeded``).
    * ``max_topics_per_connection`` 10 000: subscriptions per socket (``SubscriberLimitExceeded``).
    * ``max_unacked_per_connection`` 1 000: pushes awaiting an ack per socket; beyond it the oldest
      is forgotten (it stays in the mailbox and is redelivered on the next subscribe).
    * ``max_fetch`` 500: messages returned by one ``irn_fetchMessages`` (``hasMore`` beyond).
    """

    max_frame_bytes: int = 1024 * 1024
    max_message_chars: int = 256 * 1024
    min_ttl_s: int = 10
    max_ttl_s: int = 30 * 24 * 3600
    max_batch: int = 500
    max_messages_per_topic: int = 500
    max_total_bytes: int = 64 * 1024 * 1024
    max_topics_per_connection: int = 10_000
    max_unacked_per_connection: int = 1_000
    max_fetch: int = 500


DEFAULT_LIMITS = RelayLimits()


# ---------------------------------------------------------------------------------------------
# Frames


@dataclass(frozen=True, slots=True)
class RelayRequest:
    """A JSON-RPC request on the relay socket (either direction)."""

    id: int
    raw_id: RawId
    method: str
    params: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class RelayResult:
    """A JSON-RPC success response."""

    id: int
    raw_id: RawId
    result: Any


@dataclass(frozen=True, slots=True)
class RelayErrorResponse:
    """A JSON-RPC error response."""

    id: int
    raw_id: RawId
    error: RelayErrorData


RelayFrame: TypeAlias = RelayRequest | RelayResult | RelayErrorResponse


def parse_relay_id(value: object) -> int:
    """Parse a relay id: a JSON integer, a decimal string, or a decimal string ending in ``n``.

    Raises :class:`RelayFrameError` (``InvalidRequestId``) for anything else, negatives and ids
    above :data:`MAX_RELAY_ID`.
    """
    if isinstance(value, bool):
        raise _payload("InvalidRequestId", "boolean id")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str):
        digits = value[:-1] if value.endswith("n") else value
        if not (0 < len(digits) <= 20 and digits.isascii() and digits.isdigit()):
            raise _payload("InvalidRequestId", "id is not a decimal string")
        number = int(digits)
    else:
        raise _payload("InvalidRequestId", "id must be a number or a decimal string")
    if not 0 <= number <= MAX_RELAY_ID:
        raise _payload("InvalidRequestId", "id out of range")
    return number


def _utf8_size(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def parse_frame(text: str, *, max_bytes: int = DEFAULT_LIMITS.max_frame_bytes) -> RelayFrame:
    """Parse one relay frame (text of a WebSocket message) into a request, result or error.

    Raises :class:`RelayFrameError` only: ``PayloadSizeExceeded`` (over ``max_bytes``),
    ``Serialization`` (not a JSON object / not a JSON-RPC message), ``InvalidRequestId``,
    ``InvalidJsonRpcVersion``, ``InvalidMethod``, ``InvalidParams``.
    """
    if len(text) > max_bytes or _utf8_size(text) > max_bytes:
        raise _payload("PayloadSizeExceeded", "frame too large")
    try:
        obj = jsonsafe.loads_strict(text)
    except (ValueError, RecursionError) as exc:
        raise _payload("Serialization", "not JSON") from exc
    if not isinstance(obj, dict):
        raise _payload("Serialization", "not a JSON object")
    if "id" not in obj:
        raise _payload("InvalidRequestId", "missing id")
    raw_id = obj["id"]
    try:
        ident = parse_relay_id(raw_id)
    except RelayFrameError as exc:
        raise RelayFrameError(exc.error, None, exc.detail) from None
    if obj.get("jsonrpc") != "2.0":
        raise _payload("InvalidJsonRpcVersion", "jsonrpc must be '2.0'", raw_id)
    if "method" in obj:
        method = obj["method"]
        if not isinstance(method, str) or not method:
            raise _payload("InvalidMethod", "method must be a non-empty string", raw_id)
        params = obj.get("params", {})
        if not isinstance(params, dict):
            raise _payload("InvalidParams", "params must be an object", raw_id)
        return RelayRequest(ident, raw_id, method, params)
    if "result" in obj:
        return RelayResult(ident, raw_id, obj["result"])
    if "error" in obj:
        err = obj["error"]
        if not (
            isinstance(err, dict)
            and isinstance(err.get("code"), int)
            and not isinstance(err.get("code"), bool)
            and isinstance(err.get("message", ""), str)
        ):
            raise _payload("Serialization", "malformed error object", raw_id)
        return RelayErrorResponse(
            ident, raw_id, RelayErrorData(err["code"], err.get("message", ""), err.get("data"))
        )
    raise _payload("Serialization", "neither request nor response", raw_id)


def _dumps(obj: Mapping[str, Any]) -> str:
    # ASCII output: a hostile lone surrogate can never make the frame unencodable on the socket.
    return json.dumps(obj, separators=(",", ":"))


def serialize_request(raw_id: RawId, method: str, params: Mapping[str, Any]) -> str:
    """``{"id","jsonrpc","method","params"}`` in the SDK's key order."""
    return _dumps({"id": raw_id, "jsonrpc": "2.0", "method": method, "params": params})


def serialize_result(raw_id: RawId, result: Any) -> str:
    """``{"id","jsonrpc","result"}``; ``raw_id`` is echoed exactly as received."""
    return _dumps({"id": raw_id, "jsonrpc": "2.0", "result": result})


def serialize_error(raw_id: RawId | None, error: RelayErrorData) -> str:
    """``{"id","jsonrpc","error"}``; an unreadable id is answered as ``0`` (Rust relay behaviour)."""
    return _dumps(
        {"id": 0 if raw_id is None else raw_id, "jsonrpc": "2.0", "error": error.to_dict()}
    )


# ---------------------------------------------------------------------------------------------
# Params


def parse_topic(value: object) -> str:
    """A topic: 64 lowercase hex characters (32 bytes), else ``InvalidTopic``."""
    if (
        isinstance(value, str)
        and len(value) == 64
        and value.isascii()
        and all(c in "0123456789abcdef" for c in value)
    ):
        return value
    raise _payload("InvalidTopic", "topic must be 64 lowercase hex characters")


def _batch(value: object, limits: RelayLimits, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise _payload("InvalidParams", f"{what} must be an array")
    if not value:
        raise _payload("BatchEmpty", f"{what} is empty")
    if len(value) > limits.max_batch:
        raise _payload("BatchLimitExceeded", f"{what} has more than {limits.max_batch} items")
    return value


def _params_field(params: Mapping[str, Any], name: str) -> Any:
    if name not in params:
        raise _payload("InvalidParams", f"missing {name}")
    return params[name]


def parse_topic_list(
    params: Mapping[str, Any], limits: RelayLimits = DEFAULT_LIMITS, key: str = "topics"
) -> list[str]:
    """``{topics: [...]}`` of batch subscribe / fetch: 1..``max_batch`` valid topics."""
    return [parse_topic(t) for t in _batch(_params_field(params, key), limits, key)]


@dataclass(frozen=True, slots=True)
class UnsubscribeParams:
    """``irn_unsubscribe`` params; ``id`` is the client's sha256(topic + clientId), not checked."""

    topic: str
    id: str


def parse_unsubscribe(params: Mapping[str, Any]) -> UnsubscribeParams:
    """``{topic, id}``; ``id`` must be a string (``InvalidSubscriptionId``) but is otherwise unchecked."""
    topic = parse_topic(_params_field(params, "topic"))
    sub_id = params.get("id", "")
    if not isinstance(sub_id, str) or len(sub_id) > 128:
        raise _payload("InvalidSubscriptionId", "subscription id must be a short string")
    return UnsubscribeParams(topic, sub_id)


def parse_unsubscribe_batch(
    params: Mapping[str, Any], limits: RelayLimits = DEFAULT_LIMITS
) -> list[UnsubscribeParams]:
    """``{subscriptions: [{topic, id}, ...]}``."""
    items = _batch(_params_field(params, "subscriptions"), limits, "subscriptions")
    out = []
    for item in items:
        if not isinstance(item, dict):
            raise _payload("InvalidParams", "subscription must be an object")
        out.append(parse_unsubscribe(item))
    return out


def _message(value: object, limits: RelayLimits, name: str = "message") -> str:
    if not isinstance(value, str) or not value:
        raise _payload("InvalidParams", f"{name} must be a non-empty string")
    if len(value) > limits.max_message_chars:
        raise _payload("PayloadSizeExceeded", f"{name} longer than {limits.max_message_chars}")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise _payload("InvalidParams", f"{name} is not valid UTF-8 text") from exc
    return value


def _int(value: object, name: str, low: int = 0, high: int = 2**32 - 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _payload("InvalidParams", f"{name} must be an integer in [{low}, {high}]")
    return value


def _ttl(value: object, limits: RelayLimits) -> int:
    ttl = _int(value, "ttl", 0, 2**63 - 1)
    if ttl < limits.min_ttl_s:
        raise RelayFrameError(handler_error("TtlTooShort"), None, f"ttl below {limits.min_ttl_s}s")
    if ttl > limits.max_ttl_s:
        raise RelayFrameError(handler_error("TtlTooLong"), None, f"ttl above {limits.max_ttl_s}s")
    return ttl


def _optional_str(params: Mapping[str, Any], name: str, max_len: int) -> str | None:
    value = params.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > max_len:
        raise _payload("InvalidParams", f"{name} must be a string of at most {max_len} characters")
    return value


@dataclass(frozen=True, slots=True)
class PublishParams:
    """``irn_publish`` params; ``extra`` keeps the flattened analytics (TVF) fields, unvalidated."""

    topic: str
    message: str
    ttl_s: int
    tag: int
    prompt: bool = False
    attestation: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


_PUBLISH_KEYS = frozenset({"topic", "message", "ttl", "tag", "prompt", "attestation"})


def parse_publish(params: Mapping[str, Any], limits: RelayLimits = DEFAULT_LIMITS) -> PublishParams:
    """Validate ``{topic, message, ttl, tag, prompt?, attestation?, ...tvf}``."""
    topic = parse_topic(_params_field(params, "topic"))
    message = _message(_params_field(params, "message"), limits)
    ttl = _ttl(_params_field(params, "ttl"), limits)
    tag = _int(params.get("tag", 0), "tag")
    prompt = params.get("prompt", False)
    if not isinstance(prompt, bool):
        raise _payload("InvalidParams", "prompt must be a boolean")
    attestation = _optional_str(params, "attestation", limits.max_message_chars)
    extra = {k: v for k, v in params.items() if k not in _PUBLISH_KEYS}
    return PublishParams(topic, message, ttl, tag, prompt, attestation, extra)


def publish_params(
    topic: str,
    message: str,
    ttl_s: int,
    tag: int,
    *,
    prompt: bool = False,
    attestation: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Build ``irn_publish`` params in the SDK's key order (topic, message, ttl, prompt, tag, ...)."""
    out: dict[str, Any] = {"topic": topic, "message": message, "ttl": ttl_s, "prompt": prompt}
    out["tag"] = tag
    if attestation is not None:
        out["attestation"] = attestation
    if extra:
        out.update({k: v for k, v in extra.items() if k not in _PUBLISH_KEYS})
    return out


@dataclass(frozen=True, slots=True)
class ProposeSessionParams:
    """``wc_proposeSession``: the relay subscribes the caller to ``pairing_topic`` and publishes the proposal."""

    pairing_topic: str
    session_proposal: str
    attestation: str | None = None
    ttl_s: int = SESSION_COMPOSITE_TTL_S
    correlation_id: Any = None


def parse_propose_session(
    params: Mapping[str, Any], limits: RelayLimits = DEFAULT_LIMITS
) -> ProposeSessionParams:
    """Validate ``{pairingTopic, sessionProposal, attestation?, ttl?, correlationId?}``."""
    topic = parse_topic(_params_field(params, "pairingTopic"))
    proposal = _message(_params_field(params, "sessionProposal"), limits, "sessionProposal")
    attestation = _optional_str(params, "attestation", limits.max_message_chars)
    ttl = _ttl(params.get("ttl", SESSION_COMPOSITE_TTL_S), limits)
    return ProposeSessionParams(topic, proposal, attestation, ttl, params.get("correlationId"))


def propose_session_params(
    pairing_topic: str,
    session_proposal: str,
    *,
    attestation: str | None = None,
    ttl_s: int = SESSION_COMPOSITE_TTL_S,
    correlation_id: Any = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Build ``wc_proposeSession`` params as the SDK sends them."""
    out: dict[str, Any] = {"pairingTopic": pairing_topic, "sessionProposal": session_proposal}
    if attestation is not None:
        out["attestation"] = attestation
    out["ttl"] = ttl_s
    if correlation_id is not None:
        out["correlationId"] = correlation_id
    if extra:
        out.update(extra)
    return out


@dataclass(frozen=True, slots=True)
class ApproveSessionParams:
    """``wc_approveSession``: subscribe caller to ``session_topic``; publish response (pairing) and settle."""

    session_topic: str
    pairing_topic: str
    session_proposal_response: str
    session_settlement_request: str
    ttl_s: int = SESSION_COMPOSITE_TTL_S
    correlation_id: Any = None


def parse_approve_session(
    params: Mapping[str, Any], limits: RelayLimits = DEFAULT_LIMITS
) -> ApproveSessionParams:
    """Validate ``{sessionTopic, pairingTopic, sessionProposalResponse, sessionSettlementRequest, ...}``."""
    session_topic = parse_topic(_params_field(params, "sessionTopic"))
    pairing_topic = parse_topic(_params_field(params, "pairingTopic"))
    response = _message(
        _params_field(params, "sessionProposalResponse"), limits, "sessionProposalResponse"
    )
    settle = _message(
        _params_field(params, "sessionSettlementRequest"), limits, "sessionSettlementRequest"
    )
    ttl = _ttl(params.get("ttl", SESSION_COMPOSITE_TTL_S), limits)
    return ApproveSessionParams(
        session_topic, pairing_topic, response, settle, ttl, params.get("correlationId")
    )


def approve_session_params(
    session_topic: str,
    pairing_topic: str,
    session_proposal_response: str,
    session_settlement_request: str,
    *,
    ttl_s: int = SESSION_COMPOSITE_TTL_S,
    correlation_id: Any = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Build ``wc_approveSession`` params (``extra`` carries approvedChains/Methods/Events etc.)."""
    out: dict[str, Any] = {
        "sessionTopic": session_topic,
        "pairingTopic": pairing_topic,
        "sessionProposalResponse": session_proposal_response,
        "sessionSettlementRequest": session_settlement_request,
        "ttl": ttl_s,
    }
    if correlation_id is not None:
        out["correlationId"] = correlation_id
    if extra:
        out.update(extra)
    return out


@dataclass(frozen=True, slots=True)
class SubscriptionData:
    """``irn_subscription`` params: the subscription id and the delivered message."""

    subscription_id: str
    topic: str
    message: str
    published_at: int
    tag: int
    attestation: str | None = None


def parse_subscription(
    params: Mapping[str, Any], limits: RelayLimits = DEFAULT_LIMITS
) -> SubscriptionData:
    """Validate ``{id, data: {topic, message, publishedAt, tag, attestation?}}`` (lenient on id/tag)."""
    sub_id = params.get("id", "")
    data = _params_field(params, "data")
    if not isinstance(data, dict):
        raise _payload("InvalidParams", "data must be an object")
    topic = parse_topic(_params_field(data, "topic"))
    message = _message(_params_field(data, "message"), limits)
    published_at = data.get("publishedAt", 0)
    if isinstance(published_at, bool) or not isinstance(published_at, int):
        raise _payload("InvalidParams", "publishedAt must be an integer")
    tag = _int(data.get("tag", 0), "tag", -(2**63), 2**63 - 1)
    attestation = _optional_str(data, "attestation", limits.max_message_chars)
    return SubscriptionData(
        sub_id if isinstance(sub_id, str) else str(sub_id),
        topic,
        message,
        published_at,
        tag,
        attestation,
    )


def subscription_params(
    subscription_id: str,
    topic: str,
    message: str,
    published_at: int,
    tag: int,
    attestation: str | None = None,
) -> dict[str, Any]:
    """Build ``irn_subscription`` params (``attestation`` only when present)."""
    data: dict[str, Any] = {
        "topic": topic,
        "message": message,
        "publishedAt": published_at,
        "tag": tag,
    }
    if attestation is not None:
        data["attestation"] = attestation
    return {"id": subscription_id, "data": data}


@dataclass(frozen=True, slots=True)
class FetchedMessage:
    """One message of an ``irn_fetchMessages`` result."""

    topic: str
    message: str
    published_at: int
    tag: int
    attestation: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Wire form ``{topic, message, publishedAt, tag, attestation?}``."""
        out: dict[str, Any] = {
            "topic": self.topic,
            "message": self.message,
            "publishedAt": self.published_at,
            "tag": self.tag,
        }
        if self.attestation is not None:
            out["attestation"] = self.attestation
        return out


# ---------------------------------------------------------------------------------------------
# Our own ids


class RelayIdFactory:
    """16-digit ``payloadId``-style relay ids: ``now_ms * 1000 + random(0..999)``, strictly increasing.

    Never 17+ digits (before year 2286), so the SDK parses them as plain numbers (no BigInt, no ``n``).
    """

    __slots__ = ("_entropy", "_last")

    def __init__(self, entropy: Callable[[int], bytes] = os.urandom) -> None:
        self._entropy = entropy
        self._last = 0

    def next(self, now: float) -> int:
        """A fresh id for wall-clock time ``now`` (seconds)."""
        jitter = int.from_bytes(self._entropy(2), "big") % 1000
        ident = max(int(now * 1000) * 1000 + jitter, self._last + 1)
        self._last = ident
        return ident


def chunks(items: Sequence[str], size: int) -> list[list[str]]:
    """Split ``items`` into lists of at most ``size`` (for batch calls)."""
    return [list(items[i : i + size]) for i in range(0, len(items), size)]
