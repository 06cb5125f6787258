"""Seaport order facts, shared by calldata (``validate``) and typed data (OrderComponents / BulkOrder) (pure).

Offer items leave the offerer (token amounts, the larger of start/end amount); every consideration
recipient is a destination; consideration paid to the offerer is recorded as an inflow so the
engine can refuse "trade for nothing". Criteria-based items (types 4/5) have no token id: any
token of the collection may go.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from policy.actions import ActionClass, TokenAmount
from policy.decode.calldata import on, register
from policy.decode.context import CallSite, Collector, Ctx
from policy.decode.known import SEAPORT
from policy.errors import DecodeError

__all__ = ["order_facts"]

_NATIVE, _ERC20, _ERC721, _ERC1155, _ERC721_CRITERIA, _ERC1155_CRITERIA = range(6)


def _item(chain_id: int, item: Sequence[Any], where: str) -> TokenAmount:
    item_type, token, ident, start, end = (
        int(item[0]),
        str(item[1]).lower(),
        int(item[2]),
        int(item[3]),
        int(item[4]),
    )
    amount = max(start, end)
    if item_type == _NATIVE:
        return TokenAmount(chain_id, "native", amount)
    if item_type == _ERC20:
        return TokenAmount(chain_id, token, amount)
    if item_type in (_ERC721, _ERC1155):
        return TokenAmount(chain_id, token, amount, ident)
    if item_type in (_ERC721_CRITERIA, _ERC1155_CRITERIA):
        return TokenAmount(chain_id, token, amount, None)
    raise DecodeError("typed_data_malformed", f"{where}: unknown Seaport item type {item_type}")


def order_facts(
    out: Collector,
    chain_id: int,
    *,
    offerer: str,
    zone: str,
    offer: Sequence[Sequence[Any]],
    consideration: Sequence[Sequence[Any]],
    end_time: int,
    conduit_key: bytes | str,
    where: str,
) -> None:
    """Record one order's outflows, recipients, inflows and end time."""
    offerer = offerer.lower()
    for item in offer:
        out.token_amounts.append(_item(chain_id, item, where))
    for item in consideration:
        recipient = str(item[5]).lower()
        amount = _item(chain_id, item, where)
        if recipient == offerer:
            out.inflows.append(amount)
        else:
            out.destinations.add(recipient)
    out.deadlines.append(end_time)
    out.detail("seaport_zone", f"{where}: {zone.lower()}")
    key = conduit_key.hex() if isinstance(conduit_key, bytes) else str(conduit_key)
    out.detail("seaport_conduit_key", f"{where}: {key}")


_PARAMS = (
    "(address,address,(uint8,address,uint256,uint256,uint256)[],(uint8,address,uint256,uint256,uint256,address)[],"
    "uint8,uint256,uint256,bytes32,uint256,bytes32,uint256)"
)


@register(f"validate(({_PARAMS},bytes)[])", ("orders",), where=on(SEAPORT))
def _validate(ctx: Ctx, site: CallSite, v: tuple[Any, ...]) -> set[ActionClass]:
    for i, (params, _sig) in enumerate(v[0]):
        offerer, zone, offer, consideration, _otype, _start, end, _zh, _salt, conduit, _n = params
        if site.sender is not None and offerer.lower() != site.sender:
            ctx.out.detail("seaport_offerer_other", f"{site.path}.orders[{i}]: {offerer.lower()}")
        order_facts(
            ctx.out,
            site.chain_id,
            offerer=offerer,
            zone=zone,
            offer=offer,
            consideration=consideration,
            end_time=end,
            conduit_key=conduit,
            where=f"{site.path}.orders[{i}]",
        )
    return {ActionClass.ORDER_SIGN}
