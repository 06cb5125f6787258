"""TokenList: parsing a Uniswap token-list dict and looking tokens up."""

from __future__ import annotations

from typing import Any

import pytest

from policy.tokens import TokenInfo, TokenList, TokenListError, TokenLookup

USDC = "0xA0b86991c6218b36c1d19d4a2e9eB0cE3606eB48"
DOC: dict[str, Any] = {
    "name": "Test list",
    "timestamp": "2024-01-01T00:00:00Z",
    "version": {"major": 1, "minor": 0, "patch": 0},
    "tokens": [
        {"chainId": 1, "address": USDC, "symbol": "USDC", "decimals": 6, "name": "USD Coin"},
        {"chainId": 10, "address": USDC, "symbol": "USDC.e", "decimals": 6, "name": "Bridged"},
        {
            "chainId": 1,
            "address": "0x" + "bc" * 20,
            "symbol": "BAYC",
            "decimals": 0,
            "name": "Apes",
            "standard": "erc721",
        },
    ],
}


def test_lookup_is_case_insensitive_and_chain_scoped() -> None:
    tokens = TokenList.from_token_list(DOC)
    lookup: TokenLookup = tokens
    assert len(tokens) == 3
    assert tokens.name == "Test list"
    assert lookup.token(1, USDC.lower()) == TokenInfo(1, USDC.lower(), "USDC", 6, "erc20")
    assert lookup.token(10, USDC) is not None
    assert lookup.token(10, USDC).symbol == "USDC.e"  # type: ignore[union-attr]
    assert lookup.token(137, USDC) is None
    assert lookup.token(1, "0x" + "BC" * 20).standard == "erc721"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "bad",
    [
        None,
        [],
        {"tokens": {}},
        {"tokens": [1]},
        {"tokens": [{"chainId": "1", "address": USDC, "decimals": 6}]},
        {"tokens": [{"chainId": True, "address": USDC, "decimals": 6}]},
        {"tokens": [{"chainId": 1, "address": "0x1234", "decimals": 6}]},
        {"tokens": [{"chainId": 1, "address": USDC, "decimals": 300}]},
        {"tokens": [{"chainId": 1, "address": USDC, "decimals": 6, "standard": "erc777"}]},
        {
            "tokens": [
                {"chainId": 1, "address": USDC, "decimals": 6},
                {"chainId": 1, "address": USDC, "decimals": 18},
            ]
        },
    ],
)
def test_malformed_lists_raise_token_list_error(bad: Any) -> None:
    with pytest.raises(TokenListError):
        TokenList.from_token_list(bad)
