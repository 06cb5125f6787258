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
