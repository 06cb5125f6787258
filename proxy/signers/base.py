"""The Signer interface, transaction normalisation, and checks that a signer's result is what was approved (pure).

Every backend (dev key, keystore, remote Clef / web3signer) implements :class:`Signer`. The daemon never
uses a backend directly: :class:`VerifyingSigner` wraps it and checks each result before it can go back to
a dApp: a signature must recover to the session account, and a signed transaction must decode to exactly
the approved fields (type, chainId, nonce, to, value, data, gas, fee fields, access list) and sender.
Anything else raises :class:`~proxy.errors.SignerMismatchError`.

Transactions are given in JSON-RPC form (``{"from", "to", "value", "data"|"input", "gas", "nonce", ...}``
with hex quantities or ints) and normalised by :func:`normalize_transaction` into :class:`TxFields`.
Nonce, gas and fees must already be filled in (the daemon fills them from the chain before the policy
judges the transaction); a missing one raises :class:`~proxy.errors.SignerInputError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from eth_account import Account
from eth_account.messages import encode_defunct, encode_typed_data
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from proxy.errors import SignerInputError, SignerMismatchError

__all__ = [
    "MAX_TYPED_DATA_BYTES",
    "SignedTransaction",
    "Signer",
    "TxFields",
    "VerifyingSigner",
    "decode_signed_transaction",
    "normalize_signature",
    "normalize_transaction",
    "verify_message_signature",
    "verify_transaction",
    "verify_typed_data_signature",
]

#: Raw transactions and messages larger than this are refused (bytes).
MAX_PAYLOAD_BYTES = 256 * 1024
MAX_TYPED_DATA_BYTES = MAX_PAYLOAD_BYTES
_UINT256_MAX = 2**256 - 1


@dataclass(frozen=True, slots=True)
class TxFields:
    """An unsigned transaction's signed-over fields, normalised (addresses lowercase, ints, bytes)."""

    type: int  # 0 legacy (EIP-155), 1 access list, 2 dynamic fee
    chain_id: int
    nonce: int
    to: str | None  # None = contract creation
    value: int
    data: bytes
    gas: int
    gas_price: int | None = None  # types 0 and 1
    max_fee_per_gas: int | None = None  # type 2
    max_priority_fee_per_gas: int | None = None  # type 2
    access_list: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def to_eth_account(self) -> dict[str, Any]:
        """The dict ``eth_account.Account.sign_transaction`` takes."""
        out: dict[str, Any] = {
            "chainId": self.chain_id,
            "nonce": self.nonce,
            "value": self.value,
            "data": self.data,
            "gas": self.gas,
        }
        if self.to is not None:
            out["to"] = to_checksum_address(self.to)
        if self.type == 2:
            out["type"] = 2
            out["maxFeePerGas"] = self.max_fee_per_gas
            out["maxPriorityFeePerGas"] = self.max_priority_fee_per_gas
        else:
            out["gasPrice"] = self.gas_price
        if self.type in (1, 2):
            out["type"] = self.type
            out["accessList"] = [
                {"address": to_checksum_address(addr), "storageKeys": list(keys)}
                for addr, keys in self.access_list
            ]
        return out

    def to_json_rpc(self, sender: str) -> dict[str, Any]:
        """The JSON-RPC transaction object (hex quantities) remote signers take."""
        out: dict[str, Any] = {
            "from": to_checksum_address(sender),
            "chainId": hex(self.chain_id),
            "nonce": hex(self.nonce),
            "value": hex(self.value),
            "data": "0x" + self.data.hex(),
            "gas": hex(self.gas),
        }
        if self.to is not None:
            out["to"] = to_checksum_address(self.to)
        if self.type == 2:
            out["maxFeePerGas"] = hex(self.max_fee_per_gas or 0)
            out["maxPriorityFeePerGas"] = hex(self.max_priority_fee_per_gas or 0)
        else:
            out["gasPrice"] = hex(self.gas_price or 0)
        if self.type in (1, 2):
            out["type"] = hex(self.type)
            out["accessList"] = [
                {"address": to_checksum_address(addr), "storageKeys": list(keys)}
                for addr, keys in self.access_list
            ]
        return out


@dataclass(frozen=True, slots=True)
class SignedTransaction:
    """A signed transaction: ``raw`` bytes to broadcast, its ``hash`` (0x keccak), ``sender`` and fields."""

    raw: bytes
    hash: str
    sender: str
    tx: TxFields

    @property
    def raw_hex(self) -> str:
        """``raw`` as 0x hex (what ``eth_signTransaction`` returns)."""
        return "0x" + self.raw.hex()


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

    async def sign_message(self, account: str, message: bytes) -> str:
        """Sign ``message`` the EIP-191 ``personal_sign`` way; returns the signature hex."""
        ...

    async def sign_typed_data(self, account: str, typed_data: Mapping[str, Any]) -> str:
        """Sign EIP-712 typed data (the full ``{types, primaryType, domain, message}``); returns hex."""
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


def _addr(value: Any) -> str | None:
    if value is None:
        return None
    raw = bytes(value)
    return "0x" + raw.hex() if raw else None


def _hex32(value: Any) -> str:
    if isinstance(value, int):
        return f"0x{value:064x}"
    return "0x" + bytes(value).rjust(32, b"\0").hex()


def _decoded_access_list(items: Any) -> tuple[tuple[str, tuple[str, ...]], ...]:
    out = []
    for item in items:
        address = item["address"]
        address = address.lower() if isinstance(address, str) else "0x" + bytes(address).hex()
        out.append((address, tuple(_hex32(key) for key in item["storageKeys"])))
    return tuple(out)


def decode_signed_transaction(raw: bytes) -> tuple[str, TxFields]:
    """Decode a signed transaction into ``(sender, fields)``.

    Raises:
        SignerMismatchError: the bytes are not a signed type 0/1/2 transaction.
    """
    # eth-account / rlp raise many different exception types on garbage; this is the boundary.
    from eth_account._utils.legacy_transactions import Transaction, vrs_from
    from eth_account._utils.signing import hash_of_signed_transaction
    from eth_account.typed_transactions.typed_transaction import TypedTransaction
    from hexbytes import HexBytes

    try:
        # Decoded once; the sender is recovered from that decoding's signing hash and v, r, s,
        # as Account.recover_transaction does (which would decode the bytes a second time).
        if raw and raw[0] in (1, 2):
            typed = TypedTransaction.from_bytes(HexBytes(raw))
            sender = str(Account._recover_hash(typed.hash(), vrs=typed.vrs())).lower()
            decoded = typed.as_dict()
            tx_type = raw[0]
            chain_id = int(decoded["chainId"])
        elif raw and raw[0] >= 0xC0:
            legacy = Transaction.from_bytes(raw)
            sender = str(
                Account._recover_hash(hash_of_signed_transaction(legacy), vrs=vrs_from(legacy))
            ).lower()
            decoded = legacy.as_dict()
            tx_type = 0
            v = int(decoded["v"])
            if v < 35:
                raise SignerMismatchError("legacy transaction without EIP-155 chain id", "chainId")
            chain_id = (v - 35) // 2
        else:
            raise SignerMismatchError("not a type 0, 1 or 2 transaction", "type")
        fields = TxFields(
            type=tx_type,
            chain_id=chain_id,
            nonce=int(decoded["nonce"]),
            to=_addr(decoded.get("to")),
            value=int(decoded["value"]),
            data=bytes(decoded["data"]),
            gas=int(decoded["gas"]),
            gas_price=int(decoded["gasPrice"]) if tx_type in (0, 1) else None,
            max_fee_per_gas=int(decoded["maxFeePerGas"]) if tx_type == 2 else None,
            max_priority_fee_per_gas=int(decoded["maxPriorityFeePerGas"]) if tx_type == 2 else None,
            access_list=_decoded_access_list(decoded.get("accessList", ()))
            if tx_type in (1, 2)
            else (),
        )
    except SignerMismatchError:
        raise
    except Exception as exc:  # noqa: BLE001 - foreign decoder on untrusted bytes: map every failure
        raise SignerMismatchError(
            f"signed transaction does not decode ({type(exc).__name__})"
        ) from None
    return sender, fields


def verify_transaction(raw: bytes | str, expected: TxFields, sender: str) -> SignedTransaction:
    """Check that ``raw`` is ``expected`` signed by ``sender``; return it as a SignedTransaction.

    Raises:
        SignerMismatchError: naming the first field that differs.
    """
    blob = _as_bytes(raw, "signed transaction")
    got_sender, got = decode_signed_transaction(blob)
    for field in TxFields.__slots__:
        if getattr(got, field) != getattr(expected, field):
            raise SignerMismatchError(
                f"signed transaction differs from the approved one in {field}", field
            )
    if got_sender != sender.lower():
        raise SignerMismatchError("signed transaction is not signed by the session account", "from")
    return SignedTransaction(raw=blob, hash="0x" + keccak(blob).hex(), sender=got_sender, tx=got)


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


def _recover(signable: Any, signature: bytes) -> str:
    try:
        return str(Account.recover_message(signable, signature=signature)).lower()
    except Exception as exc:  # noqa: BLE001 - eth-keys raises several types on a bad signature
        raise SignerMismatchError(f"signature does not recover ({type(exc).__name__})") from None


def verify_message_signature(account: str, message: bytes, signature: bytes | str) -> str:
    """Check an EIP-191 ``personal_sign`` signature of ``message`` recovers to ``account``; return it as hex."""
    sig = normalize_signature(signature)
    if _recover(encode_defunct(primitive=message), sig) != account.lower():
        raise SignerMismatchError("message signature does not recover to the account", "signature")
    return "0x" + sig.hex()


def encode_typed(typed_data: Mapping[str, Any]) -> Any:
    """Return eth-account's signable message for EIP-712 ``typed_data``.

    Raises:
        SignerInputError: the typed data is malformed.
    """
    try:
        return encode_typed_data(full_message=dict(typed_data))
    except Exception as exc:  # noqa: BLE001 - eth-account raises many types on malformed typed data
        raise SignerInputError(f"typed data does not encode ({type(exc).__name__})") from None


def verify_typed_data_signature(
    account: str, typed_data: Mapping[str, Any], signature: bytes | str
) -> str:
    """Check an EIP-712 signature of ``typed_data`` recovers to ``account``; return it as hex."""
    sig = normalize_signature(signature)
    if _recover(encode_typed(typed_data), sig) != account.lower():
        raise SignerMismatchError(
            "typed-data signature does not recover to the account", "signature"
        )
    return "0x" + sig.hex()


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

    async def sign_message(self, account: str, message: bytes) -> str:
        """Sign through the backend, then check the signature recovers to ``account``."""
        signature = await self._inner.sign_message(account, message)
        return verify_message_signature(account, message, signature)

    async def sign_typed_data(self, account: str, typed_data: Mapping[str, Any]) -> str:
        """Sign through the backend, then check the signature recovers to ``account``."""
        encode_typed(typed_data)  # refuse malformed input before asking the backend
        signature = await self._inner.sign_typed_data(account, typed_data)
        return verify_typed_data_signature(account, typed_data, signature)

    async def close(self) -> None:
        """Close the backend."""
        await self._inner.close()
