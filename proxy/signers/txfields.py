"""The normalised transaction a signer is asked to sign (:class:`TxFields`) and its signed result (pure).

Addresses are lowercase 0x hex, quantities ints, ``data`` bytes, storage keys lowercase 0x hex (32 bytes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_utils.address import to_checksum_address

__all__ = ["SignedTransaction", "TxFields"]


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
