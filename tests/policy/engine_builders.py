"""Builders for the decision-engine tests: envelopes, requests, a priced token list, hand-made actions."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from policy.actions import Action, ActionClass, Approval, Call, TokenAmount
from policy.envelope import CapabilityEnvelope, load_envelope
from policy.pricing import Pricer, PriceTable
from policy.request import SigningRequest
from policy.tokens import TokenList

__all__ = [
    "ACCOUNT",
    "DAI",
    "NOW",
    "RECIPIENT",
    "ROUTER",
    "SEED",
    "USDC",
    "WETH",
    "action",
    "envelope",
    "pricer",
    "request",
    "transfer_call",
]

NOW = 1_700_000_000
ACCOUNT = "0x" + "a1" * 20
RECIPIENT = "0x1111111111111111111111111111111111111111"
USDC = "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48"
WETH = "0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2"
DAI = "0x6b175474e89094c44da98b954eedeac495271d0f"
ROUTER = "0x68b3465833fb72a70ecdf485e0e4c7bd8665fc45"

#: The seed envelope JSON, exactly as the issue gives it (absolute expiry for evaluation).
SEED: dict[str, Any] = {
    "sessionKey": "example",
    "capabilities": [
        "message.sign",
        "siwe.login",
        "native.transfer",
        "erc20.transfer",
        "swap.execute",
    ],
    "maxValueUsd": 100,
    "allowedDestinations": [
        "0x1111111111111111111111111111111111111111",
        "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48",
        "0x68b3465833fb72A70ecDF485E0e4C7bD8665Fc45",
    ],
    "chainId": 1,
    "expiresAt": NOW + 3600,
}

TOKEN_LIST = {
    "name": "test",
    "tokens": [
        {"chainId": 1, "address": USDC, "symbol": "USDC", "decimals": 6, "name": "USD Coin"},
        {"chainId": 1, "address": WETH, "symbol": "WETH", "decimals": 18, "name": "Wrapped Ether"},
        {"chainId": 1, "address": DAI, "symbol": "DAI", "decimals": 18, "name": "Dai"},
    ],
}


def envelope(**overrides: Any) -> CapabilityEnvelope:
    """The seed envelope with camelCase ``overrides`` (None removes a key)."""
    data = dict(SEED)
    for key, value in overrides.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return load_envelope(data)


def pricer(*, max_age: int | None = 600, stale: bool = False) -> Pricer:
    """ETH $2000 (as of NOW, or far in the past when ``stale``), USDC/DAI $1 pinned, WETH $2000."""
    as_of = NOW - 10_000 if stale else NOW
    table = PriceTable.from_config(
        {
            "maxAgeSeconds": max_age,
            "quotes": {
                "ETH": {"usd": "2000", "asOf": as_of},
                "WETH": {"usd": "2000", "asOf": as_of},
                "USDC": "1",
                "DAI": "1",
                "POL": "0.5",
            },
        }
    )
    return Pricer(table=table, tokens=TokenList.from_token_list(TOKEN_LIST))


def request(method: str = "eth_sendTransaction", params: Any = None, **kw: Any) -> SigningRequest:
    """A request on chain 1 from ACCOUNT at https://app.example.com."""
    kw.setdefault("chain_id", 1)
    kw.setdefault("account", ACCOUNT)
    kw.setdefault("origin", "https://app.example.com")
    return SigningRequest(method=method, params=params if params is not None else [], **kw)


def transfer_call(token: str = USDC, to: str = RECIPIENT, amount: int = 10**6) -> Call:
    """A decoded ERC-20 transfer call."""
    return Call(
        chain_id=1,
        target=token,
        value=0,
        selector="0xa9059cbb",
        function="transfer(address,uint256)",
        action_class=ActionClass.ERC20_TRANSFER,
        args=(("to", to), ("amount", str(amount))),
    )


def action(
    cls: ActionClass = ActionClass.ERC20_TRANSFER,
    *,
    method: str = "eth_sendTransaction",
    classes: frozenset[ActionClass] | None = None,
    chain_ids: frozenset[int] = frozenset({1}),
    calls: tuple[Call, ...] | None = None,
    token_amounts: tuple[TokenAmount, ...] | None = None,
    approvals: tuple[Approval, ...] = (),
    destinations: frozenset[str] | None = None,
    **kw: Any,
) -> Action:
    """A hand-made action; by default a $1 USDC transfer to RECIPIENT on chain 1 from ACCOUNT."""
    if calls is None:
        calls = (transfer_call(),) if cls is ActionClass.ERC20_TRANSFER else ()
    if token_amounts is None:
        token_amounts = (TokenAmount(1, USDC, 10**6),) if cls is ActionClass.ERC20_TRANSFER else ()
    if destinations is None:
        destinations = frozenset({RECIPIENT}) if cls is ActionClass.ERC20_TRANSFER else frozenset()
    kw.setdefault("accounts", frozenset({ACCOUNT}))
    return Action(
        method=method,
        action_class=cls,
        classes=classes if classes is not None else frozenset({cls}),
        payload_hash="0x" + "00" * 32,
        chain_ids=chain_ids,
        calls=calls,
        token_amounts=token_amounts,
        approvals=approvals,
        destinations=destinations,
        **kw,
    )


def usd(text: str) -> Decimal:
    """Decimal shorthand."""
    return Decimal(text)


# --- real encoded requests (eth-abi / eth-account) ------------------------------------------------

STRANGER = "0x2222222222222222222222222222222222222222"
MAIL = "0xcccccccccccccccccccccccccccccccccccccccc"


def calldata(signature: str, types: list[str], values: list[Any]) -> str:
    """``0x`` selector + ABI-encoded arguments."""
    from eth_abi import encode
    from eth_utils import keccak

    return "0x" + (keccak(text=signature)[:4] + encode(types, values)).hex()


def default_args(types: tuple[str, ...]) -> list[Any]:
    """A plausible value for each ABI type (addresses STRANGER, ints 1, bools True)."""
    from eth_abi.grammar import BasicType, TupleType, parse

    def value(t: Any) -> Any:
        if t.is_array:
            dims = t.arrlist[-1]
            item = value(t.item_type)
            return [item] * (dims[0] if dims else 1)
        if isinstance(t, TupleType):
            return tuple(value(c) for c in t.components)
        assert isinstance(t, BasicType)
        if t.base == "address":
            return STRANGER
        if t.base in ("uint", "int"):
            return 1
        if t.base == "bool":
            return True
        if t.base == "bytes":
            return b"\x01" * (t.sub or 1)
        if t.base == "string":
            return "x"
        raise AssertionError(t)

    return [value(parse(t)) for t in types]


def tx(
    to: str | None,
    *,
    data: str = "0x",
    value: int = 0,
    chain_id: int | None = 1,
    sender: str = ACCOUNT,
) -> dict[str, Any]:
    """An EIP-1559 transaction object as a dApp sends it."""
    obj: dict[str, Any] = {
        "from": sender,
        "value": hex(value),
        "data": data,
        "nonce": "0x7",
        "gas": "0x30d40",
        "maxFeePerGas": hex(30 * 10**9),
        "maxPriorityFeePerGas": hex(10**9),
        "type": "0x2",
    }
    if to is not None:
        obj["to"] = to
    if chain_id is not None:
        obj["chainId"] = hex(chain_id)
    return obj


def send(txobj: dict[str, Any], **kw: Any) -> SigningRequest:
    """eth_sendTransaction of ``txobj``."""
    return request("eth_sendTransaction", [txobj], **kw)


def erc20_transfer(
    to: str = RECIPIENT, amount: int = 25 * 10**6, token: str = USDC, **kw: Any
) -> SigningRequest:
    """A real ERC-20 transfer transaction."""
    data = calldata("transfer(address,uint256)", ["address", "uint256"], [to, amount])
    return send(tx(token, data=data, **kw))


def erc20_approve(
    spender: str = ROUTER, amount: int = 10 * 10**6, token: str = USDC
) -> SigningRequest:
    """A real ERC-20 approve transaction."""
    data = calldata("approve(address,uint256)", ["address", "uint256"], [spender, amount])
    return send(tx(token, data=data))


_DOMAIN_TYPES = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]


def permit_typed_data(
    *,
    value: int = 10 * 10**6,
    deadline: int = NOW + 600,
    chain_id: int | None = 1,
    spender: str = ROUTER,
) -> dict[str, Any]:
    """An EIP-2612 Permit on USDC (checked against eth-account's encoder)."""
    from eth_account.messages import encode_typed_data

    domain: dict[str, Any] = {"name": "USD Coin", "version": "2", "verifyingContract": USDC}
    types = [t for t in _DOMAIN_TYPES if chain_id is not None or t["name"] != "chainId"]
    if chain_id is not None:
        domain["chainId"] = chain_id
    data = {
        "types": {
            "EIP712Domain": types,
            "Permit": [
                {"name": "owner", "type": "address"},
                {"name": "spender", "type": "address"},
                {"name": "value", "type": "uint256"},
                {"name": "nonce", "type": "uint256"},
                {"name": "deadline", "type": "uint256"},
            ],
        },
        "primaryType": "Permit",
        "domain": domain,
        "message": {
            "owner": checksum(ACCOUNT),
            "spender": checksum(spender),
            "value": value,
            "nonce": 0,
            "deadline": deadline,
        },
    }
    encode_typed_data(full_message=data)  # well-formed per eth-account
    return data


def typed(data: dict[str, Any], **kw: Any) -> SigningRequest:
    """eth_signTypedData_v4 with the JSON string form dApps send."""
    import json

    return request("eth_signTypedData_v4", [checksum(ACCOUNT), json.dumps(data)], **kw)


def checksum(address: str) -> str:
    """EIP-55 form."""
    from eth_utils import to_checksum_address

    return str(to_checksum_address(address))


def siwe_text(domain: str = "app.example.com", chain_id: int = 1, address: str = ACCOUNT) -> str:
    """An EIP-4361 message."""
    return (
        f"{domain} wants you to sign in with your Ethereum account:\n"
        f"{checksum(address)}\n\nSign in to the example app.\n\n"
        f"URI: https://{domain}/login\nVersion: 1\nChain ID: {chain_id}\nNonce: 32891756abc\n"
        "Issued At: 2023-11-14T22:13:20Z\nExpiration Time: 2023-11-14T22:23:20Z"
    )


def personal(text: str, **kw: Any) -> SigningRequest:
    """personal_sign of UTF-8 ``text`` (hex encoded, as dApps send it)."""
    return request("personal_sign", ["0x" + text.encode().hex(), checksum(ACCOUNT)], **kw)
