"""The curated selector table (``policy/data/selectors.json``), loaded once as package data (pure, reads package data).

Each entry says what a 4-byte selector means (signature, category) and whether an envelope may
ever delegate it (``never`` / ``guarded`` / ``narrow``). The selector is re-derived from the
signature at load time; a mismatch or a duplicate makes the table unusable (``SelectorTableError``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib import resources
from types import MappingProxyType

from eth_utils.crypto import keccak

from policy.errors import PolicyError

__all__ = [
    "Category",
    "Delegable",
    "SelectorInfo",
    "SelectorTableError",
    "load_selectors",
    "parse_selector_table",
]


class SelectorTableError(PolicyError, ValueError):
    """The shipped selector table is malformed (a packaging bug, never hostile input)."""


class Delegable(StrEnum):
    """Whether a capability envelope may grant the call."""

    NEVER = "never"
    GUARDED = "guarded"
    NARROW = "narrow"


class Category(StrEnum):
    """What the selector does, coarsely."""

    UPGRADE = "upgrade"
    AUTHORITY = "authority"
    ADMIN = "admin"
    TREASURY = "treasury"
    APPROVAL = "approval"
    TRANSFER = "transfer"
    SWAP = "swap"
    WRAPPER = "wrapper"


@dataclass(frozen=True, slots=True)
class SelectorInfo:
    """One row of the selector table."""

    selector: str  # "0x" + 8 lowercase hex digits
    name: str
    signature: str
    category: Category
    delegable: Delegable
    standard: str = ""
    notes: str = ""


def parse_selector_table(rows: object) -> Mapping[str, SelectorInfo]:
    """Validate the JSON rows and index them by selector (checks keccak(signature)[:4] == selector)."""
    if not isinstance(rows, list):
        raise SelectorTableError("selector table must be a JSON array")
    table: dict[str, SelectorInfo] = {}
    for row in rows:
        if not isinstance(row, dict):
            raise SelectorTableError("selector rows must be objects")
        try:
            info = SelectorInfo(
                selector=str(row["selector"]).lower(),
                name=str(row["name"]),
                signature=str(row["signature"]),
                category=Category(row["category"]),
                delegable=Delegable(row["delegable"]),
                standard=str(row.get("standard", "")),
                notes=str(row.get("notes", "")),
            )
        except (KeyError, ValueError) as exc:
            raise SelectorTableError(f"bad selector row {row!r}: {exc}") from None
        derived = "0x" + keccak(text=info.signature)[:4].hex()
        if derived != info.selector:
            raise SelectorTableError(f"{info.signature}: selector {info.selector} != {derived}")
        if info.selector in table:
            raise SelectorTableError(f"duplicate selector {info.selector}")
        table[info.selector] = info
    return MappingProxyType(table)


@cache
def load_selectors() -> Mapping[str, SelectorInfo]:
    """The shipped table, keyed by ``"0x…"`` selector (parsed once per process)."""
    text = resources.files("policy").joinpath("data/selectors.json").read_text(encoding="utf-8")
    return parse_selector_table(json.loads(text))
