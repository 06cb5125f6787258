"""Test builders: real encoded transactions, calldata, typed data and SIWE text (eth-account / eth-abi).

Tests never hand-write hex: everything here is produced by the encoders the wallets use.
Import as ``from builders import ...`` (tests/policy is on pytest's pythonpath).
"""

from __future__ import annotations

import json
from typing import Any

from eth_abi.abi import encode
from eth_abi.grammar import ABIType, TupleType, parse
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from policy.request import SigningRequest

__all__ = [
    "ALICE",
    "ALICE_KEY",
    "BOB",
    "DAI",
    "MULTISEND_CALL_ONLY",
    "NFT",
    "PERMIT2",
    "SAFE",
    "SEAPORT",
    "SEAPORT_DOMAIN",
    "SWAP_ROUTER02",
    "UNIVERSAL_ROUTER",
    "USDC",
    "WETH",
    "calldata",
    "eip712",
    "eip712_digest",
    "erc7579_batch",
    "erc7579_single",
    "hexq",
    "json_tx",
    "multisend",
    "permit2_single",
    "permit_2612",
    "plausible_args",
    "req",
    "safe_exec",
    "safe_tx",
    "seaport_order",
    "seaport_types",
    "siwe_text",
    "tx_request",
    "typed_request",
    "ur_execute",
    "v3_path",
]

ALICE_KEY = "0x" + "4c" * 32
ALICE = Account.from_key(ALICE_KEY).address.lower()
BOB = "0x" + "b0" * 20
USDC = "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48"
DAI = "0x6b175474e89094c44da98b954eedeac495271d0f"
WETH = "0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2"
NFT = "0xbc4ca0eda7647a8ab7c2061c2e118a18a936f13d"
PERMIT2 = "0x000000000022d473030f116ddee9f6b43ac78ba3"
SEAPORT = "0x0000000000000068f116a894984e2db1123eb395"
SAFE = "0x" + "5a" * 20
MULTISEND_CALL_ONLY = "0x9641d764fc13c8b624c04430c7356c1c7c8102e2"
SWAP_ROUTER02 = "0x68b3465833fb72a70ecdf485e0e4c7bd8665fc45"
UNIVERSAL_ROUTER = "0x66a9893cc07d91d95644aedd05d03f95e1dba8af"


def hexq(n: int) -> str:
    """A JSON-RPC quantity."""
    return hex(n)


def req(method: str, params: Any, chain_id: int = 1, **kw: Any) -> SigningRequest:
    """A SigningRequest with sensible defaults."""
    return SigningRequest(method=method, params=params, chain_id=chain_id, **kw)


def _split(signature: str) -> list[str]:
    inner = signature[signature.index("(") + 1 : -1]
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(inner):
        depth += ch == "("
        depth -= ch == ")"
        if ch == "," and depth == 0:
            parts.append(inner[start:i])
            start = i + 1
    if inner:
        parts.append(inner[start:])
    return parts


def calldata(signature: str, *args: Any) -> bytes:
    """selector ‖ abi.encode(args) for a canonical function signature."""
    return keccak(text=signature)[:4] + encode(_split(signature), list(args))


def _plausible(t: ABIType) -> Any:
    if t.arrlist:
        dim = t.arrlist[-1]
        item = _plausible(t.item_type)
        return [item] * (dim[0] if dim else 1)
    if isinstance(t, TupleType):
        return tuple(_plausible(c) for c in t.components)
    base, sub = t.base, t.sub  # type: ignore[attr-defined]
    if base == "address":
        return "0x" + "12" * 20
    if base == "bool":
        return True
    if base in ("uint", "int"):
        return 7
    if base == "bytes":
        return b"\x01" * int(sub) if sub else b"\x01\x02\x03"
    if base == "string":
        return "x"
    raise ValueError(t)


def plausible_args(signature: str) -> list[Any]:
    """Values of every argument type of ``signature`` (addresses 0x1212.., uints 7, bools true)."""
    return [_plausible(parse(t)) for t in _split(signature)]


def json_tx(**fields: Any) -> dict[str, Any]:
    """A dApp-style JSON tx object: ints -> hex quantities, bytes -> 0x hex, names as JSON-RPC."""
    names = {
        "max_fee": "maxFeePerGas",
        "max_priority": "maxPriorityFeePerGas",
        "gas_price": "gasPrice",
        "chain_id": "chainId",
        "frm": "from",
    }
    out: dict[str, Any] = {}
    for k, v in fields.items():
        key = names.get(k, k)
        if isinstance(v, bool):
            out[key] = v
        elif isinstance(v, int):
            out[key] = hex(v)
        elif isinstance(v, bytes):
            out[key] = "0x" + v.hex()
        else:
            out[key] = v
    return out


def tx_request(
    tx: dict[str, Any], *, method: str = "eth_sendTransaction", chain_id: int = 1
) -> SigningRequest:
    """Wrap a JSON tx object (or raw hex) as a request."""
    return req(method, [tx], chain_id, account=ALICE)


# --- wrappers ----------------------------------------------------------------------------------


def multisend(entries: list[tuple[int, str, int, bytes]]) -> bytes:
    """Safe MultiSend packed encoding: op(1) ‖ to(20) ‖ value(32) ‖ len(32) ‖ data."""
    out = b""
    for op, to, value, data in entries:
        out += (
            bytes([op])
            + bytes.fromhex(to[2:])
            + value.to_bytes(32, "big")
            + len(data).to_bytes(32, "big")
            + data
        )
    return out


def safe_exec(to: str, data: bytes, *, value: int = 0, operation: int = 0) -> bytes:
    """Safe.execTransaction calldata with a dummy signature."""
    return calldata(
        "execTransaction(address,uint256,bytes,uint8,uint256,uint256,uint256,address,address,bytes)",
        to,
        value,
        data,
        operation,
        0,
        0,
        0,
        "0x" + "00" * 20,
        "0x" + "00" * 20,
        b"\x01" * 65,
    )


def erc7579_single(target: str, data: bytes, value: int = 0, *, call_type: int = 0) -> bytes:
    """ERC-7579 execute(mode, executionCalldata) for a single call (or delegatecall, call_type 0xff)."""
    mode = bytes([call_type]) + b"\x00" * 31
    if call_type == 0xFF:
        execution = bytes.fromhex(target[2:]) + data
    else:
        execution = bytes.fromhex(target[2:]) + value.to_bytes(32, "big") + data
    return calldata("execute(bytes32,bytes)", mode, execution)


def erc7579_batch(calls: list[tuple[str, int, bytes]]) -> bytes:
    """ERC-7579 execute(mode, abi.encode(Execution[])) for a batch."""
    mode = b"\x01" + b"\x00" * 31
    return calldata("execute(bytes32,bytes)", mode, encode(["(address,uint256,bytes)[]"], [calls]))


def v3_path(*hops: str | int) -> bytes:
    """Packed V3 path: token, fee, token, ..."""
    out = b""
    for h in hops:
        out += h.to_bytes(3, "big") if isinstance(h, int) else bytes.fromhex(h[2:])
    return out


def ur_execute(
    commands: list[tuple[int, list[str], list[Any]]], deadline: int | None = 2_000_000_000
) -> bytes:
    """Universal Router execute(commands, inputs[, deadline]); each command is (byte, types, values)."""
    cmds = bytes(c for c, _, _ in commands)
    inputs = [encode(types, values) for _, types, values in commands]
    if deadline is None:
        return calldata("execute(bytes,bytes[])", cmds, inputs)
    return calldata("execute(bytes,bytes[],uint256)", cmds, inputs, deadline)


# --- typed data ----------------------------------------------------------------------------------

_DOMAIN_TYPES = {
    "name": "string",
    "version": "string",
    "chainId": "uint256",
    "verifyingContract": "address",
    "salt": "bytes32",
}


def eip712(
    primary: str,
    types: dict[str, list[tuple[str, str]]],
    domain: dict[str, Any],
    message: dict[str, Any],
) -> dict[str, Any]:
    """A full EIP-712 object as dApps send it (EIP712Domain derived from the domain keys)."""
    order = [k for k in _DOMAIN_TYPES if k in domain]
    return {
        "types": {
            "EIP712Domain": [{"name": k, "type": _DOMAIN_TYPES[k]} for k in order],
            **{t: [{"name": n, "type": ft} for n, ft in fs] for t, fs in types.items()},
        },
        "primaryType": primary,
        "domain": domain,
        "message": message,
    }


def eip712_digest(full: dict[str, Any]) -> str:
    """The digest eth-account computes for ``full``."""
    s = encode_typed_data(full_message=json.loads(json.dumps(full)))
    return "0x" + keccak(b"\x19" + s.version + s.header + s.body).hex()


def typed_request(
    full: Any, *, method: str = "eth_signTypedData_v4", as_string: bool = True, chain_id: int = 1
) -> SigningRequest:
    """eth_signTypedData_v4 request with the data as a JSON string (as wallets receive it)."""
    data = json.dumps(full) if as_string else full
    return req(method, [to_checksum_address(ALICE), data], chain_id, account=ALICE)


def permit_2612(
    *,
    value: int,
    deadline: int = 1_800_000_000,
    nonce: int = 0,
    chain_id: int = 1,
    token: str = USDC,
) -> dict[str, Any]:
    """An EIP-2612 Permit for ``token``."""
    return eip712(
        "Permit",
        {
            "Permit": [
                ("owner", "address"),
                ("spender", "address"),
                ("value", "uint256"),
                ("nonce", "uint256"),
                ("deadline", "uint256"),
            ]
        },
        {"name": "USD Coin", "version": "2", "chainId": chain_id, "verifyingContract": token},
        {
            "owner": ALICE,
            "spender": SWAP_ROUTER02,
            "value": value,
            "nonce": nonce,
            "deadline": deadline,
        },
    )


def permit2_single(
    *, amount: int, expiration: int = 1_800_000_000, nonce: int = 5, chain_id: int = 1
) -> dict[str, Any]:
    """A Permit2 PermitSingle (AllowanceTransfer)."""
    return eip712(
        "PermitSingle",
        {
            "PermitSingle": [
                ("details", "PermitDetails"),
                ("spender", "address"),
                ("sigDeadline", "uint256"),
            ],
            "PermitDetails": [
                ("token", "address"),
                ("amount", "uint160"),
                ("expiration", "uint48"),
                ("nonce", "uint48"),
            ],
        },
        {"name": "Permit2", "chainId": chain_id, "verifyingContract": PERMIT2},
        {
            "details": {"token": USDC, "amount": amount, "expiration": expiration, "nonce": nonce},
            "spender": UNIVERSAL_ROUTER,
            "sigDeadline": 1_700_001_000,
        },
    )


_OFFER = [
    ("itemType", "uint8"),
    ("token", "address"),
    ("identifierOrCriteria", "uint256"),
    ("startAmount", "uint256"),
    ("endAmount", "uint256"),
]
_CONSIDERATION = [*_OFFER, ("recipient", "address")]
_ORDER = [
    ("offerer", "address"),
    ("zone", "address"),
    ("offer", "OfferItem[]"),
    ("consideration", "ConsiderationItem[]"),
    ("orderType", "uint8"),
    ("startTime", "uint256"),
    ("endTime", "uint256"),
    ("zoneHash", "bytes32"),
    ("salt", "uint256"),
    ("conduitKey", "bytes32"),
    ("counter", "uint256"),
]


def seaport_order(
    *,
    token_id: int = 42,
    price: int = 10**18,
    fee_to: str = BOB,
    end: int = 1_800_000_000,
    salt: int = 1,
) -> dict[str, Any]:
    """OrderComponents message: ALICE lists NFT #token_id for ``price`` wei, 2.5 % fee to ``fee_to``."""
    fee = price // 40
    return {
        "offerer": ALICE,
        "zone": "0x" + "00" * 20,
        "offer": [
            {
                "itemType": 2,
                "token": NFT,
                "identifierOrCriteria": token_id,
                "startAmount": 1,
                "endAmount": 1,
            }
        ],
        "consideration": [
            {
                "itemType": 0,
                "token": "0x" + "00" * 20,
                "identifierOrCriteria": 0,
                "startAmount": price - fee,
                "endAmount": price - fee,
                "recipient": ALICE,
            },
            {
                "itemType": 0,
                "token": "0x" + "00" * 20,
                "identifierOrCriteria": 0,
                "startAmount": fee,
                "endAmount": fee,
                "recipient": fee_to,
            },
        ],
        "orderType": 0,
        "startTime": 1_700_000_000,
        "endTime": end,
        "zoneHash": "0x" + "00" * 32,
        "salt": salt,
        "conduitKey": "0x" + "00" * 32,
        "counter": 3,
    }


def seaport_types(bulk_height: int = 0) -> dict[str, list[tuple[str, str]]]:
    """Seaport EIP-712 types (with BulkOrder when ``bulk_height`` > 0)."""
    types = {"OrderComponents": _ORDER, "OfferItem": _OFFER, "ConsiderationItem": _CONSIDERATION}
    if bulk_height:
        types = {"BulkOrder": [("tree", "OrderComponents" + "[2]" * bulk_height)], **types}
    return types


SEAPORT_DOMAIN = {"name": "Seaport", "version": "1.6", "chainId": 1, "verifyingContract": SEAPORT}


def safe_tx(
    to: str, data: bytes, *, value: int = 0, operation: int = 0, chain_id: int = 1
) -> dict[str, Any]:
    """SafeTx typed data for the Safe at ``SAFE``."""
    return eip712(
        "SafeTx",
        {
            "SafeTx": [
                ("to", "address"),
                ("value", "uint256"),
                ("data", "bytes"),
                ("operation", "uint8"),
                ("safeTxGas", "uint256"),
                ("baseGas", "uint256"),
                ("gasPrice", "uint256"),
                ("gasToken", "address"),
                ("refundReceiver", "address"),
                ("nonce", "uint256"),
            ]
        },
        {"chainId": chain_id, "verifyingContract": SAFE},
        {
            "to": to,
            "value": value,
            "data": "0x" + data.hex(),
            "operation": operation,
            "safeTxGas": 0,
            "baseGas": 0,
            "gasPrice": 0,
            "gasToken": "0x" + "00" * 20,
            "refundReceiver": "0x" + "00" * 20,
            "nonce": 9,
        },
    )


# --- SIWE ----------------------------------------------------------------------------------------


def siwe_text(
    *,
    domain: str = "app.example.com",
    address: str = ALICE,
    statement: str | None = "Sign in to Example",
    uri: str = "https://app.example.com/login",
    chain_id: int = 1,
    nonce: str = "32891756abcdefgh",
    issued_at: str = "2026-01-01T00:00:00Z",
    expiration: str | None = "2026-01-01T01:00:00Z",
    not_before: str | None = None,
    request_id: str | None = None,
    resources: list[str] | None = None,
    scheme: str | None = None,
) -> str:
    """An EIP-4361 message laid out exactly as the siwe / viem libraries write it."""
    origin = f"{scheme}://{domain}" if scheme else domain
    head = f"{origin} wants you to sign in with your Ethereum account:\n{to_checksum_address(address)}\n\n"
    head += f"{statement}\n" if statement is not None else ""
    lines = [
        f"URI: {uri}",
        "Version: 1",
        f"Chain ID: {chain_id}",
        f"Nonce: {nonce}",
        f"Issued At: {issued_at}",
    ]
    if expiration:
        lines.append(f"Expiration Time: {expiration}")
    if not_before:
        lines.append(f"Not Before: {not_before}")
    if request_id is not None:
        lines.append(f"Request ID: {request_id}")
    if resources:
        lines.append("Resources:")
        lines.extend(f"- {r}" for r in resources)
    return head + "\n" + "\n".join(lines)
