"""Protocol meaning of validated typed data: permits, Permit2, Seaport, SafeTx, delegation grants (pure).

Dispatch is on the primary type *and its exact EIP-712 type string* (so a look-alike with other
fields cannot borrow a meaning), recorded with the verifying contract as ``Action.typed_data``.
EIP-2612 / DAI / ERC-4494 permits apply to any token contract (the token is the verifying
contract, which must be present); Permit2 and Seaport shapes are decoded whatever the contract and
flagged in details when it is not the canonical one. A well-known primary type name with a
different shape is ``typed_data_ambiguous``. Grant-like primary types (Delegation, SpendPermission,
ApproveAgent, or a name containing delegation/permission/session/agent/authoriz) are
``authority.grant``. Anything else is ``typed_data.sign``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from policy.actions import ActionClass, Approval, NonceKind, ProtocolNonce
from policy.decode.calldata import UINT160_MAX, permit2_details, permit2_unordered
from policy.decode.context import CallSite, Collector, Ctx
from policy.decode.known import ANY_DELEGATE, PERMIT2, SEAPORT
from policy.decode.seaport import order_facts
from policy.decode.typed_data import TypedData, hash_struct, type_string
from policy.decode.values import UINT256_MAX
from policy.decode.wrappers import child
from policy.errors import DecodeError
from policy.request import SigningRequest

__all__ = ["KNOWN_TYPES", "dispatch"]

_TOKEN_PERMISSIONS = "TokenPermissions(address token,uint256 amount)"  # noqa: S105
_PERMIT_DETAILS = "PermitDetails(address token,uint160 amount,uint48 expiration,uint48 nonce)"
_ORDER = (
    "OrderComponents(address offerer,address zone,OfferItem[] offer,ConsiderationItem[] consideration,"
    "uint8 orderType,uint256 startTime,uint256 endTime,bytes32 zoneHash,uint256 salt,bytes32 conduitKey,"
    "uint256 counter)"
)
_ORDER_DEPS = (
    "ConsiderationItem(uint8 itemType,address token,uint256 identifierOrCriteria,uint256 startAmount,"
    "uint256 endAmount,address recipient)"
    "OfferItem(uint8 itemType,address token,uint256 identifierOrCriteria,uint256 startAmount,uint256 endAmount)"
)

Decoder = Callable[[TypedData, str, int, Ctx], None]

#: (primary type, exact type string) -> decoder; filled below.
KNOWN_TYPES: dict[str, dict[str, Decoder]] = {}


def _known(primary: str, *type_strings: str) -> Callable[[Decoder], Decoder]:
    def deco(fn: Decoder) -> Decoder:
        for ts in type_strings:
            KNOWN_TYPES.setdefault(primary, {})[ts] = fn
        return fn

    return deco


def dispatch(td: TypedData, signer: str, request: SigningRequest, ctx: Ctx) -> None:
    """Record the meaning of ``td`` in ``ctx.out``."""
    out = ctx.out
    chain = td.chain_id
    if chain is None:
        out.chain_unbound = True
        out.detail("chain_unbound", "EIP-712 domain has no chainId")
        chain = request.chain_id
    else:
        out.chain_ids.add(chain)
    vc = td.verifying_contract
    out.typed_data = (vc or "", td.primary_type)
    name = td.domain.get("name")
    if isinstance(name, str):
        out.domain = name
    ts = type_string(td.primary_type, td.types)
    by_shape = KNOWN_TYPES.get(td.primary_type)
    if by_shape is not None:
        fn = by_shape.get(ts)
        if fn is None and td.primary_type.endswith("WitnessTransferFrom"):
            fn = _witness_match(td)
        if fn is None:
            raise DecodeError(
                "typed_data_ambiguous",
                f"{td.primary_type} does not have the standard shape: {ts[:200]}",
            )
        fn(td, signer, chain, ctx)
        return
    lowered = td.primary_type.lower()
    if any(k in lowered for k in ("delegation", "permission", "session", "agent", "authoriz")):
        out.add_class(
            ActionClass.AUTHORITY_GRANT,
            f"typed data {td.primary_type} looks like a delegation/permission grant (verifyingContract {vc})",
        )
        return
    out.add_class(ActionClass.TYPED_DATA_SIGN)


def _site(chain: int, owner: str | None, target: str | None) -> CallSite:
    return CallSite(chain, target, 0, b"", owner, 0, "typed_data")


def _token(td: TypedData) -> str:
    vc = td.verifying_contract
    if vc is None:
        raise DecodeError(
            "typed_data_ambiguous", f"{td.primary_type} without verifyingContract: which token?"
        )
    return vc


# --- token permits ---------------------------------------------------------------------------


@_known(
    "Permit", "Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)"
)
def _eip2612(td: TypedData, signer: str, chain: int, ctx: Ctx) -> None:
    m, out, token = td.message, ctx.out, _token(td)
    value = m["value"]
    out.add_class(ActionClass.PERMIT_SIGN)
    out.accounts.add(m["owner"])
    out.approvals.append(
        Approval(
            chain,
            token,
            m["spender"],
            None if value == UINT256_MAX else value,
            expires_at=m["deadline"],
        )
    )
    out.destinations.add(m["spender"])
    out.deadlines.append(m["deadline"])
    out.nonces.append(
        ProtocolNonce(NonceKind.EIP2612, (str(chain), token, m["owner"], str(m["nonce"])))
    )
    if value == UINT256_MAX:
        out.non_delegable.append(f"unlimited EIP-2612 permit of {token} to {m['spender']}")


@_known(
    "Permit", "Permit(address holder,address spender,uint256 nonce,uint256 expiry,bool allowed)"
)
def _dai(td: TypedData, signer: str, chain: int, ctx: Ctx) -> None:
    m, out, token = td.message, ctx.out, _token(td)
    out.add_class(ActionClass.PERMIT_SIGN)
    out.accounts.add(m["holder"])
    expiry = m["expiry"] or None
    out.approvals.append(
        Approval(chain, token, m["spender"], None if m["allowed"] else 0, expires_at=expiry)
    )
    out.destinations.add(m["spender"])
    if expiry is not None:
        out.deadlines.append(expiry)
    else:
        out.detail("permit_no_expiry", "DAI permit expiry 0 never expires")
    out.nonces.append(
        ProtocolNonce(NonceKind.EIP2612, (str(chain), token, m["holder"], str(m["nonce"])))
    )
    if m["allowed"]:
        out.non_delegable.append(
            f"DAI-style permit allowed=true: unlimited allowance of {token} to {m['spender']}"
        )


@_known("Permit", "Permit(address spender,uint256 tokenId,uint256 nonce,uint256 deadline)")
def _erc4494(td: TypedData, signer: str, chain: int, ctx: Ctx) -> None:
    m, out, token = td.message, ctx.out, _token(td)
    out.add_class(ActionClass.PERMIT_SIGN)
    out.approvals.append(
        Approval(chain, token, m["spender"], 1, expires_at=m["deadline"], token_id=m["tokenId"])
    )
    out.destinations.add(m["spender"])
    out.deadlines.append(m["deadline"])


# --- Permit2 ---------------------------------------------------------------------------------


def _permit2_contract(td: TypedData, out: Collector) -> None:
    if td.verifying_contract != PERMIT2:
        out.detail("noncanonical_permit2", f"verifyingContract {td.verifying_contract}")


@_known(
    "PermitSingle",
    f"PermitSingle(PermitDetails details,address spender,uint256 sigDeadline){_PERMIT_DETAILS}",
)
def _permit_single(td: TypedData, signer: str, chain: int, ctx: Ctx) -> None:
    m, out = td.message, ctx.out
    _permit2_contract(td, out)
    out.add_class(ActionClass.PERMIT_SIGN)
    d = m["details"]
    permit2_details(
        out,
        _site(chain, signer, PERMIT2),
        signer,
        m["spender"],
        (d["token"], d["amount"], d["expiration"], d["nonce"]),
    )
    out.deadlines.append(m["sigDeadline"])


@_known(
    "PermitBatch",
    f"PermitBatch(PermitDetails[] details,address spender,uint256 sigDeadline){_PERMIT_DETAILS}",
)
def _permit_batch(td: TypedData, signer: str, chain: int, ctx: Ctx) -> None:
    m, out = td.message, ctx.out
    _permit2_contract(td, out)
    out.add_class(ActionClass.PERMIT_SIGN)
    for d in m["details"]:
        permit2_details(
            out,
            _site(chain, signer, PERMIT2),
            signer,
            m["spender"],
            (d["token"], d["amount"], d["expiration"], d["nonce"]),
        )
    out.deadlines.append(m["sigDeadline"])


def _transfer_permits(
    td: TypedData, signer: str, chain: int, ctx: Ctx, permitted: list[dict[str, Any]]
) -> None:
    m, out = td.message, ctx.out
    _permit2_contract(td, out)
    out.add_class(ActionClass.PERMIT_SIGN)
    spender = m["spender"]
    for p in permitted:
        amount = p["amount"]
        out.approvals.append(
            Approval(
                chain,
                p["token"],
                spender,
                None if amount == UINT256_MAX else amount,
                expires_at=m["deadline"],
            )
        )
        if amount == UINT256_MAX:
            out.non_delegable.append(
                f"unlimited Permit2 transfer permit of {p['token']} to {spender}"
            )
    out.destinations.add(spender)
    out.deadlines.append(m["deadline"])
    permit2_unordered(out, chain, signer, m["nonce"])


@_known(
    "PermitTransferFrom",
    f"PermitTransferFrom(TokenPermissions permitted,address spender,uint256 nonce,uint256 deadline){_TOKEN_PERMISSIONS}",
)
def _permit_transfer(td: TypedData, signer: str, chain: int, ctx: Ctx) -> None:
    _transfer_permits(td, signer, chain, ctx, [td.message["permitted"]])


@_known(
    "PermitBatchTransferFrom",
    "PermitBatchTransferFrom(TokenPermissions[] permitted,address spender,uint256 nonce,uint256 deadline)"
    + _TOKEN_PERMISSIONS,
)
def _permit_batch_transfer(td: TypedData, signer: str, chain: int, ctx: Ctx) -> None:
    _transfer_permits(td, signer, chain, ctx, list(td.message["permitted"]))


def _witness_match(td: TypedData) -> Decoder | None:
    """Witness variants: the four standard fields, then ``witness`` of any struct type."""
    fields = [(f["name"], f["type"]) for f in td.types[td.primary_type]]
    batch = td.primary_type == "PermitBatchWitnessTransferFrom"
    head = [
        ("permitted", "TokenPermissions[]" if batch else "TokenPermissions"),
        ("spender", "address"),
        ("nonce", "uint256"),
        ("deadline", "uint256"),
    ]
    tp = td.types.get("TokenPermissions")
    tp_ok = tp == [{"name": "token", "type": "address"}, {"name": "amount", "type": "uint256"}]
    if (
        len(fields) == 5
        and fields[:4] == head
        and fields[4][0] == "witness"
        and fields[4][1] in td.types
        and tp_ok
    ):
        return _witness_batch if batch else _witness_single
    return None


def _witness(
    td: TypedData, signer: str, chain: int, ctx: Ctx, permitted: list[dict[str, Any]]
) -> None:
    _transfer_permits(td, signer, chain, ctx, permitted)
    out = ctx.out
    out.add_class(ActionClass.ORDER_SIGN)
    wtype = td.types[td.primary_type][4]["type"]
    out.detail("permit2_witness_type", wtype)
    for key, addr in _addresses(td.message["witness"]):
        if key in ("recipient", "receiver", "to"):
            out.destinations.add(addr)


def _witness_single(td: TypedData, signer: str, chain: int, ctx: Ctx) -> None:
    _witness(td, signer, chain, ctx, [td.message["permitted"]])


def _witness_batch(td: TypedData, signer: str, chain: int, ctx: Ctx) -> None:
    _witness(td, signer, chain, ctx, list(td.message["permitted"]))


KNOWN_TYPES.setdefault("PermitWitnessTransferFrom", {})
KNOWN_TYPES.setdefault("PermitBatchWitnessTransferFrom", {})


def _addresses(value: Any, key: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _addresses(v, k)
    elif isinstance(value, list):
        for v in value:
            yield from _addresses(v, key)
    elif isinstance(value, str) and len(value) == 42 and value.startswith("0x"):
        yield key, value


# --- Seaport ---------------------------------------------------------------------------------


def _order(td: TypedData, chain: int, ctx: Ctx, order: dict[str, Any], where: str) -> None:
    out = ctx.out
    out.accounts.add(order["offerer"])
    order_facts(
        out,
        chain,
        offerer=order["offerer"],
        zone=order["zone"],
        offer=[
            (o["itemType"], o["token"], o["identifierOrCriteria"], o["startAmount"], o["endAmount"])
            for o in order["offer"]
        ],
        consideration=[
            (
                c["itemType"],
                c["token"],
                c["identifierOrCriteria"],
                c["startAmount"],
                c["endAmount"],
                c["recipient"],
            )
            for c in order["consideration"]
        ],
        end_time=order["endTime"],
        conduit_key=order["conduitKey"],
        where=where,
    )
    order_hash = "0x" + hash_struct(td, "OrderComponents", order).hex()
    out.nonces.append(
        ProtocolNonce(
            NonceKind.SEAPORT, (str(chain), order["offerer"], str(order["counter"]), order_hash)
        )
    )
    out.expires_at = max(out.expires_at or 0, order["endTime"])


def _seaport_contract(td: TypedData, out: Collector) -> None:
    if td.verifying_contract not in SEAPORT:
        out.detail("noncanonical_seaport", f"verifyingContract {td.verifying_contract}")


@_known("OrderComponents", _ORDER + _ORDER_DEPS)
def _order_components(td: TypedData, signer: str, chain: int, ctx: Ctx) -> None:
    _seaport_contract(td, ctx.out)
    ctx.out.add_class(ActionClass.ORDER_SIGN)
    ctx.budget_call(_site(chain, signer, td.verifying_contract))
    _order(td, chain, ctx, td.message, "order")


def _is_padding(order: dict[str, Any]) -> bool:
    return (
        order["offerer"] == "0x" + "00" * 20 and not order["offer"] and not order["consideration"]
    )


def _bulk(td: TypedData, signer: str, chain: int, ctx: Ctx) -> None:
    out = ctx.out
    _seaport_contract(td, out)
    out.add_class(ActionClass.ORDER_SIGN)
    leaves: list[tuple[str, dict[str, Any]]] = []
    stack: list[tuple[str, Any]] = [("tree", td.message["tree"])]
    while stack:
        where, node = stack.pop()
        if isinstance(node, list):
            stack.extend((f"{where}[{i}]", n) for i, n in reversed(list(enumerate(node))))
        else:
            leaves.append((where, node))
    decoded = 0
    for where, order in leaves:
        ctx.budget_call(_site(chain, signer, td.verifying_contract))
        if _is_padding(order):
            continue
        _order(td, chain, ctx, order, where)
        decoded += 1
    if not decoded:
        raise DecodeError("typed_data_malformed", "BulkOrder holds no real order")
    out.detail("seaport_bulk_orders", f"{decoded} of {len(leaves)} leaves")


def _register_bulk(max_height: int = 24) -> None:
    for h in range(1, max_height + 1):
        # encodeType sorts dependencies: ConsiderationItem < OfferItem < OrderComponents
        ts = f"BulkOrder(OrderComponents{'[2]' * h} tree)" + _ORDER_DEPS + _ORDER
        KNOWN_TYPES.setdefault("BulkOrder", {})[ts] = _bulk_guarded


def _bulk_guarded(td: TypedData, signer: str, chain: int, ctx: Ctx) -> None:
    height = td.types["BulkOrder"][0]["type"].count("[2]")
    if height > ctx.limits.max_bulk_order_height:
        raise DecodeError(
            "too_large", f"BulkOrder of height {height} ({2**height} leaves) exceeds the limit"
        )
    _bulk(td, signer, chain, ctx)


_register_bulk()


# --- Safe ------------------------------------------------------------------------------------


@_known(
    "SafeTx",
    "SafeTx(address to,uint256 value,bytes data,uint8 operation,uint256 safeTxGas,uint256 baseGas,"
    "uint256 gasPrice,address gasToken,address refundReceiver,uint256 nonce)",
)
def _safe_tx(td: TypedData, signer: str, chain: int, ctx: Ctx) -> None:
    m, out = td.message, ctx.out
    safe = td.verifying_contract
    if safe is None:
        raise DecodeError("typed_data_ambiguous", "SafeTx without verifyingContract: which Safe?")
    if m["operation"] not in (0, 1):
        raise DecodeError(
            "bad_operation", f"SafeTx operation {m['operation']} (0 = call, 1 = delegatecall)"
        )
    data = bytes.fromhex(m["data"][2:])
    parent = CallSite(chain, safe, 0, b"", None, -1, "SafeTx")
    child(
        ctx,
        parent,
        "call",
        target=m["to"],
        value=m["value"],
        data=data,
        sender=safe,
        delegatecall=m["operation"] == 1,
    )
    out.detail("safe", safe)
    out.detail("safe_nonce", m["nonce"])
    if m["gasPrice"]:
        receiver = m["refundReceiver"] if m["refundReceiver"] != "0x" + "00" * 20 else signer
        out.destinations.add(receiver)
        out.detail("safe_gas_refund", f"gasPrice {m['gasPrice']} in {m['gasToken']}")


@_known("SafeMessage", "SafeMessage(bytes message)")
def _safe_message(td: TypedData, signer: str, chain: int, ctx: Ctx) -> None:
    if len(td.message["message"]) == 66:
        ctx.out.add_class(
            ActionClass.RAW_SIGN, "SafeMessage over a 32-byte hash (blind ERC-1271 signature)"
        )
    else:
        ctx.out.add_class(ActionClass.TYPED_DATA_SIGN)


# --- delegation / session grants ---------------------------------------------------------------


@_known(
    "Delegation",
    "Delegation(address delegate,address delegator,bytes32 authority,Caveat[] caveats,uint256 salt)"
    "Caveat(address enforcer,bytes terms)",
)
def _mm_delegation(td: TypedData, signer: str, chain: int, ctx: Ctx) -> None:
    m, out = td.message, ctx.out
    out.accounts.add(m["delegator"])
    out.destinations.add(m["delegate"])
    if m["delegate"] == ANY_DELEGATE:
        out.detail("open_delegation", "delegate 0xa11: anyone may redeem")
    for c in m["caveats"]:
        out.detail("caveat", f"{c['enforcer']} terms {len(c['terms']) // 2 - 1} bytes")
    out.add_class(
        ActionClass.AUTHORITY_GRANT,
        f"MetaMask Delegation from {m['delegator']} to {m['delegate']} with {len(m['caveats'])} caveat(s)",
    )


@_known(
    "SpendPermission",
    "SpendPermission(address account,address spender,address token,uint160 allowance,uint48 period,"
    "uint48 start,uint48 end,uint256 salt,bytes extraData)",
)
def _spend_permission(td: TypedData, signer: str, chain: int, ctx: Ctx) -> None:
    m, out = td.message, ctx.out
    out.accounts.add(m["account"])
    amount = None if m["allowance"] == UINT160_MAX else m["allowance"]
    out.approvals.append(Approval(chain, m["token"], m["spender"], amount, expires_at=m["end"]))
    out.destinations.add(m["spender"])
    out.deadlines.append(m["end"])
    out.detail("spend_permission_period", m["period"])
    out.add_class(
        ActionClass.AUTHORITY_GRANT,
        f"Coinbase SpendPermission: {m['spender']} may spend {m['allowance']} of {m['token']} every {m['period']}s",
    )


@_known(
    "HyperliquidTransaction:ApproveAgent",
    "HyperliquidTransaction:ApproveAgent(string hyperliquidChain,address agentAddress,string agentName,uint64 nonce)",
)
def _approve_agent(td: TypedData, signer: str, chain: int, ctx: Ctx) -> None:
    m, out = td.message, ctx.out
    out.destinations.add(m["agentAddress"])
    out.add_class(
        ActionClass.AUTHORITY_GRANT, f"ApproveAgent: {m['agentAddress']} may trade for {signer}"
    )
