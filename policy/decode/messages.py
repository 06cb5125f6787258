"""``personal_sign`` (incl. SIWE) and ``eth_sign`` -> Action (pure, no I/O).

personal_sign params are ``[message, address]``; the reversed order is tolerated exactly as
wallets do (first is an address and the second is not). A message that is ``0x`` + even-length hex
is bytes, anything else is UTF-8 text. It is *blind* (``raw.sign``, never delegable) when it is
exactly 32 bytes given as hex, is not valid UTF-8, or holds control characters other than tab /
newline / carriage return. Text carrying the SIWE header phrase anywhere must parse as strict
EIP-4361 (``siwe.login``; ``Resources`` add ``authority.grant``). Payload hash = EIP-191 hash.

eth_sign (``[address, data]``) is always ``raw.sign`` with ``chain_unbound``; its payload hash is
the EIP-191 hash of the data (what geth signs), noted in details.
"""

from __future__ import annotations

import re
from typing import Any

from policy.actions import ActionClass, NonceKind, ProtocolNonce
from policy.decode.context import Ctx
from policy.decode.siwe import looks_like_siwe, parse_siwe
from policy.decode.values import address, hex_bytes, keccak_hex
from policy.errors import DecodeError
from policy.request import SigningRequest

__all__ = ["decode_eth_sign", "decode_personal_sign", "eip191_hash"]

_ADDRESS_RE = re.compile(r"0x[0-9a-fA-F]{40}\Z")
_HEX_RE = re.compile(r"0x(?:[0-9a-fA-F]{2})*\Z")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def eip191_hash(message: bytes) -> str:
    """keccak256("\\x19Ethereum Signed Message:\\n" + len + message)."""
    return keccak_hex(b"\x19Ethereum Signed Message:\n" + str(len(message)).encode() + message)


def _is_address(v: Any) -> bool:
    return isinstance(v, str) and bool(_ADDRESS_RE.match(v))


def decode_personal_sign(request: SigningRequest, ctx: Ctx) -> str:
    """Decode into ``ctx.out``; return the payload hash."""
    params = request.params
    if not isinstance(params, list) or len(params) not in (2, 3):
        raise DecodeError("bad_params", "personal_sign takes [message, address]")
    if len(params) == 3 and params[2] not in (None, ""):
        raise DecodeError("bad_params", "personal_sign: unexpected third parameter")
    msg, addr = params[0], params[1]
    if _is_address(msg) and not _is_address(addr):
        msg, addr = addr, msg
        ctx.out.detail("params_reversed", "address first")
    account = address(addr, "address")
    if not isinstance(msg, str):
        raise DecodeError("bad_params", "personal_sign message must be a string")
    limit = ctx.limits.max_message_bytes
    if len(msg) > 2 + 2 * limit:
        raise DecodeError("too_large", f"message over {limit} bytes")
    is_hex = bool(_HEX_RE.match(msg))
    raw = bytes.fromhex(msg[2:]) if is_hex else msg.encode("utf-8", "surrogatepass")
    if len(raw) > limit:
        raise DecodeError("too_large", f"message over {limit} bytes")
    out = ctx.out
    out.accounts.add(account)
    payload_hash = eip191_hash(raw)
    blind = None
    text = ""
    if is_hex and len(raw) == 32:
        blind = "32-byte payload (a hash: could be a transaction, permit or Safe tx hash)"
    else:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            blind = "binary payload (not UTF-8 text)"
        else:
            if _CONTROL_RE.search(text):
                blind = "text with control characters"
    out.detail("encoding", "hex" if is_hex else "utf-8")
    out.detail("message_bytes", len(raw))
    if blind is not None:
        out.add_class(ActionClass.RAW_SIGN, f"personal_sign of a blind payload: {blind}")
        return payload_hash
    if looks_like_siwe(text):
        _siwe(text, ctx)
    else:
        out.add_class(ActionClass.MESSAGE_SIGN)
    return payload_hash


def _siwe(text: str, ctx: Ctx) -> None:
    m = parse_siwe(text)
    out = ctx.out
    out.add_class(ActionClass.SIWE_LOGIN)
    out.chain_ids.add(m.chain_id)
    out.accounts.add(m.address)
    out.domain = m.domain
    out.nonces.append(ProtocolNonce(NonceKind.SIWE, (m.domain, m.nonce)))
    if m.expiration_time is not None:
        out.expires_at = m.expiration_time
        out.deadlines.append(m.expiration_time)
    out.detail("siwe_uri", m.uri)
    out.detail("siwe_issued_at", m.issued_at)
    if m.scheme:
        out.detail("siwe_scheme", m.scheme)
    if m.not_before is not None:
        out.detail("siwe_not_before", m.not_before)
    if m.request_id is not None:
        out.detail("siwe_request_id", m.request_id)
    for r in m.resources:
        out.detail("siwe_resource", r)
    if m.resources:
        out.add_class(
            ActionClass.AUTHORITY_GRANT,
            f"SIWE message for {m.domain} lists {len(m.resources)} Resources (capability grants)",
        )


def decode_eth_sign(request: SigningRequest, ctx: Ctx) -> str:
    """eth_sign: always blind; decode into ``ctx.out`` and return the payload hash."""
    params = request.params
    if not isinstance(params, list) or len(params) != 2:
        raise DecodeError("bad_params", "eth_sign takes [address, data]")
    account = address(params[0], "address")
    data = hex_bytes(params[1], "data", max_bytes=ctx.limits.max_message_bytes)
    out = ctx.out
    out.accounts.add(account)
    out.chain_unbound = True
    out.add_class(
        ActionClass.RAW_SIGN, f"eth_sign of {len(data)} raw bytes (no domain or chain binding)"
    )
    out.detail("payload_hash", "EIP-191 hash of the data (geth eth_sign)")
    return eip191_hash(data)
