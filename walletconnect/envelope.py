"""Type 0/1/2 envelopes: seal, parse and open WalletConnect relay messages; pure, no I/O.

Byte layouts (before base64), as ``@walletconnect/utils`` 2.25 ``serialize`` / ``deserialize``::

    type 0: 0x00 | iv[12] | ChaCha20-Poly1305(symKey, iv, utf8(text)) (ciphertext | tag[16])
    type 1: 0x01 | senderPublicKey[32] | iv[12] | ciphertext | tag[16]   (wc_sessionAuthenticate replies)
    type 2: 0x02 | utf8(text)                                            (link mode, unencrypted)

The receiver reads byte 0: 1 is type 1, 2 is type 2, **anything else is parsed as type 0** (the SDK
never rejects an unknown type byte, and the Poly1305 tag does not cover it). Pass ``strict=True``
to reject unknown type bytes instead. Output is standard base64 with padding (relay traffic); input
is decoded leniently (missing padding and the base64url alphabet are accepted, as the SDK does).
Vectors: ``envelope-type0.json``, ``envelope-type1.json``, ``envelope-type2.json``.
"""

from __future__ import annotations

import base64
import binascii
import os
from dataclasses import dataclass
from enum import IntEnum

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from walletconnect.crypto import KEY_LENGTH, derive_sym_key
from walletconnect.errors import DecryptionError, EnvelopeError, InvalidKeyError

__all__ = [
    "IV_LENGTH",
    "MAX_ENVELOPE_BYTES",
    "TAG_LENGTH",
    "Envelope",
    "EnvelopeType",
    "decode_base64",
    "open_envelope",
    "open_sealed",
    "parse_envelope",
    "seal",
    "seal_type1",
    "seal_type2",
    "serialize_envelope",
    "type1_sym_key",
]

IV_LENGTH = 12
TAG_LENGTH = 16
MAX_ENVELOPE_BYTES = 1024 * 1024
"""Default limit on an envelope's base64 text length (1 MiB), checked before decoding."""


class EnvelopeType(IntEnum):
    """The envelope type byte."""

    TYPE_0 = 0
    TYPE_1 = 1
    TYPE_2 = 2


@dataclass(frozen=True, slots=True)
class Envelope:
    """A decoded (still sealed) envelope.

    ``iv`` is empty for type 2; ``sealed`` is ciphertext|tag (types 0/1) or the UTF-8 plaintext
    (type 2); ``sender_public_key`` is set for type 1 only. ``type_byte`` is the raw byte 0, which
    differs from ``type`` only for unknown bytes parsed as type 0.
    """

    type: EnvelopeType
    iv: bytes
    sealed: bytes
    sender_public_key: bytes | None = None
    type_byte: int = 0


def _b64(data: bytes, base64url: bool) -> str:
    if base64url:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")
    return base64.b64encode(data).decode("ascii")


def decode_base64(text: str) -> bytes:
    """Lenient base64: standard or base64url alphabet, padding optional; EnvelopeError otherwise."""
    if not isinstance(text, str):
        raise EnvelopeError(f"envelope must be text, got {type(text).__name__}")
    if not text.isascii():
        raise EnvelopeError("envelope contains non-ASCII characters")
    body = text.rstrip("=")
    if "=" in body or len(text) - len(body) > 2:
        raise EnvelopeError("misplaced base64 padding")
    if len(body) % 4 == 1:
        raise EnvelopeError("truncated base64 (length % 4 == 1)")
    body = body.replace("-", "+").replace("_", "/")
    try:
        return base64.b64decode(body + "=" * (-len(body) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise EnvelopeError("invalid base64 character") from exc


def _check_sym_key(sym_key: bytes) -> bytes:
    if not isinstance(sym_key, bytes | bytearray) or len(sym_key) != KEY_LENGTH:
        raise InvalidKeyError(f"sym key must be {KEY_LENGTH} bytes")
    return bytes(sym_key)


def _encrypt(plaintext: str, sym_key: bytes, iv: bytes | None) -> tuple[bytes, bytes]:
    nonce = os.urandom(IV_LENGTH) if iv is None else bytes(iv)
    if len(nonce) != IV_LENGTH:
        raise EnvelopeError(f"iv must be {IV_LENGTH} bytes, got {len(nonce)}")
    sealed = ChaCha20Poly1305(_check_sym_key(sym_key)).encrypt(
        nonce, plaintext.encode("utf-8"), None
    )
    return nonce, sealed


def seal(
    plaintext: str, sym_key: bytes, *, iv: bytes | None = None, base64url: bool = False
) -> str:
    """A type-0 envelope of ``plaintext`` under ``sym_key`` (random 12-byte IV unless given)."""
    nonce, sealed = _encrypt(plaintext, sym_key, iv)
    return _b64(b"\x00" + nonce + sealed, base64url)


def seal_type1(
    plaintext: str,
    sym_key: bytes,
    sender_public_key: bytes,
    *,
    iv: bytes | None = None,
    base64url: bool = False,
) -> str:
    """A type-1 envelope: the sender's X25519 public key travels in clear before the IV."""
    if not isinstance(sender_public_key, bytes | bytearray) or len(sender_public_key) != KEY_LENGTH:
        raise InvalidKeyError(f"sender public key must be {KEY_LENGTH} bytes")
    nonce, sealed = _encrypt(plaintext, sym_key, iv)
    return _b64(b"\x01" + bytes(sender_public_key) + nonce + sealed, base64url)


def seal_type2(plaintext: str, *, base64url: bool = False) -> str:
    """A type-2 (unencrypted, link-mode) envelope."""
    return _b64(b"\x02" + plaintext.encode("utf-8"), base64url)


def serialize_envelope(envelope: Envelope, *, base64url: bool = False) -> str:
    """Re-encode a parsed envelope (keeps its raw type byte)."""
    if envelope.type is EnvelopeType.TYPE_1:
        raw = b"\x01" + (envelope.sender_public_key or b"") + envelope.iv + envelope.sealed
    elif envelope.type is EnvelopeType.TYPE_2:
        raw = b"\x02" + envelope.sealed
    else:
        raw = bytes([envelope.type_byte]) + envelope.iv + envelope.sealed
    return _b64(raw, base64url)


def parse_envelope(
    message: str, *, max_size: int = MAX_ENVELOPE_BYTES, strict: bool = False
) -> Envelope:
    """Decode an envelope's framing without decrypting it.

    Raises EnvelopeError if the text is over ``max_size``, not base64, empty, shorter than its
    header (type 0: 13 bytes, type 1: 45 bytes), or (``strict``) has an unknown type byte.
    """
    if not isinstance(message, str):
        raise EnvelopeError(f"envelope must be text, got {type(message).__name__}")
    if len(message) > max_size:
        raise EnvelopeError(f"envelope too large: {len(message)} > {max_size} characters")
    raw = decode_base64(message)
    if not raw:
        raise EnvelopeError("empty envelope")
    type_byte = raw[0]
    if type_byte == EnvelopeType.TYPE_2:
        return Envelope(EnvelopeType.TYPE_2, b"", raw[1:], None, type_byte)
    if type_byte == EnvelopeType.TYPE_1:
        header = 1 + KEY_LENGTH + IV_LENGTH
        if len(raw) < header:
            raise EnvelopeError(f"type-1 envelope too short: {len(raw)} < {header} bytes")
        key, iv = raw[1 : 1 + KEY_LENGTH], raw[1 + KEY_LENGTH : header]
        return Envelope(EnvelopeType.TYPE_1, iv, raw[header:], key, type_byte)
    if strict and type_byte != EnvelopeType.TYPE_0:
        raise EnvelopeError(f"unknown envelope type byte {type_byte}")
    header = 1 + IV_LENGTH
    if len(raw) < header:
        raise EnvelopeError(f"type-0 envelope too short: {len(raw)} < {header} bytes")
    return Envelope(EnvelopeType.TYPE_0, raw[1:header], raw[header:], None, type_byte)


def _utf8(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DecryptionError("plaintext is not valid UTF-8") from exc


def open_sealed(envelope: Envelope, sym_key: bytes) -> str:
    """Decrypt a parsed envelope (types 0/1 with ``sym_key``; type 2 needs no key)."""
    if envelope.type is EnvelopeType.TYPE_2:
        return _utf8(envelope.sealed)
    if len(envelope.sealed) < TAG_LENGTH:
        raise DecryptionError(f"ciphertext shorter than the {TAG_LENGTH}-byte tag")
    try:
        plain = ChaCha20Poly1305(_check_sym_key(sym_key)).decrypt(
            envelope.iv, envelope.sealed, None
        )
    except InvalidTag as exc:
        raise DecryptionError(
            "authentication tag mismatch (wrong key or tampered message)"
        ) from exc
    return _utf8(plain)


def open_envelope(
    message: str,
    sym_key: bytes,
    *,
    max_size: int = MAX_ENVELOPE_BYTES,
    strict: bool = False,
) -> str:
    """Parse and decrypt ``message``; type 2 returns its plaintext (callers decide to drop it).

    Raises EnvelopeError for bad framing, DecryptionError for a bad tag, a ciphertext shorter
    than the tag, or a plaintext that is not UTF-8 (the SDK would silently drop the message).
    """
    return open_sealed(parse_envelope(message, max_size=max_size, strict=strict), sym_key)


def type1_sym_key(envelope: Envelope, receiver_private_key: bytes) -> bytes:
    """The sym key of a type-1 envelope: deriveSymKey(receiverPriv, embedded senderPublicKey)."""
    if envelope.type is not EnvelopeType.TYPE_1 or envelope.sender_public_key is None:
        raise EnvelopeError("not a type-1 envelope")
    return derive_sym_key(receiver_private_key, envelope.sender_public_key)
