"""USD valuation: price table from config, staleness, token list, native symbols, spend exposure."""

from __future__ import annotations

from decimal import Decimal

import pytest
from engine_builders import DAI, NOW, ROUTER, USDC, WETH, action, pricer

from policy.actions import ActionClass, Approval, TokenAmount
from policy.errors import PriceConfigError, PriceUnavailableError
from policy.pricing import DEFAULT_NATIVE_SYMBOLS, PriceQuote, Pricer, PriceTable, usd


def test_price_table_from_config() -> None:
    table = PriceTable.from_config(
        {"maxAgeSeconds": 60, "quotes": {"eth": 3000.5, "USDC": {"usd": "1", "asOf": NOW}}}
    )
    assert table.max_age_s == 60
    assert table.quotes["ETH"] == PriceQuote(
        Decimal("3000.5")
    )  # float via repr, never binary noise
    assert table.quote("Eth", NOW) == Decimal("3000.5")
    assert table.quote("usdc", NOW + 60) == Decimal(1)
    with pytest.raises(PriceUnavailableError, match="stale"):
        table.quote("USDC", NOW + 61)
    assert table.quote("ETH", NOW + 10**9) == Decimal("3000.5")  # pinned: never stale
    with pytest.raises(PriceUnavailableError, match="no USD quote for DOGE"):
        table.quote("DOGE", NOW)


def test_no_max_age_means_quotes_never_stale() -> None:
    table = PriceTable.from_config({"quotes": {"ETH": {"usd": "1", "asOf": 0}}})
    assert table.quote("ETH", NOW) == 1


@pytest.mark.parametrize(
    "config",
    [
        {"quotes": {"ETH": "abc"}},
        {"quotes": {"ETH": -1}},
        {"quotes": {"ETH": "Infinity"}},
        {"quotes": {"ETH": True}},
        {"quotes": {"ETH": {"usd": 1, "extra": 2}}},
        {"maxAgeSeconds": 0},
        {"unknown": 1},
        {"nativeSymbols": {"x": "ETH"}},
    ],
)
def test_bad_config_raises_price_config_error(config: dict[str, object]) -> None:
    with pytest.raises(PriceConfigError):
        Pricer.from_config(config)


def test_native_symbols_default_and_override() -> None:
    assert DEFAULT_NATIVE_SYMBOLS[137] == "POL"
    assert DEFAULT_NATIVE_SYMBOLS[8453] == "ETH"
    p = Pricer.from_config({"quotes": {"ETH": 2000, "XYZ": 3}, "nativeSymbols": {"1": "XYZ"}})
    assert p.native_symbols[1] == "XYZ"
    assert p.native_symbols[10] == "ETH"
    assert p.amount_usd(1, "native", 10**18, NOW) == 3
    with pytest.raises(PriceUnavailableError, match="no native currency configured for chain 999"):
        p.amount_usd(999, "native", 1, NOW)


def test_amounts_use_token_decimals_exactly() -> None:
    p = pricer()
    assert p.amount_usd(1, USDC, 1_234_567, NOW) == Decimal("1.234567")
    assert p.amount_usd(1, USDC.upper().replace("0X", "0x"), 1, NOW) == Decimal("0.000001")
    assert p.amount_usd(1, WETH, 5 * 10**17, NOW) == Decimal(1000)
    assert p.amount_usd(1, "native", 1, NOW) == Decimal("2000E-18")
    assert p.amount_usd(137, "native", 2 * 10**18, NOW) == Decimal(1)  # POL at $0.5
    huge = 2**256 - 1
    assert p.amount_usd(1, DAI, huge, NOW) == Decimal(
        f"{str(huge)[:-18]}.{str(huge)[-18:]}"
    )  # exact


def test_unknown_token_and_stale_price() -> None:
    with pytest.raises(PriceUnavailableError, match="unknown token"):
        pricer().amount_usd(1, "0x" + "99" * 20, 1, NOW)
    with pytest.raises(PriceUnavailableError, match="unknown token"):
        pricer().amount_usd(10, USDC, 1, NOW)  # the list knows USDC on chain 1 only
    with pytest.raises(PriceUnavailableError, match="stale"):
        pricer(stale=True).amount_usd(1, "native", 1, NOW)
    no_tokens = Pricer(table=pricer().table)
    with pytest.raises(PriceUnavailableError, match="unknown token"):
        no_tokens.amount_usd(1, USDC, 1, NOW)


def test_value_sums_native_transfers_and_approvals() -> None:
    a = action(
        ActionClass.SWAP_EXECUTE,
        native_value=10**16,  # $20
        token_amounts=(TokenAmount(1, USDC, 5 * 10**6), TokenAmount(1, DAI, 2 * 10**18)),  # $7
        approvals=(
            Approval(1, USDC, ROUTER, 30 * 10**6),  # $30
            Approval(1, DAI, ROUTER, None),  # unbounded: not priced
        ),
    )
    v = pricer().value(a, NOW)
    assert v.native_usd == Decimal(20)
    assert v.transfers_usd == Decimal(7)
    assert v.approvals_usd == (Decimal(30), None)
    assert v.total_usd == Decimal(57)


def test_value_names_everything_unpriceable() -> None:
    unknown = "0x" + "99" * 20
    a = action(
        ActionClass.SWAP_EXECUTE,
        token_amounts=(TokenAmount(1, unknown, 1), TokenAmount(1, USDC, 1)),
        approvals=(Approval(1, "0x" + "98" * 20, ROUTER, 5),),
    )
    with pytest.raises(PriceUnavailableError) as err:
        pricer().value(a, NOW)
    assert unknown in err.value.detail
    assert "0x" + "98" * 20 in err.value.detail
    assert err.value.reason == "price_unknown"


def test_zero_value_action_needs_no_prices() -> None:
    empty = Pricer(table=PriceTable(quotes={}))
    v = empty.value(action(ActionClass.MESSAGE_SIGN, chain_ids=frozenset()), NOW)
    assert v.total_usd == 0


def test_usd_formatting() -> None:
    assert usd(Decimal("1234.565")) == "$1,234.56"
    assert usd(Decimal("0.005")) == "$0.00"
