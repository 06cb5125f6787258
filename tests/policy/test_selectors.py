"""The shipped selector table: loads as package data, every selector matches its signature."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from policy.selectors import (
    Category,
    Delegable,
    SelectorTableError,
    load_selectors,
    parse_selector_table,
)

REFERENCE = Path("/work/shared/reference/selectors.json")


def test_table_loads_and_is_cached() -> None:
    table = load_selectors()
    assert load_selectors() is table
    assert len(table) == 104
    owner = table["0xf2fde38b"]
    assert (owner.signature, owner.category, owner.delegable) == (
        "transferOwnership(address)",
        Category.AUTHORITY,
        Delegable.NEVER,
    )
    assert table["0x095ea7b3"].delegable is Delegable.GUARDED


@pytest.mark.skipif(not REFERENCE.exists(), reason="shared reference not present")
def test_package_copy_equals_reference() -> None:
    shipped = set(load_selectors())
    reference = {r["selector"] for r in json.loads(REFERENCE.read_text())}
    assert shipped == reference


@pytest.mark.parametrize(
    "rows",
    [
        {},
        [1],
        [
            {
                "selector": "0x00000000",
                "name": "x",
                "signature": "transfer(address,uint256)",
                "category": "transfer",
                "delegable": "narrow",
            }
        ],
        [
            {
                "selector": "0xa9059cbb",
                "name": "x",
                "signature": "transfer(address,uint256)",
                "category": "nope",
                "delegable": "narrow",
            }
        ],
        [
            {
                "selector": "0xa9059cbb",
                "name": "x",
                "signature": "transfer(address,uint256)",
                "category": "transfer",
                "delegable": "narrow",
            }
        ]
        * 2,
    ],
)
def test_bad_tables_are_refused(rows: object) -> None:
    with pytest.raises(SelectorTableError):
        parse_selector_table(rows)
