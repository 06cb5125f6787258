"""Build policy inputs from the Settings tree: the token list and the price table (reads the token list file)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from policy.errors import PolicyError
from policy.pricing import Pricer
from policy.tokens import TokenList
from proxy.config import Settings
from proxy.errors import ConfigError, ConfigIssue

__all__ = ["MAX_TOKEN_LIST_BYTES", "build_pricer", "pricing_config"]

MAX_TOKEN_LIST_BYTES = 8 << 20


def _issue(settings: Settings, location: str, message: str) -> ConfigError:
    source = str(settings.config_file) if settings.config_file else "<config>"
    return ConfigError([ConfigIssue(file=source, location=location, message=message)])


def pricing_config(settings: Settings) -> dict[str, Any]:
    """The pricing section as the dict :meth:`policy.pricing.Pricer.from_config` takes."""
    pricing = settings.pricing
    quotes: dict[str, Any] = {
        symbol: (
            {"usd": str(price), "asOf": pricing.as_of} if pricing.as_of is not None else str(price)
        )
        for symbol, price in pricing.prices.items()
    }
    config: dict[str, Any] = {"quotes": quotes}
    if pricing.max_age_s is not None:
        config["maxAgeSeconds"] = pricing.max_age_s
    if settings.chains:
        config["nativeSymbols"] = {
            str(cid): chain.native_symbol for cid, chain in settings.chains.items()
        }
    return config


def _token_list(settings: Settings) -> TokenList | None:
    path = settings.pricing.token_list
    if path is None:
        return None
    try:
        blob = Path(path).read_bytes()
    except OSError as exc:
        raise _issue(settings, "pricing.token_list", f"{path}: {exc.strerror}") from None
    if len(blob) > MAX_TOKEN_LIST_BYTES:
        raise _issue(
            settings, "pricing.token_list", f"{path}: larger than {MAX_TOKEN_LIST_BYTES} bytes"
        )
    try:
        return TokenList.from_token_list(json.loads(blob))
    except (PolicyError, ValueError) as exc:
        raise _issue(settings, "pricing.token_list", f"{path}: {exc}") from None


def build_pricer(settings: Settings) -> Pricer:
    """The Pricer for ``settings`` (prices + token list); raises ConfigError naming what is wrong."""
    tokens = _token_list(settings)
    try:
        return Pricer.from_config(pricing_config(settings), tokens=tokens)
    except (PolicyError, ValueError) as exc:
        raise _issue(settings, "pricing", str(exc)) from None
