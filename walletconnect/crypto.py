"""X25519 key pairs, key agreement, HKDF sym keys, topics and message hashes; pure, no I/O.

Matches ``@walletconnect/utils`` 2.25 ``crypto.ts`` (vectors: ``key-agreement.json``,
``message-hashes.json``). Keys are raw ``bytes``; ``*_hex`` helpers give the SDK's lowercase hex.
Randomness defaults to ``os.urandom`` but every generator accepts explicit bytes for replayable vectors.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from walletconnect.errors import InvalidKeyError

__all__ = [
    "KEY_LENGTH",
    "KeyPair",
    "derive_sym_key",
    "generate_keypair",
    "hash_key",
    "hash_message",
    "public_key_of",
    "random_sym_key",
    "shared_secret",
]

KEY_LENGTH = 32
"""Bytes in an X25519 private key, public key, shared secret and ChaCha20-Poly1305 sym key."""


@dataclass(frozen=True, slots=True)
class KeyPair:
    """An X25519 key pair (raw 32-byte keys). ``repr`` never shows the private key."""

    private_key: bytes
    public_key: bytes

    @property
    def public_key_hex(self) -> str:
        """The public key as the SDK's 64-char lowercase hex."""
        return self.public_key.hex()

    @property
    def private_key_hex(self) -> str:
        """The private key as 64-char lowercase hex (for keychain storage; never log it)."""
        return self.private_key.hex()

    def __repr__(self) -> str:
        return f"KeyPair(public_key={self.public_key_hex!r}, private_key=<redacted>)"


def _check_key(key: bytes, what: str) -> bytes:
    if not isinstance(key, bytes | bytearray) or len(key) != KEY_LENGTH:
        got = len(key) if isinstance(key, bytes | bytearray) else type(key).__name__
        raise InvalidKeyError(f"{what} must be {KEY_LENGTH} bytes, got {got}")
    return bytes(key)


def public_key_of(private_key: bytes) -> bytes:
    """The X25519 public key for a 32-byte private key (clamping as RFC 7748)."""
    priv = X25519PrivateKey.from_private_bytes(_check_key(private_key, "private key"))
    return priv.public_key().public_bytes_raw()


def generate_keypair(seed: bytes | None = None) -> KeyPair:
    """A new X25519 key pair; ``seed`` = the 32 private-key bytes (vectors), else ``os.urandom``."""
    private_key = _check_key(seed, "seed") if seed is not None else os.urandom(KEY_LENGTH)
    return KeyPair(private_key=private_key, public_key=public_key_of(private_key))


def shared_secret(private_key: bytes, peer_public_key: bytes) -> bytes:
    """Raw X25519(private_key, peer_public_key); a low-order peer key raises InvalidKeyError."""
    priv = X25519PrivateKey.from_private_bytes(_check_key(private_key, "private key"))
    pub = X25519PublicKey.from_public_bytes(_check_key(peer_public_key, "peer public key"))
    try:
        return priv.exchange(pub)
    except ValueError as exc:  # all-zero shared secret: the peer sent a low-order point
        raise InvalidKeyError("peer public key is a low-order point") from exc


def derive_sym_key(private_key: bytes, peer_public_key: bytes) -> bytes:
    """``deriveSymKey``: HKDF-SHA256(X25519 shared secret, salt none, info empty, L=32)."""
    ikm = shared_secret(private_key, peer_public_key)
    return HKDF(algorithm=hashes.SHA256(), length=KEY_LENGTH, salt=None, info=None).derive(ikm)


def hash_key(key: bytes) -> str:
    """``hashKey``: lowercase hex sha256 of the raw key bytes (a topic from a sym or public key)."""
    return hashlib.sha256(key).hexdigest()


def hash_message(message: str) -> str:
    """``hashMessage``: lowercase hex sha256 of the UTF-8 text (relay message id, subscription id)."""
    return hashlib.sha256(message.encode("utf-8")).hexdigest()


def random_sym_key() -> bytes:
    """32 random bytes from the OS CSPRNG: a fresh pairing sym key."""
    return os.urandom(KEY_LENGTH)
