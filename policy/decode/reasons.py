"""Every ``DecodeError.reason`` code the decoder raises, with one line each (pure constants)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

__all__ = ["DECODE_REASONS"]

DECODE_REASONS: Mapping[str, str] = MappingProxyType(
    {
        "abi_decode_failed": "calldata does not decode as the function's ABI (short, bad padding, bad lengths)",
        "abi_noncanonical": "ABI encoding is not canonical (aliased offsets or trailing bytes)",
        "bad_address": "an address field is not 0x + 40 hex digits",
        "bad_calldata": "calldata of 1-3 bytes (no complete selector)",
        "bad_hex": "a bytes field is not 0x-prefixed even-length hex",
        "bad_multisend": "Safe MultiSend packed transactions are truncated or overrun",
        "bad_operation": "Safe operation byte other than 0 (call) or 1 (delegatecall)",
        "bad_params": "JSON-RPC params have the wrong shape for the method",
        "bad_path": "a Uniswap swap path is malformed",
        "bad_quantity": "a quantity is not a 0x hex string or JSON integer",
        "bad_rlp": "a raw transaction is not valid canonical RLP of a known layout",
        "bad_signature": "a signature (raw tx or 7702 authorization) is invalid or malleable",
        "conflicting_fee_fields": "gasPrice together with EIP-1559 fees, or fees that do not fit the type",
        "conflicting_fields": "fields contradict each other (data vs input, type vs accessList/authorizationList)",
        "depth_exceeded": "wrapper or JSON nesting deeper than the limit",
        "siwe_malformed": "text carries the SIWE header but is not a strict EIP-4361 message",
        "too_large": "a size, count or value limit was exceeded",
        "typed_data_ambiguous": "EIP-712 data could be read two ways (duplicate keys/fields, look-alike shapes)",
        "typed_data_malformed": "EIP-712 data violates the schema or value rules",
        "undecodable": "a decoder failed unexpectedly (safety net; always a bug to report)",
        "unknown_exec_mode": "ERC-7579 execution mode or call type we do not decode",
        "unknown_field": "a transaction or batch object has fields we do not understand",
        "unknown_uni_command": "a Universal Router command we do not decode",
        "unsupported_capability": "an EIP-5792 capability that is not marked optional",
        "unsupported_method": "the JSON-RPC method is not a signing request we decode",
        "unsupported_tx_type": "transaction type 3 (blobs) or an unknown type",
    }
)
