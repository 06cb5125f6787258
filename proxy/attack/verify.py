"""Check what a wallet answered: is it a valid signature by the session account over the attack payload?
(pure, no I/O).

``SIGNED`` in the bench means this module recovered the session account from the answer: personal_sign
and eth_sign (raw digest or EIP-191 prefixed), EIP-712 typed data (digest recomputed with eth-account),
signed transactions (recovered, decoded, and compared field by field with the request: a signature over
a *different* transaction, e.g. one the wallet bound to a chain the request left out, is a ``variant``).
Methods whose success carries no signature (``wallet_sendCalls``, ``wallet_switchEthereumChain``,
``eth_sendTransaction``'s hash) are ``accepted``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

import rlp
from eth_account import Account
from eth_account.messages import encode_defunct, encode_typed_data
from eth_keys.exceptions import BadSignature

__all__ = ["Verdict", "verify"]

_NO_SIGNATURE = frozenset(
    {
        "eth_sendTransaction",
        "wallet_sendCalls",
        "wallet_switchEthereumChain",
        "wallet_addEthereumChain",
        "wallet_grantPermissions",
        "wallet_revokePermissions",
    }
)
_MAX_RESULT_CHARS = 512 * 1024


@dataclass(frozen=True, slots=True)
class Verdict:
    """``signed``: a valid signature over the attack payload; ``variant``: valid, but over another
    payload; ``accepted``: a success without a signature to check; ``invalid``: not a valid signature."""

    kind: Literal["signed", "variant", "accepted", "invalid"]
    detail: str


def verify(method: str, params: Any, result: Any, account: str) -> Verdict:
    """Judge ``result`` (the wallet's answer to ``method(params)``); never raises."""
    if method in _NO_SIGNATURE:
        return Verdict("accepted", f"{method} succeeded: {_short(result)}")
    try:
        if method == "personal_sign":
            return _personal_sign(params, result, account)
        if method == "eth_sign":
            return _eth_sign(params, result, account)
        if method in ("eth_signTypedData", "eth_signTypedData_v3", "eth_signTypedData_v4"):
            return _typed(params, result, account)
        if method == "eth_signTransaction":
            return _transaction(params, result, account)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, BadSignature) as exc:
        return Verdict("invalid", f"not a valid signature ({type(exc).__name__}: {exc})"[:200])
    except Exception as exc:  # noqa: BLE001 - a hostile wallet may answer anything; judging must not crash
        return Verdict("invalid", f"unverifiable answer ({type(exc).__name__})")
    return Verdict("accepted", f"{method} answered: {_short(result)}")


def _short(value: Any) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else value
    return text if len(text) <= 60 else text[:57] + "..."


def _sig(result: Any) -> str:
    if not isinstance(result, str) or len(result) > _MAX_RESULT_CHARS:
        raise ValueError("the result is not a hex signature")
    return result


def _same(a: str, b: str) -> bool:
    return a.lower() == b.lower()


def _judge(signer: str, account: str, what: str) -> Verdict:
    if _same(signer, account):
        return Verdict("signed", f"valid {what} signature by {account}")
    return Verdict("invalid", f"{what} signature recovers to {signer}, not the session account")


def _message_bytes(message: Any) -> bytes:
    if not isinstance(message, str):
        raise TypeError("message must be a string")
    if message.startswith("0x"):
        try:
            return bytes.fromhex(message[2:])
        except ValueError:
            pass
    return message.encode("utf-8")


def _personal_sign(params: Any, result: Any, account: str) -> Verdict:
    message = _message_bytes(params[0])
    signer = Account.recover_message(encode_defunct(primitive=message), signature=_sig(result))
    return _judge(signer, account, "personal_sign")


def _eth_sign(params: Any, result: Any, account: str) -> Verdict:
    data = _message_bytes(params[1])
    sig = _sig(result)
    if len(data) == 32:
        raw = Account._recover_hash(data, signature=sig)
        if _same(raw, account):
            return Verdict("signed", "valid eth_sign signature over the raw 32-byte digest")
    signer = Account.recover_message(encode_defunct(primitive=data), signature=sig)
    return _judge(signer, account, "eth_sign (EIP-191 prefixed)")


def _typed(params: Any, result: Any, account: str) -> Verdict:
    raw = params[1]
    typed = json.loads(raw) if isinstance(raw, str) else raw
    signable = encode_typed_data(full_message=typed)
    signer = Account.recover_message(signable, signature=_sig(result))
    return _judge(signer, account, "EIP-712")


def _int(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        return int(value, 16) if value.startswith("0x") else int(value)
    raise TypeError("not a quantity")


def _addr(value: Any) -> str | None:
    if value in (None, "", b""):
        return None
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return str(value).lower()


def _data(value: Any) -> bytes:
    if value in (None, ""):
        return b""
    if isinstance(value, bytes):
        return value
    return bytes.fromhex(str(value)[2:])


def _decode_signed(raw: bytes) -> dict[str, Any]:
    """The fields of a signed transaction we compare with the request."""
    if not raw:
        raise ValueError("empty transaction")
    if raw[0] >= 0xC0:
        f = rlp.decode(raw)
        v = int.from_bytes(f[6], "big")
        chain = (v - 35) // 2 if v >= 35 else None
        return {
            "type": 0,
            "nonce": f[0],
            "to": f[3],
            "value": f[4],
            "data": f[5],
            "chainId": chain,
            "auths": [],
        }
    kind = raw[0]
    f = rlp.decode(raw[1:])
    if kind == 1:
        return {
            "type": 1,
            "chainId": f[0],
            "nonce": f[1],
            "to": f[4],
            "value": f[5],
            "data": f[6],
            "auths": [],
        }
    if kind in (2, 4):
        auths = []
        if kind == 4:
            for a in f[9]:
                auths.append({"chainId": int.from_bytes(a[0], "big"), "address": _addr(a[1])})
        return {
            "type": kind,
            "chainId": f[0],
            "nonce": f[1],
            "to": f[5],
            "value": f[6],
            "data": f[7],
            "auths": auths,
        }
    raise ValueError(f"unsupported transaction type {kind}")


def _as_int(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        return int.from_bytes(value, "big")
    return int(value)


def _transaction(params: Any, result: Any, account: str) -> Verdict:
    raw_hex = result.get("raw") if isinstance(result, dict) else result
    raw = bytes.fromhex(_sig(raw_hex)[2:])
    signer = Account.recover_transaction(raw)
    if not _same(signer, account):
        return Verdict("invalid", f"transaction signed by {signer}, not the session account")
    signed = _decode_signed(raw)
    request = params[0]
    if isinstance(request, str):  # a raw unsigned transaction was asked for: compare the essentials
        return Verdict(
            "signed",
            f"valid signed transaction (type {signed['type']}, chainId {_as_int(signed['chainId'])})",
        )
    differences = []
    want_chain = _int(request.get("chainId"))
    got_chain = _as_int(signed["chainId"])
    if want_chain != got_chain:
        differences.append(f"chainId {got_chain} instead of {want_chain}")
    if _int(request.get("nonce")) not in (None, _as_int(signed["nonce"])):
        differences.append("another nonce")
    if _addr(request.get("to")) != _addr(signed["to"]):
        differences.append("another destination")
    if (_int(request.get("value")) or 0) != _as_int(signed["value"]):
        differences.append("another value")
    if _data(request.get("data", request.get("input"))) != _data(signed["data"]):
        differences.append("other calldata")
    for i, auth in enumerate(request.get("authorizationList") or []):
        if i >= len(signed["auths"]) or signed["auths"][i]["chainId"] != _int(auth.get("chainId")):
            differences.append(f"authorization {i} changed")
    if differences:
        return Verdict("variant", "signed a different transaction: " + ", ".join(differences))
    chain_text = (
        "no chain id (valid on every chain)" if got_chain is None else f"chainId {got_chain}"
    )
    return Verdict("signed", f"valid signed transaction by {account}, {chain_text}")
