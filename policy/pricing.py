"""USD valuation of an action's spend exposure from a price table and a token list (pure, no I/O).

A :class:`PriceTable` maps token symbols to USD quotes; a quote with an ``as_of`` time goes stale after
the table's ``max_age_s``, a quote without one is operator-pinned and never stale. A :class:`Pricer`
combines the table with a token list (:class:`policy.tokens.TokenLookup`) and the native symbol of each
chain, and values an action: native value + every token amount leaving the account + every approval's
amount (approvals, permits and order considerations are spend exposure). Anything it cannot value
raises :class:`~policy.errors.PriceUnavailableError`: the engine denies with ``price_unknown``.
All arithmetic is :class:`~decimal.Decimal` in an explicit 100-digit context, never float.
"""

from __future__ import annotations

import decimal
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from policy.actions import Action
from policy.errors import PriceConfigError, PriceUnavailableError
from policy.tokens import TokenLookup

__all__ = [
    "DEFAULT_NATIVE_SYMBOLS",
    "MAX_QUOTES",
    "PriceQuote",
    "PriceTable",
    "Pricer",
    "Valuation",
    "usd",
]

#: Native currency symbol per EVM chain id; pass ``native_symbols=`` to :class:`Pricer` to override.
DEFAULT_NATIVE_SYMBOLS: Mapping[int, str] = {
    1: "ETH",
    10: "ETH",
    56: "BNB",
    100: "XDAI",
    137: "POL",
    324: "ETH",
    8453: "ETH",
    42161: "ETH",
    43114: "AVAX",
    59144: "ETH",
    534352: "ETH",
    11155111: "ETH",
}
#: Size limit of a price table built from config.
MAX_QUOTES = 10_000
NATIVE = "native"
_NATIVE_DECIMALS = 18
_CTX = decimal.Context(prec=100, rounding=decimal.ROUND_HALF_EVEN, traps=[decimal.InvalidOperation])
_ZERO = Decimal(0)


def usd(amount: Decimal) -> str:
    """Format a USD amount for human messages (cents, half-even)."""
    return f"${amount.quantize(Decimal('0.01'), context=_CTX):,}"


@dataclass(frozen=True, slots=True)
class PriceQuote:
    """USD price of one whole unit of a symbol; ``as_of`` None = operator-pinned (never stale)."""

    usd: Decimal
    as_of: int | None = None


def _usd_price(value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | str | Decimal | float):
        raise ValueError("expected a USD price (number or decimal string)")
    try:
        price = Decimal(repr(value) if isinstance(value, float) else value)
    except decimal.InvalidOperation:
        raise ValueError("not a decimal number") from None
    if not price.is_finite() or price < 0 or price > Decimal("1e12"):
        raise ValueError("price must be finite, >= 0 and <= 1e12")
    return price


_Price = Annotated[Decimal, BeforeValidator(_usd_price)]
_CFG = ConfigDict(frozen=True, extra="forbid", alias_generator=to_camel, validate_by_name=True)


class _QuoteConfig(BaseModel):
    model_config = _CFG
    usd: _Price
    as_of: int | None = Field(default=None, ge=0)


class _PricingConfig(BaseModel):
    model_config = _CFG
    max_age_seconds: int | None = Field(default=None, gt=0)
    quotes: dict[Annotated[str, Field(min_length=1, max_length=32)], _Price | _QuoteConfig] = Field(
        default_factory=dict, max_length=MAX_QUOTES
    )
    native_symbols: dict[int, Annotated[str, Field(min_length=1, max_length=32)]] | None = None


def _parse_config(config: Mapping[str, Any]) -> _PricingConfig:
    if not isinstance(config, Mapping):
        raise PriceConfigError("pricing config must be a mapping")
    try:
        return _PricingConfig.model_validate(dict(config))
    except ValidationError as err:
        parts = [
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
            for e in err.errors(include_url=False, include_input=False)[:10]
        ]
        raise PriceConfigError("invalid pricing config: " + "; ".join(parts)) from None


@dataclass(frozen=True, slots=True)
class PriceTable:
    """Symbol (case-insensitive) -> :class:`PriceQuote`, with an optional maximum quote age."""

    quotes: Mapping[str, PriceQuote]
    max_age_s: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "quotes", {k.upper(): v for k, v in self.quotes.items()})

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> PriceTable:
        """Build from ``{"maxAgeSeconds": 300, "quotes": {"ETH": "3000", "USDC": {"usd": "1", "asOf": 1700000000}}}``.

        ``nativeSymbols`` may be present (it is read by :meth:`Pricer.from_config`). Raises
        :class:`~policy.errors.PriceConfigError`.
        """
        cfg = _parse_config(config)
        quotes = {sym: _to_quote(q) for sym, q in cfg.quotes.items()}
        return cls(quotes=quotes, max_age_s=cfg.max_age_seconds)

    def quote(self, symbol: str, now: int) -> Decimal:
        """USD price of one unit of ``symbol`` at ``now``; raises PriceUnavailableError if absent/stale."""
        q = self.quotes.get(symbol.upper())
        if q is None:
            raise PriceUnavailableError(f"no USD quote for {symbol[:32]}")
        if q.as_of is not None and self.max_age_s is not None and now - q.as_of > self.max_age_s:
            raise PriceUnavailableError(
                f"USD quote for {symbol[:32]} is stale (as of {q.as_of}, max age {self.max_age_s}s)"
            )
        return q.usd


def _to_quote(q: Decimal | _QuoteConfig) -> PriceQuote:
    if isinstance(q, Decimal):
        return PriceQuote(usd=q)
    return PriceQuote(usd=q.usd, as_of=q.as_of)


@dataclass(frozen=True, slots=True)
class Valuation:
    """An action's spend exposure in USD; ``approvals_usd`` is per approval, None = unbounded (not priced)."""

    total_usd: Decimal
    native_usd: Decimal
    transfers_usd: Decimal
    approvals_usd: tuple[Decimal | None, ...]


@dataclass(frozen=True, slots=True)
class Pricer:
    """Values actions: a :class:`PriceTable`, a token list, and each chain's native symbol."""

    table: PriceTable
    tokens: TokenLookup | None = None
    native_symbols: Mapping[int, str] = field(default_factory=lambda: dict(DEFAULT_NATIVE_SYMBOLS))

    @classmethod
    def from_config(cls, config: Mapping[str, Any], *, tokens: TokenLookup | None = None) -> Pricer:
        """Build from a pricing config dict (see :meth:`PriceTable.from_config`), plus optional
        ``"nativeSymbols": {"1": "ETH", ...}`` merged over :data:`DEFAULT_NATIVE_SYMBOLS`."""
        cfg = _parse_config(config)
        natives = dict(DEFAULT_NATIVE_SYMBOLS)
        natives.update(cfg.native_symbols or {})
        return cls(table=PriceTable.from_config(config), tokens=tokens, native_symbols=natives)

    def amount_usd(self, chain_id: int, token: str, amount: int, now: int) -> Decimal:
        """USD value of ``amount`` base units of ``token`` (an address, or ``"native"``) on a chain."""
        if token == NATIVE:
            symbol = self.native_symbols.get(chain_id)
            if symbol is None:
                raise PriceUnavailableError(f"no native currency configured for chain {chain_id}")
            decimals = _NATIVE_DECIMALS
        else:
            info = self.tokens.token(chain_id, token.lower()) if self.tokens is not None else None
            if info is None:
                raise PriceUnavailableError(f"unknown token {token[:42]} on chain {chain_id}")
            symbol, decimals = info.symbol, info.decimals
        price = self.table.quote(symbol, now)
        if amount == 0:
            return _ZERO
        return _CTX.multiply(Decimal(amount).scaleb(-decimals, _CTX), price)

    def value(self, action: Action, now: int) -> Valuation:
        """Spend exposure of ``action``; raises PriceUnavailableError naming everything unpriceable."""
        missing: list[str] = []
        native = transfers = _ZERO
        if action.native_value:
            try:
                native = self.amount_usd(_native_chain(action), NATIVE, action.native_value, now)
            except PriceUnavailableError as err:
                missing.append(err.detail)
        for t in action.token_amounts:
            try:
                transfers = _CTX.add(transfers, self.amount_usd(t.chain_id, t.token, t.amount, now))
            except PriceUnavailableError as err:
                missing.append(err.detail)
        approvals: list[Decimal | None] = []
        approved = _ZERO
        for a in action.approvals:
            if a.amount is None or a.all_tokens:
                approvals.append(None)  # unbounded: non-delegable, not priced
                continue
            try:
                amount = self.amount_usd(a.chain_id, a.token, a.amount, now)
            except PriceUnavailableError as err:
                missing.append(err.detail)
                amount = _ZERO
            approvals.append(amount)
            approved = _CTX.add(approved, amount)
        if missing:
            raise PriceUnavailableError("; ".join(list(dict.fromkeys(missing))[:5]))
        return Valuation(
            total_usd=_CTX.add(_CTX.add(native, transfers), approved),
            native_usd=native,
            transfers_usd=transfers,
            approvals_usd=tuple(approvals),
        )


def _native_chain(action: Action) -> int:
    """The chain the native value moves on: the first call's chain, else the single payload chain."""
    if action.calls:
        return action.calls[0].chain_id
    if len(action.chain_ids) == 1:
        return next(iter(action.chain_ids))
    return 0
