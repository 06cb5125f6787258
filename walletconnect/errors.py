"""The walletconnect exception tree and the SDK's error-code tables; pure, no I/O.

::

    WalletConnectError
      CryptoError                     keys, key agreement, envelopes
        InvalidKeyError (ValueError)  a key of the wrong length / encoding
        DecryptionError               bad tag, short ciphertext, plaintext not UTF-8
        EnvelopeError                 malformed envelope: bad base64, too short, too large, unknown type
      UriError (ValueError)           malformed wc: pairing URI; ``.part`` names the bad part
      JsonRpcParseError (ValueError)  text is not a JSON-RPC 2.0 message; ``.reason`` says why
      RelayAuthError                  did:key / relay JWT malformed, bad signature, expired, wrong aud
      NamespaceError                  namespaces invalid or non-conforming; ``.code`` = SDK code
      ProtocolError                   a protocol rule was broken; optional ``.sdk_error``
        LocalProtocolError            we asked for something illegal (approve twice, unknown id)
        RemoteProtocolError           the peer sent something illegal (bad params, unknown method)
      RelayError                      the relay answered a request with a JSON-RPC error
      ConnectionClosed                (aio) the relay socket is gone
      Timeout (TimeoutError)          (aio) no ack / no response in time

Parsers in this package raise only these classes, never a bare KeyError/IndexError/TypeError.

``SDK_ERRORS`` / ``INTERNAL_ERRORS`` are the tables of ``@walletconnect/utils`` 2.25
(``getSdkError`` / ``getInternalError``), checked against ``wc-vectors/sdk-errors.json``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

__all__ = [
    "INTERNAL_ERRORS",
    "SDK_ERRORS",
    "ConnectionClosed",
    "CryptoError",
    "DecryptionError",
    "EnvelopeError",
    "InvalidKeyError",
    "JsonRpcParseError",
    "LocalProtocolError",
    "NamespaceError",
    "ProtocolError",
    "RelayAuthError",
    "RelayError",
    "RemoteProtocolError",
    "SdkErrorInfo",
    "Timeout",
    "UriError",
    "WalletConnectError",
    "internal_error",
    "sdk_error",
]


@dataclass(frozen=True, slots=True)
class SdkErrorInfo:
    """An SDK error as sent on the wire: ``{"code": code, "message": message}``."""

    code: int
    message: str

    def to_dict(self) -> dict[str, int | str]:
        """The JSON-RPC error object (code first, then message)."""
        return {"code": self.code, "message": self.message}


def _table(rows: dict[str, tuple[int, str]]) -> Mapping[str, SdkErrorInfo]:
    return MappingProxyType({k: SdkErrorInfo(code, msg) for k, (code, msg) in rows.items()})


SDK_ERRORS: Mapping[str, SdkErrorInfo] = _table(
    {
        "INVALID_METHOD": (1001, "Invalid method."),
        "INVALID_EVENT": (1002, "Invalid event."),
        "INVALID_UPDATE_REQUEST": (1003, "Invalid update request."),
        "INVALID_EXTEND_REQUEST": (1004, "Invalid extend request."),
        "INVALID_SESSION_SETTLE_REQUEST": (1005, "Invalid session settle request."),
        "UNAUTHORIZED_METHOD": (3001, "Unauthorized method."),
        "UNAUTHORIZED_EVENT": (3002, "Unauthorized event."),
        "UNAUTHORIZED_UPDATE_REQUEST": (3003, "Unauthorized update request."),
        "UNAUTHORIZED_EXTEND_REQUEST": (3004, "Unauthorized extend request."),
        "USER_REJECTED": (5000, "User rejected."),
        "USER_REJECTED_CHAINS": (5001, "User rejected chains."),
        "USER_REJECTED_METHODS": (5002, "User rejected methods."),
        "USER_REJECTED_EVENTS": (5003, "User rejected events."),
        "UNSUPPORTED_CHAINS": (5100, "Unsupported chains."),
        "UNSUPPORTED_METHODS": (5101, "Unsupported methods."),
        "UNSUPPORTED_EVENTS": (5102, "Unsupported events."),
        "UNSUPPORTED_ACCOUNTS": (5103, "Unsupported accounts."),
        "UNSUPPORTED_NAMESPACE_KEY": (5104, "Unsupported namespace key."),
        "USER_DISCONNECTED": (6000, "User disconnected."),
        "SESSION_SETTLEMENT_FAILED": (7000, "Session settlement failed."),
        "WC_METHOD_UNSUPPORTED": (10001, "Unsupported wc_ method."),
    }
)
"""``getSdkError`` table (codes that may travel to the peer)."""

INTERNAL_ERRORS: Mapping[str, SdkErrorInfo] = _table(
    {
        "NOT_INITIALIZED": (1, "Not initialized."),
        "NO_MATCHING_KEY": (2, "No matching key."),
        "RESTORE_WILL_OVERRIDE": (3, "Restore will override."),
        "RESUBSCRIBED": (4, "Resubscribed."),
        "MISSING_OR_INVALID": (5, "Missing or invalid."),
        "EXPIRED": (6, "Expired."),
        "UNKNOWN_TYPE": (7, "Unknown type."),
        "MISMATCHED_TOPIC": (8, "Mismatched topic."),
        "NON_CONFORMING_NAMESPACES": (9, "Non conforming namespaces."),
    }
)
"""``getInternalError`` table (local errors; the SDK never means these for the wire)."""


def _lookup(table: Mapping[str, SdkErrorInfo], key: str, context: str) -> SdkErrorInfo:
    base = table[key]  # KeyError for an unknown key is a programming error, not hostile input
    return SdkErrorInfo(base.code, f"{base.message} {context}" if context else base.message)


def sdk_error(key: str, context: str = "") -> SdkErrorInfo:
    """``getSdkError(key, context)``: the base message, plus ``" " + context`` when given."""
    return _lookup(SDK_ERRORS, key, context)


def internal_error(key: str, context: str = "") -> SdkErrorInfo:
    """``getInternalError(key, context)``, same message rule as :func:`sdk_error`."""
    return _lookup(INTERNAL_ERRORS, key, context)


class WalletConnectError(Exception):
    """Root of every error raised by the ``walletconnect`` package."""


class CryptoError(WalletConnectError):
    """Key handling, key agreement or envelope failure."""


class InvalidKeyError(CryptoError, ValueError):
    """A key of the wrong length or encoding (e.g. a 31-byte X25519 public key)."""


class DecryptionError(CryptoError):
    """An envelope could not be opened: bad Poly1305 tag, ciphertext too short, plaintext not UTF-8.

    The SDK drops such messages silently (no error reply); so should callers.
    """


class EnvelopeError(CryptoError):
    """A relay message is not a well-formed envelope (bad base64, too short, too large, unknown type)."""


class UriError(WalletConnectError, ValueError):
    """A malformed pairing URI; ``part`` names what is wrong (``topic``, ``version``, ``symKey``, ...)."""

    def __init__(self, part: str, reason: str) -> None:
        super().__init__(f"invalid pairing URI {part}: {reason}")
        self.part = part
        self.reason = reason


class JsonRpcParseError(WalletConnectError, ValueError):
    """Text that is not a JSON-RPC 2.0 request / result / error; ``reason`` is a precise cause."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"invalid JSON-RPC message: {reason}")
        self.reason = reason


class RelayAuthError(WalletConnectError):
    """A did:key or relay-auth JWT is malformed, badly signed, expired or for another audience."""


class NamespaceError(WalletConnectError):
    """Namespaces are invalid or do not conform; ``code`` / ``message`` are the SDK error to send."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def sdk_error(self) -> SdkErrorInfo:
        """The ``{code, message}`` pair as an :class:`SdkErrorInfo`."""
        return SdkErrorInfo(self.code, self.message)


class ProtocolError(WalletConnectError):
    """A protocol rule was broken; ``sdk_error`` (if set) is the error to answer the peer with."""

    def __init__(self, message: str, sdk_error: SdkErrorInfo | None = None) -> None:
        super().__init__(message)
        self.sdk_error = sdk_error


class LocalProtocolError(ProtocolError):
    """We asked for something illegal (respond to an unknown id, approve twice, bad namespaces)."""


class RemoteProtocolError(ProtocolError):
    """The peer sent something illegal (bad params, unknown method, expired proposal)."""


class RelayError(WalletConnectError):
    """The relay answered one of our requests with a JSON-RPC error."""

    def __init__(self, message: str, *, code: int | None = None, data: object = None) -> None:
        super().__init__(message if code is None else f"relay error {code}: {message}")
        self.code = code
        self.message = message
        self.data = data


class ConnectionClosed(WalletConnectError):  # noqa: N818 - reads better as is (websockets)
    """The relay connection is closed (raised by the asyncio drivers only)."""


class Timeout(WalletConnectError, TimeoutError):  # noqa: N818
    """No acknowledgement or response arrived in time (raised by the asyncio drivers only)."""
