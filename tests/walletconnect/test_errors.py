"""walletconnect.errors: the SDK error tables equal the official vectors; the tree is as documented."""

from __future__ import annotations

import re
from typing import Any

import pytest
from vectors import load

from walletconnect import errors
from walletconnect.errors import (
    INTERNAL_ERRORS,
    SDK_ERRORS,
    CryptoError,
    DecryptionError,
    EnvelopeError,
    JsonRpcParseError,
    NamespaceError,
    RelayAuthError,
    SdkErrorInfo,
    UriError,
    WalletConnectError,
    internal_error,
    sdk_error,
)

VEC: dict[str, Any] = load("sdk-errors")["outputs"]
EXPRS: dict[str, Any] = load("sdk-errors")["cases_expr_to_result"]


def test_sdk_table_equals_vector() -> None:
    table = {k: {"message": v.message, "code": v.code} for k, v in SDK_ERRORS.items()}
    assert table == VEC["SDK_ERRORS"]


def test_internal_table_equals_vector() -> None:
    table = {k: {"message": v.message, "code": v.code} for k, v in INTERNAL_ERRORS.items()}
    assert table == VEC["INTERNAL_ERRORS"]


_CALL = re.compile(r"^(getSdkError|getInternalError)\('([A-Z_]+)'(?:,\s*'([^']*)')?\)$")


@pytest.mark.parametrize("expr", [e for e in EXPRS if _CALL.match(e)])
def test_get_error_expressions(expr: str) -> None:
    m = _CALL.match(expr)
    assert m is not None
    fn = sdk_error if m.group(1) == "getSdkError" else internal_error
    got = fn(m.group(2), m.group(3) or "")
    assert {"message": got.message, "code": got.code} == EXPRS[expr]


def test_context_appended_with_one_space_and_empty_context_ignored() -> None:
    assert sdk_error("UNSUPPORTED_CHAINS", "eip155:137") == SdkErrorInfo(
        5100, "Unsupported chains. eip155:137"
    )
    assert sdk_error("USER_REJECTED", "") == SdkErrorInfo(5000, "User rejected.")
    assert sdk_error("USER_REJECTED").to_dict() == {"code": 5000, "message": "User rejected."}


def test_tables_are_read_only() -> None:
    with pytest.raises(TypeError):
        SDK_ERRORS["X"] = SdkErrorInfo(1, "x")  # type: ignore[index]


def test_hierarchy() -> None:
    assert issubclass(DecryptionError, CryptoError)
    assert issubclass(EnvelopeError, CryptoError)
    assert issubclass(CryptoError, WalletConnectError)
    assert issubclass(UriError, ValueError)
    assert issubclass(UriError, WalletConnectError)
    assert issubclass(JsonRpcParseError, WalletConnectError)
    assert issubclass(RelayAuthError, WalletConnectError)
    assert issubclass(errors.Timeout, TimeoutError)
    assert issubclass(errors.LocalProtocolError, errors.ProtocolError)
    assert issubclass(errors.RemoteProtocolError, errors.ProtocolError)


def test_error_attributes() -> None:
    e = UriError("symKey", "missing")
    assert e.part == "symKey"
    assert "symKey" in str(e)
    n = NamespaceError(5103, "Unsupported accounts. x")
    assert n.code == 5103
    assert n.sdk_error == SdkErrorInfo(5103, "Unsupported accounts. x")
    assert JsonRpcParseError("not JSON").reason == "not JSON"
    p = errors.RemoteProtocolError("bad", sdk_error("WC_METHOD_UNSUPPORTED", "wc_foo"))
    assert p.sdk_error is not None
    assert p.sdk_error.code == 10001
    r = errors.RelayError("boom", code=3000)
    assert r.code == 3000
    assert "3000" in str(r)


def test_every_public_name_exported() -> None:
    for name in errors.__all__:
        assert hasattr(errors, name)
