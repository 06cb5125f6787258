"""Token metadata lookup: the ``TokenLookup`` protocol and an in-memory list built from a Uniswap token-list dict (pure).

Reading the token-list file is the proxy's job; :meth:`TokenList.from_token_list` only validates
an already JSON-decoded dict of the form ``{"name": ..., "tokens": [{"chainId", "address",
"symbol", "decimals", "name"}]}``. Entries may carry a non-standard ``"standard"`` key
(``"erc20"`` / ``"erc721"`` / ``"erc1155"``); the default is ``"erc20"`` as in Uniswap lists.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal, Protocol

from policy.errors import PolicyError

__all__ = ["TokenInfo", "TokenList", "TokenListError", "TokenLookup", "TokenStandard"]

TokenStandard = Literal["erc20", "erc721", "erc1155"]

_ADDRESS_RE = re.compile(r"0x[0-9a-fA-F]{40}\Z")
_MAX_TOKENS = 100_000


class TokenListError(PolicyError, ValueError):
    """A token-list document is malformed (raised by :meth:`TokenList.from_token_list`)."""


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """What we know about one token contract on one chain (address lowercase)."""

    chain_id: int
    address: str
    symbol: str
    decimals: int
    standard: TokenStandard = "erc20"


class TokenLookup(Protocol):
    """Anything that can answer "which token is this contract?" (None = unknown)."""

    def token(self, chain_id: int, address: str) -> TokenInfo | None:
        """Return the token at ``address`` (any case) on ``chain_id``, or None."""
        ...


class TokenList:
    """An immutable in-memory :class:`TokenLookup`."""

    __slots__ = ("_by_key", "name")

    def __init__(self, tokens: Iterable[TokenInfo], name: str = "") -> None:
        by_key: dict[tuple[int, str], TokenInfo] = {}
        for info in tokens:
            key = (info.chain_id, info.address.lower())
            if key in by_key and by_key[key] != info:
                raise TokenListError(
                    f"conflicting entries for {info.address} on chain {info.chain_id}"
                )
            by_key[key] = info
        self._by_key: Mapping[tuple[int, str], TokenInfo] = MappingProxyType(by_key)
        self.name = name

    def token(self, chain_id: int, address: str) -> TokenInfo | None:
        """See :meth:`TokenLookup.token`."""
        return self._by_key.get((chain_id, address.lower()))

    def __len__(self) -> int:
        return len(self._by_key)

    @classmethod
    def from_token_list(cls, doc: object) -> TokenList:
        """Validate a Uniswap token-list dict and index it by (chainId, address)."""
        if not isinstance(doc, dict) or not isinstance(doc.get("tokens"), list):
            raise TokenListError('token list must be an object with a "tokens" array')
        entries = doc["tokens"]
        if len(entries) > _MAX_TOKENS:
            raise TokenListError(f"token list has more than {_MAX_TOKENS} tokens")
        name = doc.get("name", "")
        return cls((_entry(i, e) for i, e in enumerate(entries)), name=str(name))


def _entry(index: int, entry: object) -> TokenInfo:
    where = f"tokens[{index}]"
    if not isinstance(entry, dict):
        raise TokenListError(f"{where}: expected an object")
    chain_id = entry.get("chainId")
    address = entry.get("address")
    symbol = entry.get("symbol", "")
    decimals = entry.get("decimals", 0)
    standard = entry.get("standard", "erc20")
    if isinstance(chain_id, bool) or not isinstance(chain_id, int) or not 0 < chain_id < 2**64:
        raise TokenListError(f"{where}: chainId must be a positive integer")
    if not isinstance(address, str) or not _ADDRESS_RE.match(address):
        raise TokenListError(f"{where}: address must be 0x + 40 hex digits")
    if not isinstance(symbol, str) or len(symbol) > 64:
        raise TokenListError(f"{where}: symbol must be a short string")
    if isinstance(decimals, bool) or not isinstance(decimals, int) or not 0 <= decimals <= 255:
        raise TokenListError(f"{where}: decimals must be an integer in 0..255")
    if standard not in ("erc20", "erc721", "erc1155"):
        raise TokenListError(f"{where}: unknown standard {standard!r}")
    return TokenInfo(chain_id, address.lower(), symbol, decimals, standard)
