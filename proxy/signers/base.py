"""The Signer interface, transaction normalisation, and checks that a signer's result is what was approved (pure).

Every backend (dev key, keystore, remote Clef / web3signer) implements :class:`Signer`. The daemon never
uses a backend directly: :class:`VerifyingSigner` wraps it and checks each result before it can go back to
a dApp: a signature must recover (low s, coincurve) to the session account over the digest the policy
judged, and a signed transaction must decode (strictly, :mod:`proxy.signers.ethtx`) to exactly the
approved fields (type, chainId, nonce, to, value, data, gas, fee fields, access list) and sender.
Anything else raises :class:`~proxy.errors.SignerMismatchError`. The checks never rely on how the backend
produced its bytes.

Messages and typed data are handed to a signer together with their 32-byte digest (EIP-191 / EIP-712),
computed once by the caller (:mod:`proxy.signing`, which checks it against the policy's payload hash). A
local key signs that digest; a remote signer sends the message or full typed data its API needs; either
way the result is verified against the digest.

Transactions are given in JSON-RPC form (``{"from", "to", "value", "data"|"input", "gas", "nonce", ...}``
with hex quantities or ints) and normalised by :func:`normalize_transaction` into :class:`TxFields`.
Nonce, gas and fees must already be filled in (the daemon fills them from the chain before the policy
judges the transaction); a missing one raises :class:`~proxy.errors.SignerInputError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from proxy.errors import SignerInputError, SignerMismatchError
from proxy.signers.digests import (
    DIGEST_BYTES,
    keccak256,
    personal_message_digest,
    typed_data_digest,
)
from proxy.signers.ethtx import decode_signed
from proxy.signers.secp import recover_address
from proxy.signers.txfields import SignedTransaction, TxFields

__all__ = [
    "MAX_TYPED_DATA_BYTES",
    "SignedTransaction",
    "Signer",
    "TxFields",
    "VerifyingSigner",
    "decode_signed_transaction",
    "normalize_signature",
    "normalize_transaction",
    "verify_digest_signature",
    "verify_message_signature",
    "verify_transaction",
    "verify_typed_data_signature",
]

#: Raw transactions and messages larger than this are refused (bytes).
MAX_PAYLOAD_BYTES = 256 * 1024
MAX_TYPED_DATA_BYTES = MAX_PAYLOAD_BYTES
_UINT256_MAX = 2**256 - 1


@runtime_checkable
class Signer(Protocol):
    """One signing backend. Accounts are lowercase 0x hex; signatures are 0x + 130 hex (v = 27/28)."""

    @property
    def name(self) -> str:
        """A short label for logs and the audit log (``dev``, ``local``, ``remote:clef``...)."""
        ...

    def accounts(self) -> tuple[str, ...]:
        """The accounts this signer holds (and the only ones it will sign for)."""
        ...

    async def sign_transaction(self, tx: Mapping[str, Any], chain_id: int) -> SignedTransaction:
        """Sign a JSON-RPC transaction object (``from`` = the account) for ``chain_id``.

        Raises:
            SignerInputError, SignerUnavailableError, SignerRejectedError, SignerMismatchError.
        """
        ...

    async def sign_message(self, account: str, message: bytes, digest: bytes) -> str:
        """Sign ``message`` the EIP-191 ``personal_sign`` way; returns the signature hex.

        ``digest`` is ``message``'s 32-byte EIP-191 digest (:func:`~proxy.signers.digests.personal_message_digest`),
        already checked by the caller: a local key signs it; a remote signer sends ``message``.
        """
        ...

    async def sign_typed_data(
        self, account: str, typed_data: Mapping[str, Any], digest: bytes
    ) -> str:
        """Sign EIP-712 typed data (the full ``{types, primaryType, domain, message}``); returns hex.

        ``digest`` is its 32-byte EIP-712 digest (:func:`~proxy.signers.digests.typed_data_digest`),
        already checked by the caller: a local key signs it; a remote signer sends ``typed_data``.
        """
        ...

    async def close(self) -> None:
        """Release connections; idempotent."""
        ...


# --------------------------------------------------------------------------------------------------
# Normalisation


def _quantity(tx: Mapping[str, Any], key: str, *, required: bool) -> int | None:
    value = tx.get(key)
    if value is None:
        if required:
            raise SignerInputError(f"transaction lacks {key}")
        return None
    if isinstance(value, bool):
        raise SignerInputError(f"transaction {key} is not a quantity")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.startswith(("0x", "0X")) and 2 < len(value) <= 66:
        try:
            number = int(value, 16)
        except ValueError:
            raise SignerInputError(f"transaction {key} is not hex") from None
    else:
        raise SignerInputError(f"transaction {key} must be a 0x hex quantity or an int")
    if not 0 <= number <= _UINT256_MAX:
        raise SignerInputError(f"transaction {key} is out of range")
    return number


def _address_or_none(value: Any, key: str) -> str | None:
    if value is None or value == "" or value == "0x":
        return None
    if not isinstance(value, str) or len(value) != 42 or not value.startswith("0x"):
        raise SignerInputError(f"transaction {key} is not an address")
    try:
        bytes.fromhex(value[2:])
    except ValueError:
        raise SignerInputError(f"transaction {key} is not an address") from None
    return value.lower()


def _data(value: Any) -> bytes:
    if value is None:
        return b""
    if isinstance(value, bytes):
        return value
    if not isinstance(value, str) or not value.startswith("0x") or len(value) % 2:
        raise SignerInputError("transaction data must be 0x hex of whole bytes")
    if len(value) > 2 * MAX_PAYLOAD_BYTES:
        raise SignerInputError("transaction data is too large")
    try:
        return bytes.fromhex(value[2:])
    except ValueError:
        raise SignerInputError("transaction data is not hex") from None


def _access_list(value: Any) -> tuple[tuple[str, tuple[str, ...]], ...]:
    if value is None:
        return ()
    if not isinstance(value, list | tuple):
        raise SignerInputError("accessList must be a list")
    out: list[tuple[str, tuple[str, ...]]] = []
    for item in value:
        if not isinstance(item, Mapping):
            raise SignerInputError("accessList entries must be objects")
        address = _address_or_none(item.get("address"), "accessList.address")
        keys = item.get("storageKeys", [])
        if address is None or not isinstance(keys, list | tuple):
            raise SignerInputError("accessList entry needs address and storageKeys")
        norm: list[str] = []
        for key in keys:
            if isinstance(key, bytes):
                key = "0x" + key.hex()
            if not isinstance(key, str) or len(key) != 66 or not key.startswith("0x"):
                raise SignerInputError("storage keys must be 32-byte 0x hex")
            norm.append(key.lower())
        out.append((address, tuple(norm)))
    return tuple(out)


def normalize_transaction(tx: Mapping[str, Any], chain_id: int) -> tuple[str, TxFields]:
    """Return ``(sender, fields)`` of a JSON-RPC transaction object to be signed on ``chain_id``.

    Raises:
        SignerInputError: a field is missing, malformed, of an unsupported type (3 blob, 4 set-code),
            or ``chainId`` disagrees with ``chain_id``.
    """
    if not isinstance(tx, Mapping):
        raise SignerInputError("transaction must be an object")
    sender = _address_or_none(tx.get("from"), "from")
    if sender is None:
        raise SignerInputError("transaction lacks from")
    tx_chain = _quantity(tx, "chainId", required=False)
    if tx_chain is not None and tx_chain != chain_id:
        raise SignerInputError(f"transaction chainId {tx_chain} is not the request's {chain_id}")
    tx_type = _quantity(tx, "type", required=False)
    if tx_type is None:
        if "maxFeePerGas" in tx or "maxPriorityFeePerGas" in tx:
            tx_type = 2
        elif "accessList" in tx:
            tx_type = 1
        else:
            tx_type = 0
    if tx_type not in (0, 1, 2):
        raise SignerInputError(f"transaction type {tx_type} cannot be signed here")
    if "data" in tx and "input" in tx and tx["data"] != tx["input"]:
        raise SignerInputError("transaction data and input differ")
    gas = _quantity(tx, "gas" if "gas" in tx else "gasLimit", required=True)
    nonce = _quantity(tx, "nonce", required=True)
    value = _quantity(tx, "value", required=False) or 0
    fields = TxFields(
        type=tx_type,
        chain_id=chain_id,
        nonce=nonce or 0,
        to=_address_or_none(tx.get("to"), "to"),
        value=value,
        data=_data(tx.get("data", tx.get("input"))),
        gas=gas or 0,
        gas_price=_quantity(tx, "gasPrice", required=True) if tx_type in (0, 1) else None,
        max_fee_per_gas=_quantity(tx, "maxFeePerGas", required=True) if tx_type == 2 else None,
        max_priority_fee_per_gas=(
            _quantity(tx, "maxPriorityFeePerGas", required=True) if tx_type == 2 else None
        ),
        access_list=_access_list(tx.get("accessList")) if tx_type in (1, 2) else (),
    )
    return sender, fields


# --------------------------------------------------------------------------------------------------
# Decoding and verification of results


def _as_bytes(value: bytes | str, what: str) -> bytes:
    if isinstance(value, bytes):
        return value
    if not isinstance(value, str) or not value.startswith("0x") or len(value) % 2:
        raise SignerMismatchError(f"{what} is not 0x hex")
    if len(value) > 2 * MAX_PAYLOAD_BYTES:
        raise SignerMismatchError(f"{what} is too large")
    try:
        return bytes.fromhex(value[2:])
    except ValueError:
        raise SignerMismatchError(f"{what} is not 0x hex") from None


def decode_signed_transaction(raw: bytes) -> tuple[str, TxFields]:
    """Decode a signed transaction into ``(sender, fields)`` (strictly: see :func:`proxy.signers.ethtx.decode_signed`).

    Raises:
        SignerMismatchError: the bytes are not a canonical signed type 0/1/2 transaction.
    """
    return decode_signed(raw)


def verify_transaction(raw: bytes | str, expected: TxFields, sender: str) -> SignedTransaction:
    """Check that ``raw`` is ``expected`` signed by ``sender``; return it as a SignedTransaction.

    Raises:
        SignerMismatchError: naming the first field that differs.
    """
    blob = _as_bytes(raw, "signed transaction")
    got_sender, got = decode_signed(blob)
    for field in TxFields.__slots__:
        if getattr(got, field) != getattr(expected, field):
            raise SignerMismatchError(
                f"signed transaction differs from the approved one in {field}", field
            )
    if got_sender != sender.lower():
        raise SignerMismatchError("signed transaction is not signed by the session account", "from")
    return SignedTransaction(raw=blob, hash="0x" + keccak256(blob).hex(), sender=got_sender, tx=got)


def normalize_signature(signature: bytes | str) -> bytes:
    """Return a 65-byte r||s||v signature with v in {27, 28}.

    Raises:
        SignerMismatchError: not 65 bytes, or v is not 0/1/27/28.
    """
    blob = _as_bytes(signature, "signature")
    if len(blob) != 65:
        raise SignerMismatchError("signature is not 65 bytes")
    v = blob[64]
    if v in (0, 1):
        v += 27
    if v not in (27, 28):
        raise SignerMismatchError("signature has an invalid v")
    return blob[:64] + bytes([v])


def verify_digest_signature(account: str, digest: bytes, signature: bytes | str) -> str:
    """Check ``signature`` over the 32-byte ``digest`` recovers to ``account`` (low s only); return it as hex.

    Raises:
        SignerMismatchError: the signature is malformed, high-s, or recovers to another address.
    """
    sig = normalize_signature(signature)
    if recover_address(digest, sig) != account.lower():
        raise SignerMismatchError("signature does not recover to the account", "signature")
    return "0x" + sig.hex()


def verify_message_signature(account: str, message: bytes, signature: bytes | str) -> str:
    """Check an EIP-191 ``personal_sign`` signature of ``message`` recovers to ``account``; return it as hex."""
    return verify_digest_signature(account, personal_message_digest(message), signature)


def verify_typed_data_signature(
    account: str, typed_data: Mapping[str, Any], signature: bytes | str
) -> str:
    """Check an EIP-712 signature of ``typed_data`` recovers to ``account``; return it as hex.

    Raises:
        SignerInputError: the typed data does not encode. SignerMismatchError: as verify_digest_signature.
    """
    return verify_digest_signature(account, typed_data_digest(typed_data), signature)


def _check_digest(digest: bytes) -> None:
    if not isinstance(digest, bytes) or len(digest) != DIGEST_BYTES:
        raise SignerInputError("the digest to sign must be 32 bytes")


class VerifyingSigner:
    """Wraps any :class:`Signer` and verifies every result before returning it (see module docstring)."""

    def __init__(self, inner: Signer) -> None:
        self._inner = inner

    @property
    def inner(self) -> Signer:
        """The wrapped backend."""
        return self._inner

    @property
    def name(self) -> str:
        """The backend's label."""
        return self._inner.name

    def accounts(self) -> tuple[str, ...]:
        """The backend's accounts."""
        return self._inner.accounts()

    async def sign_transaction(self, tx: Mapping[str, Any], chain_id: int) -> SignedTransaction:
        """Sign through the backend, then check the result decodes to exactly ``tx``."""
        sender, expected = normalize_transaction(tx, chain_id)
        signed = await self._inner.sign_transaction(tx, chain_id)
        return verify_transaction(signed.raw, expected, sender)

    async def sign_message(self, account: str, message: bytes, digest: bytes) -> str:
        """Sign through the backend, then check the signature recovers to ``account`` over ``digest``."""
        _check_digest(digest)
        signature = await self._inner.sign_message(account, message, digest)
        return verify_digest_signature(account, digest, signature)

    async def sign_typed_data(
        self, account: str, typed_data: Mapping[str, Any], digest: bytes
    ) -> str:
        """Sign through the backend, then check the signature recovers to ``account`` over ``digest``."""
        _check_digest(digest)
        signature = await self._inner.sign_typed_data(account, typed_data, digest)
        return verify_digest_signature(account, digest, signature)

    async def close(self) -> None:
        """Close the backend."""
        await self._inner.close()
