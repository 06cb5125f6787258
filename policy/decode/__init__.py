"""Request decoding: ``decode(request) -> Action``, dispatched by JSON-RPC method (pure, no I/O, no clock).

Raises only :class:`policy.errors.DecodeError` (``reason`` is a stable code; unknown methods give
``unsupported_method``). Anything a foreign library throws on hostile input is translated here,
at the one boundary, so the engine can fail closed on a single exception type.
"""

from __future__ import annotations

from collections.abc import Callable

from eth_abi.exceptions import DecodingError, EncodingError
from rlp.exceptions import RLPException

from policy.actions import Action
from policy.decode.batches import (
    decode_add_chain,
    decode_grant_permissions,
    decode_revoke_permissions,
    decode_send_calls,
    decode_switch_chain,
)
from policy.decode.calldata import new_ctx
from policy.decode.context import SEVERITY, Collector, Ctx, most_sensitive
from policy.decode.limits import DecodeLimits
from policy.decode.messages import decode_eth_sign, decode_personal_sign
from policy.decode.reasons import DECODE_REASONS
from policy.decode.transactions import decode_transaction
from policy.decode.typed_data import decode_typed_data
from policy.errors import DecodeError
from policy.request import SigningRequest
from policy.tokens import TokenLookup

__all__ = ["DECODE_REASONS", "METHODS", "SEVERITY", "DecodeLimits", "decode", "most_sensitive"]

_Decoder = Callable[[SigningRequest, Ctx], str]

#: JSON-RPC method -> decoder (returns the payload hash, records facts in the context).
METHODS: dict[str, _Decoder] = {
    "eth_sendTransaction": decode_transaction,
    "eth_signTransaction": decode_transaction,
    "personal_sign": decode_personal_sign,
    "eth_sign": decode_eth_sign,
    "eth_signTypedData": decode_typed_data,
    "eth_signTypedData_v3": decode_typed_data,
    "eth_signTypedData_v4": decode_typed_data,
    "wallet_sendCalls": decode_send_calls,
    "wallet_grantPermissions": decode_grant_permissions,
    "wallet_requestExecutionPermissions": decode_grant_permissions,
    "wallet_revokePermissions": decode_revoke_permissions,
    "wallet_revokeExecutionPermission": decode_revoke_permissions,
    "wallet_switchEthereumChain": decode_switch_chain,
    "wallet_addEthereumChain": decode_add_chain,
}

_DEFAULT_LIMITS = DecodeLimits()


def decode(
    request: SigningRequest,
    *,
    tokens: TokenLookup | None = None,
    limits: DecodeLimits = _DEFAULT_LIMITS,
) -> Action:
    """Decode one signing request into an :class:`Action`, or raise :class:`DecodeError`."""
    method = request.method
    decoder = METHODS.get(method) if isinstance(method, str) else None
    if decoder is None:
        raise DecodeError("unsupported_method", f"method {str(method)[:64]!r} is not supported")
    ctx = new_ctx(Ctx(tokens=tokens, limits=limits, out=Collector(), origin=request.origin))
    try:
        payload_hash = decoder(request, ctx)
    except DecodeError:
        raise
    except RecursionError:
        raise DecodeError("depth_exceeded", f"{method}: nesting too deep") from None
    except (
        KeyError,
        IndexError,
        TypeError,
        ValueError,
        AttributeError,
        OverflowError,
        UnicodeError,
        DecodingError,
        EncodingError,
        RLPException,
    ) as exc:  # a decoder bug on hostile input must still fail closed with one exception type
        raise DecodeError("undecodable", f"{method}: {type(exc).__name__}: {exc}"[:300]) from None
    return ctx.out.finish(method, payload_hash)
