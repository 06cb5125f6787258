"""The 32-byte digests Ethereum signs: keccak-256, EIP-191 ``personal_sign`` and EIP-712 typed data (pure).

keccak-256 comes from safe-pysha3 (C, ~2.5 us per short input) rather than eth-utils' pycryptodome
backend (~13-18 us): a verified signature takes several hashes, so it is a visible share of the signing path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from eth_account.messages import encode_typed_data
from sha3 import keccak_256  # type: ignore[import-untyped]  # safe-pysha3 ships no type hints

from proxy.errors import SignerInputError

__all__ = ["DIGEST_BYTES", "keccak256", "personal_message_digest", "typed_data_digest"]

#: Every digest here is this long.
DIGEST_BYTES = 32


def keccak256(data: bytes) -> bytes:
    """keccak-256 (Ethereum's, not NIST SHA3-256) of ``data``."""
    return keccak_256(data).digest()  # type: ignore[no-any-return]


def personal_message_digest(message: bytes) -> bytes:
    """The EIP-191 version 0x45 (``personal_sign``) digest of ``message``."""
    return keccak256(b"\x19Ethereum Signed Message:\n" + str(len(message)).encode() + message)


def typed_data_digest(typed_data: Mapping[str, Any]) -> bytes:
    """The EIP-712 digest ``keccak(0x19 0x01 || domainSeparator || hashStruct(message))``, via eth-account.

    Raises:
        SignerInputError: the typed data is malformed.
    """
    try:
        signable = encode_typed_data(full_message=dict(typed_data))
    except Exception as exc:  # noqa: BLE001 - eth-account raises many types on malformed typed data
        raise SignerInputError(f"typed data does not encode ({type(exc).__name__})") from None
    return keccak256(b"\x19" + signable.version + signable.header + signable.body)
