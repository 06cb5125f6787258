"""secp256k1 over 32-byte digests with coincurve: sign as ``r || s || v`` and recover the signer's address (pure).

Signatures are Ethereum's 65-byte form with ``v`` in {27, 28} and a low ``s`` (``s <= n/2``, EIP-2):
libsecp256k1 only produces low-s signatures, and :func:`recover_address` refuses high-s ones, so a
malleated copy of a signature never verifies here. Addresses are lowercase 0x hex (no EIP-55 checksum:
computing one costs a keccak and nothing here needs it).
"""

from __future__ import annotations

import coincurve

from proxy.errors import SignerMismatchError
from proxy.signers.digests import DIGEST_BYTES, keccak256

__all__ = ["SECP256K1_N", "SIGNATURE_BYTES", "SigningKey", "address_of", "recover_address"]

#: The order of the secp256k1 group.
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_HALF_N = SECP256K1_N // 2
#: ``r || s || v``.
SIGNATURE_BYTES = 65


def address_of(public_key: coincurve.PublicKey) -> str:
    """The Ethereum address (lowercase 0x hex) of ``public_key``: the last 20 bytes of keccak(x || y)."""
    return "0x" + keccak256(public_key.format(compressed=False)[1:])[12:].hex()


class SigningKey:
    """One secp256k1 private key. Its repr shows the address only; the key never leaves this object."""

    __slots__ = ("_address", "_key")

    def __init__(self, secret: bytes) -> None:
        """Hold ``secret`` (32 bytes, 0 < secret < n).

        Raises:
            ValueError: not a valid private key (the message never contains the key).
        """
        if len(secret) != 32:
            raise ValueError("a secp256k1 private key is 32 bytes")
        try:
            self._key = coincurve.PrivateKey(secret)
        except ValueError:
            raise ValueError("not a valid secp256k1 private key") from None
        self._address = address_of(self._key.public_key)

    def __repr__(self) -> str:
        return f"SigningKey(address={self._address})"

    @property
    def address(self) -> str:
        """The key's address, lowercase 0x hex."""
        return self._address

    def sign_digest(self, digest: bytes) -> bytes:
        """Sign a 32-byte ``digest`` as-is (no further hashing); return ``r || s || v``, v in {27, 28}, low s.

        Raises:
            ValueError: ``digest`` is not 32 bytes.
        """
        if len(digest) != DIGEST_BYTES:
            raise ValueError("a digest is 32 bytes")
        signature = self._key.sign_recoverable(digest, hasher=None)
        recid = signature[64]
        if recid > 1:  # r >= n: probability ~2^-127, and Ethereum's v cannot express it
            raise ValueError("signature needs a recovery id Ethereum cannot express")
        return signature[:64] + bytes((27 + recid,))


def recover_address(digest: bytes, signature: bytes) -> str:
    """The address whose key made ``signature`` (``r || s || v``, v in {27, 28}) over the 32-byte ``digest``.

    Raises:
        SignerMismatchError: wrong lengths, v not 27/28, r or s zero or out of range, high s, or no
            public key recovers.
    """
    if len(digest) != DIGEST_BYTES or len(signature) != SIGNATURE_BYTES:
        raise SignerMismatchError("signature or digest has the wrong length", "signature")
    v = signature[64]
    if v not in (27, 28):
        raise SignerMismatchError("signature has an invalid v", "signature")
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:64], "big")
    if not 0 < r < SECP256K1_N:
        raise SignerMismatchError("signature r is out of range", "signature")
    if not 0 < s <= _HALF_N:
        raise SignerMismatchError("signature s is zero, out of range or high (EIP-2)", "signature")
    try:
        public_key = coincurve.PublicKey.from_signature_and_message(
            signature[:64] + bytes((v - 27,)), digest, hasher=None
        )
    except ValueError:
        raise SignerMismatchError(
            "signature does not recover to a public key", "signature"
        ) from None
    return address_of(public_key)
