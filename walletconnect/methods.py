"""wc_* and irn_* method names and the per-method relay publish options (tag / ttl / prompt); pure.

``RPC_OPTS`` is ``ENGINE_RPC_OPTS`` (sign-client 2.25) plus ``PAIRING_RPC_OPTS`` (core 2.25), equal
field for field to ``wc-vectors/rpc-opts.json``. A request is published with ``req``, its result or
error with ``res``, except a proposal/authenticate rejection (``reject``) or an automatic rejection
of an invalid one (``auto_reject``). Methods not in the table use ``UNKNOWN_METHOD_OPTS`` (tag 0).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

__all__ = [
    "CRYPTO_JWT_TTL_S",
    "JWT_TTL_S",
    "PAIRING_DEFAULT_TTL_S",
    "PAIRING_EXPIRY_S",
    "PROPOSAL_EXPIRY_CONSTANT_S",
    "PROPOSAL_EXPIRY_S",
    "PUBLISHER_DEFAULT_TTL_S",
    "RELAYER_DEFAULT_RELAY_URL",
    "RELAYER_RECONNECT_TIMEOUT_S",
    "RELAYER_SDK_VERSION",
    "RELAYER_SUBSCRIBER_SUFFIX",
    "RPC_OPTS",
    "SESSION_AUTHENTICATE_EXPIRY_S",
    "SESSION_EXPIRY_S",
    "SESSION_REQUEST_EXPIRY_MAX_S",
    "SESSION_REQUEST_EXPIRY_MIN_S",
    "SESSION_REQUEST_EXPIRY_S",
    "SUBSCRIBER_DEFAULT_TTL_S",
    "UNKNOWN_METHOD_OPTS",
    "Method",
    "MethodOpts",
    "RelayMethod",
    "RpcOpts",
    "opts_for",
]


class Method(StrEnum):
    """Client-to-client JSON-RPC methods carried inside envelopes."""

    SESSION_PROPOSE = "wc_sessionPropose"
    SESSION_SETTLE = "wc_sessionSettle"
    SESSION_UPDATE = "wc_sessionUpdate"
    SESSION_EXTEND = "wc_sessionExtend"
    SESSION_REQUEST = "wc_sessionRequest"
    SESSION_EVENT = "wc_sessionEvent"
    SESSION_DELETE = "wc_sessionDelete"
    SESSION_PING = "wc_sessionPing"
    SESSION_AUTHENTICATE = "wc_sessionAuthenticate"
    PAIRING_DELETE = "wc_pairingDelete"
    PAIRING_PING = "wc_pairingPing"


class RelayMethod(StrEnum):
    """Client-to-relay JSON-RPC methods (relay-api 1.0.11 ``RELAY_JSONRPC.irn`` and the wc_ relay calls)."""

    PUBLISH = "irn_publish"
    BATCH_PUBLISH = "irn_batchPublish"
    SUBSCRIBE = "irn_subscribe"
    BATCH_SUBSCRIBE = "irn_batchSubscribe"
    UNSUBSCRIBE = "irn_unsubscribe"
    BATCH_UNSUBSCRIBE = "irn_batchUnsubscribe"
    SUBSCRIPTION = "irn_subscription"
    FETCH_MESSAGES = "irn_fetchMessages"
    BATCH_FETCH_MESSAGES = "irn_batchFetchMessages"
    PROPOSE_SESSION = "wc_proposeSession"
    APPROVE_SESSION = "wc_approveSession"


@dataclass(frozen=True, slots=True)
class RpcOpts:
    """Relay publish options for one direction of one method (``ttl`` in seconds)."""

    tag: int
    ttl: int
    prompt: bool = False


@dataclass(frozen=True, slots=True)
class MethodOpts:
    """Publish options of a method: request, response, and (for propose/authenticate) rejections."""

    req: RpcOpts
    res: RpcOpts
    reject: RpcOpts | None = None
    auto_reject: RpcOpts | None = None


def _m(req: RpcOpts, res: RpcOpts, **extra: RpcOpts) -> MethodOpts:
    return MethodOpts(req, res, **extra)


RPC_OPTS: Mapping[str, MethodOpts] = MappingProxyType(
    {
        Method.SESSION_PROPOSE: _m(
            RpcOpts(1100, 300, True),
            RpcOpts(1101, 300),
            reject=RpcOpts(1120, 300),
            auto_reject=RpcOpts(1121, 300),
        ),
        Method.SESSION_SETTLE: _m(RpcOpts(1102, 300), RpcOpts(1103, 300)),
        Method.SESSION_UPDATE: _m(RpcOpts(1104, 86400), RpcOpts(1105, 86400)),
        Method.SESSION_EXTEND: _m(RpcOpts(1106, 86400), RpcOpts(1107, 86400)),
        Method.SESSION_REQUEST: _m(RpcOpts(1108, 900, True), RpcOpts(1109, 900)),
        Method.SESSION_EVENT: _m(RpcOpts(1110, 300, True), RpcOpts(1111, 300)),
        Method.SESSION_DELETE: _m(RpcOpts(1112, 86400), RpcOpts(1113, 86400)),
        Method.SESSION_PING: _m(RpcOpts(1114, 86400), RpcOpts(1115, 86400)),
        Method.SESSION_AUTHENTICATE: _m(
            RpcOpts(1116, 3600, True),
            RpcOpts(1117, 3600),
            reject=RpcOpts(1118, 300),
            auto_reject=RpcOpts(1119, 300),
        ),
        Method.PAIRING_DELETE: _m(RpcOpts(1000, 86400), RpcOpts(1001, 86400)),
        Method.PAIRING_PING: _m(RpcOpts(1002, 30), RpcOpts(1003, 30)),
    }
)
"""Publish options by method name (``Method`` members are ``str``, so either key works)."""

UNKNOWN_METHOD_OPTS = MethodOpts(RpcOpts(0, 86400), RpcOpts(0, 86400))
"""Options for a method not in ``RPC_OPTS`` (e.g. the 10001 reply to an unknown wc_ method)."""


def opts_for(method: str) -> MethodOpts:
    """``RPC_OPTS[method]``, or ``UNKNOWN_METHOD_OPTS`` for an unregistered method."""
    return RPC_OPTS.get(method, UNKNOWN_METHOD_OPTS)


SESSION_EXPIRY_S = 604800
"""Session lifetime from settle / extend (7 days)."""
PAIRING_EXPIRY_S = 300
"""Pairing URI expiry, and pairing expiry after activation (2.25)."""
PROPOSAL_EXPIRY_S = 300
"""Proposal ``expiryTimestamp`` = now + 300 on the wire."""
PROPOSAL_EXPIRY_CONSTANT_S = 2592000
"""sign-client ``PROPOSAL_EXPIRY`` (30 days): exported, unused on the wire."""
SESSION_REQUEST_EXPIRY_S = 900
"""Default wc_sessionRequest expiry."""
SESSION_REQUEST_EXPIRY_MIN_S = 300
SESSION_REQUEST_EXPIRY_MAX_S = 604800
"""``SESSION_REQUEST_EXPIRY_BOUNDARIES`` (checked by the sender only)."""
SESSION_AUTHENTICATE_EXPIRY_S = 3600
"""Default wc_sessionAuthenticate expiry (the req ttl)."""
PAIRING_DEFAULT_TTL_S = 2592000
PUBLISHER_DEFAULT_TTL_S = 21600
SUBSCRIBER_DEFAULT_TTL_S = 2592000
CRYPTO_JWT_TTL_S = 86400
JWT_TTL_S = CRYPTO_JWT_TTL_S
"""Relay-auth JWT lifetime."""
RELAYER_DEFAULT_RELAY_URL = "wss://relay.walletconnect.org"
RELAYER_SDK_VERSION = "2.25.0"
RELAYER_RECONNECT_TIMEOUT_S = 0.1
RELAYER_SUBSCRIBER_SUFFIX = "_subscription"
