"""walletconnect.methods: RPC_OPTS and constants equal rpc-opts.json, field for field."""

from __future__ import annotations

from typing import Any

import pytest
from vectors import load

from walletconnect import methods
from walletconnect.methods import (
    RPC_OPTS,
    UNKNOWN_METHOD_OPTS,
    Method,
    MethodOpts,
    RelayMethod,
    RpcOpts,
    opts_for,
)

OUT: dict[str, Any] = load("rpc-opts")["outputs"]
VEC_OPTS: dict[str, Any] = {**OUT["ENGINE_RPC_OPTS"], **OUT["PAIRING_RPC_OPTS"]}
VEC_OPTS.pop("unregistered_method")
CONST: dict[str, Any] = OUT["constants"]


def _as_vector(o: MethodOpts) -> dict[str, Any]:
    def one(r: RpcOpts) -> dict[str, Any]:
        return {"ttl": r.ttl, "prompt": r.prompt, "tag": r.tag}

    d = {"req": one(o.req), "res": one(o.res)}
    if o.reject is not None:
        d["reject"] = one(o.reject)
    if o.auto_reject is not None:
        d["autoReject"] = one(o.auto_reject)
    return d


@pytest.mark.parametrize("method", sorted(VEC_OPTS))
def test_method_opts_equal_vector(method: str) -> None:
    assert _as_vector(RPC_OPTS[method]) == VEC_OPTS[method]
    assert _as_vector(opts_for(Method(method))) == VEC_OPTS[method]


def test_table_has_exactly_the_vector_methods() -> None:
    assert set(RPC_OPTS) == set(VEC_OPTS)
    assert {m.value for m in Method} == set(VEC_OPTS)


def test_unknown_method_opts() -> None:
    assert _as_vector(UNKNOWN_METHOD_OPTS) == OUT["PAIRING_RPC_OPTS"]["unregistered_method"]
    assert opts_for("wc_doesNotExist") is UNKNOWN_METHOD_OPTS


def test_relay_methods_cover_relay_api() -> None:
    assert set(CONST["RELAY_JSONRPC_irn"].values()) <= {m.value for m in RelayMethod}
    assert RelayMethod.FETCH_MESSAGES == "irn_fetchMessages"
    assert RelayMethod.PROPOSE_SESSION == "wc_proposeSession"
    assert RelayMethod.APPROVE_SESSION == "wc_approveSession"


def test_constants_equal_vector() -> None:
    bounds = CONST["SESSION_REQUEST_EXPIRY_BOUNDARIES_s"]
    assert CONST["SESSION_EXPIRY_s"] == methods.SESSION_EXPIRY_S
    assert CONST["PROPOSAL_EXPIRY_s_constant_unused_for_wire"] == methods.PROPOSAL_EXPIRY_CONSTANT_S
    assert bounds["min"] == methods.SESSION_REQUEST_EXPIRY_MIN_S
    assert bounds["max"] == methods.SESSION_REQUEST_EXPIRY_MAX_S
    assert CONST["PAIRING_DEFAULT_TTL_s_constant"] == methods.PAIRING_DEFAULT_TTL_S
    assert CONST["PUBLISHER_DEFAULT_TTL_s"] == methods.PUBLISHER_DEFAULT_TTL_S
    assert CONST["SUBSCRIBER_DEFAULT_TTL_s"] == methods.SUBSCRIBER_DEFAULT_TTL_S
    assert methods.JWT_TTL_S == methods.CRYPTO_JWT_TTL_S == CONST["CRYPTO_JWT_TTL_s"]
    assert CONST["RELAYER_DEFAULT_RELAY_URL"] == methods.RELAYER_DEFAULT_RELAY_URL
    assert CONST["RELAYER_SDK_VERSION"] == methods.RELAYER_SDK_VERSION
    assert CONST["RELAYER_RECONNECT_TIMEOUT_s"] == methods.RELAYER_RECONNECT_TIMEOUT_S
    assert CONST["RELAYER_SUBSCRIBER_SUFFIX"] == methods.RELAYER_SUBSCRIBER_SUFFIX


def test_wire_constants_from_reference() -> None:
    # reference §5.3 / §4.1: these are not in rpc-opts.json but in the SDK's connect()/pair()
    assert methods.PAIRING_EXPIRY_S == 300
    assert methods.PROPOSAL_EXPIRY_S == 300
    assert methods.SESSION_REQUEST_EXPIRY_S == RPC_OPTS[Method.SESSION_REQUEST].req.ttl == 900
    assert RPC_OPTS[Method.SESSION_AUTHENTICATE].req.ttl == methods.SESSION_AUTHENTICATE_EXPIRY_S


def test_table_is_read_only() -> None:
    with pytest.raises(TypeError):
        RPC_OPTS["x"] = UNKNOWN_METHOD_OPTS  # type: ignore[index]
