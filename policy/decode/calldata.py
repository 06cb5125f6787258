"""Calldata decoding: the selector dispatch table, token/permit semantics, and the never-delegable table (pure).

:func:`decode_call` decodes one :class:`CallSite` (recursively for wrappers, see ``wrappers.py``
and ``swaps.py``), records the facts in the context's collector, appends a :class:`Call`, and
returns the classes the call carries. Rules, in order:

1. no target -> ``contract.deploy``; empty data -> ``native.transfer`` (value may be 0);
2. a call from an account to itself (EIP-7702 account management) that is not a known
   self-execution wrapper -> ``admin.authority``, never delegable;
3. a selector with a semantic handler whose target predicate matches (token standards on any
   target; Permit2, routers, Seaport, WETH only on their listed addresses) -> that meaning;
4. any selector marked ``never`` in ``selectors.json`` -> the ``admin.*`` class of its category,
   never delegable, whatever the target (arg-aware exceptions: ``setApprovalForAll(op, false)``
   is a narrow revocation; SpendPermissionManager.approve is ``authority.grant``);
5. a selector listed ``guarded``/``narrow`` without a handler, or any unknown selector ->
   ``contract.call`` with the selector recorded and the target added to the destinations.

ERC-20 / ERC-721 selector ambiguity (``approve(address,uint256)``, ``transferFrom(address,address,
uint256)``): the token list decides when it knows the target. When it does not, ``approve`` with a
zero spender is read as an ERC-721 approval reset; otherwise the call carries *both* classes
(``erc20.approve`` + ``nft.approve``, or ``erc20.transfer`` + ``nft.transfer``) so an envelope
must grant both, the approval records the ERC-20 reading (amount = the uint256, ``None`` when it
is ``2**256-1``), a transfer records both readings as outflows, and ``ambiguous_token_standard``
is added to the details. ``transfer(address,uint256)`` is ERC-20 unless the list says ERC-721.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from policy.actions import ActionClass, Approval, Call, NonceKind, ProtocolNonce, TokenAmount
from policy.decode.abi import FunctionSpec, spec
from policy.decode.context import CallSite, Collector, Ctx, most_sensitive
from policy.decode.known import PERMIT2, SEAPORT, WETH
from policy.decode.values import UINT256_MAX
from policy.errors import DecodeError
from policy.selectors import Category, Delegable, SelectorInfo, load_selectors

__all__ = ["Entry", "decode_call", "new_ctx", "register"]

UINT160_MAX = 2**160 - 1
ZERO = "0x0000000000000000000000000000000000000000"

Handler = Callable[[Ctx, CallSite, tuple[Any, ...]], set[ActionClass]]
TargetRule = Callable[[int, str], bool] | None


@dataclass(frozen=True, slots=True)
class Entry:
    """A semantic handler for one function; ``where`` limits it to trusted targets (None = any)."""

    fn: FunctionSpec
    handler: Handler
    where: TargetRule = None
    self_wrapper: bool = False  # an account's own execute(): allowed as a self-call


HANDLERS: dict[bytes, Entry] = {}

_CATEGORY_CLASS: Mapping[Category, ActionClass] = {
    Category.UPGRADE: ActionClass.ADMIN_UPGRADE,
    Category.AUTHORITY: ActionClass.ADMIN_AUTHORITY,
    Category.TREASURY: ActionClass.ADMIN_TREASURY,
    Category.ADMIN: ActionClass.ADMIN_CONTROL,
}


@dataclass(frozen=True, slots=True)
class _TableRow:
    info: SelectorInfo
    fn: FunctionSpec


def _table() -> dict[bytes, _TableRow]:
    rows = {}
    for info in load_selectors().values():
        fn = spec(info.signature)
        rows[fn.selector] = _TableRow(info, fn)
    return rows


TABLE: dict[bytes, _TableRow] = _table()


def register(
    signature: str,
    names: tuple[str, ...],
    *,
    where: TargetRule = None,
    self_wrapper: bool = False,
) -> Callable[[Handler], Handler]:
    """Decorator: attach a handler to a function signature (compiled once at import)."""
    fn = spec(signature, names)

    def deco(handler: Handler) -> Handler:
        if fn.selector in HANDLERS:  # pragma: no cover - programming error
            raise ValueError(f"duplicate handler for {signature}")
        HANDLERS[fn.selector] = Entry(fn, handler, where, self_wrapper)
        return handler

    return deco


def on(addresses: frozenset[str] | str) -> Callable[[int, str], bool]:
    """Target rule: the call's target is one of ``addresses``."""
    allowed = frozenset({addresses}) if isinstance(addresses, str) else addresses
    return lambda _chain, target: target in allowed


def new_ctx(ctx: Ctx) -> Ctx:
    """Wire the recursive decoder into a context."""
    ctx.recurse = decode_call
    return ctx


def decode_call(ctx: Ctx, site: CallSite) -> frozenset[ActionClass]:
    """Decode one call (see module docstring); returns the classes it carries."""
    ctx.budget_call(site)
    out = ctx.out
    slot = len(out.calls)
    out.calls.append(_PLACEHOLDER)
    out.native_value += site.value
    target = site.target
    data = site.data
    selector: str | None = None
    function: str | None = None
    args: tuple[tuple[str, str], ...] = ()
    if len(data) > ctx.limits.max_calldata_bytes:
        raise DecodeError(
            "too_large", f"{site.path}: calldata over {ctx.limits.max_calldata_bytes} bytes"
        )
    if target is None:
        classes = {ActionClass.CONTRACT_DEPLOY}
        out.detail("deploy_code_bytes", len(data))
    elif not data:
        classes = {ActionClass.NATIVE_TRANSFER}
        out.destinations.add(target)
    else:
        if len(data) < 4:
            raise DecodeError(
                "bad_calldata", f"{site.path}: {len(data)} bytes of calldata (no selector)"
            )
        sel = data[:4]
        selector = "0x" + sel.hex()
        if site.value:
            out.destinations.add(target)
        entry = HANDLERS.get(sel)
        row = TABLE.get(sel)
        is_self = site.sender is not None and target == site.sender
        if entry is not None and (entry.where is None or entry.where(site.chain_id, target)):
            function = entry.fn.signature
            if is_self and not entry.self_wrapper:
                classes = {_self_call(out, site, function)}
            else:
                values = entry.fn.decode(data)
                args = entry.fn.render(values)
                classes = entry.handler(ctx, site, values)
        elif row is not None and row.info.delegable is Delegable.NEVER:
            function = row.fn.signature
            classes = {_CATEGORY_CLASS.get(row.info.category, ActionClass.ADMIN_AUTHORITY)}
            out.never(next(iter(classes)), _never_reason(row.info, site))
            args = _try_render(row.fn, data)
        elif is_self:
            function = row.fn.signature if row is not None else None
            classes = {_self_call(out, site, function or selector)}
        else:
            if row is not None:
                function = row.fn.signature
                args = _try_render(row.fn, data)
            classes = {ActionClass.CONTRACT_CALL}
            out.destinations.add(target)
    for c in classes:
        out.classes.add(c)
    if site.delegatecall:
        out.detail("delegatecall", f"{site.path} -> {target}")
    out.calls[slot] = Call(
        chain_id=site.chain_id,
        target=target,
        value=site.value,
        selector=selector,
        function=function,
        action_class=most_sensitive(classes),
        args=args,
        delegatecall=site.delegatecall,
        depth=site.depth,
    )
    return frozenset(classes)


_PLACEHOLDER = Call(0, None, 0, None, None, ActionClass.CONTRACT_CALL)


def _never_reason(info: SelectorInfo, site: CallSite) -> str:
    return (
        f"never-delegable selector {info.selector} {info.signature} ({info.name}, {info.category.value})"
        f" at {site.path} on {site.target}"
    )


def _self_call(out: Collector, site: CallSite, function: str | None) -> ActionClass:
    out.never(
        ActionClass.ADMIN_AUTHORITY,
        f"self-call {function or '?'} at {site.path}: account management on {site.target}",
    )
    return ActionClass.ADMIN_AUTHORITY


def _try_render(fn: FunctionSpec, data: bytes) -> tuple[tuple[str, str], ...]:
    try:
        return fn.render(fn.decode(data))
    except DecodeError:
        return (("undecodable_args", "0x" + data[4:68].hex()),)


# --- shared recorders -------------------------------------------------------------------------


def standard(ctx: Ctx, chain_id: int, token: str) -> str | None:
    """The token list's standard for ``token``, or None when unknown."""
    if ctx.tokens is None:
        return None
    info = ctx.tokens.token(chain_id, token)
    return info.standard if info is not None else None


def approve_erc20(
    out: Collector,
    site: CallSite,
    token: str,
    spender: str,
    amount: int | None,
    *,
    expires_at: int | None = None,
    what: str,
) -> None:
    """Record an allowance; ``amount=None`` is unlimited and never delegable."""
    spender = spender.lower()
    out.approvals.append(
        Approval(site.chain_id, token.lower(), spender, amount, expires_at=expires_at)
    )
    out.destinations.add(spender)
    if amount is None:
        out.non_delegable.append(
            f"unlimited approval ({what}) of {token.lower()} to {spender} at {site.path}"
        )


def outflow(
    out: Collector, chain_id: int, token: str, amount: int, token_id: int | None = None
) -> None:
    """Record tokens leaving the account."""
    out.token_amounts.append(TokenAmount(chain_id, token.lower(), amount, token_id))


# --- ERC-20 / ERC-721 / ERC-1155 (any target) -------------------------------------------------


@register("transfer(address,uint256)", ("to", "amount"))
def _transfer(ctx: Ctx, site: CallSite, v: tuple[Any, ...]) -> set[ActionClass]:
    token = str(site.target)
    to = v[0].lower()
    ctx.out.destinations.add(to)
    if standard(ctx, site.chain_id, token) == "erc721":
        outflow(ctx.out, site.chain_id, token, 1, v[1])
        return {ActionClass.NFT_TRANSFER}
    outflow(ctx.out, site.chain_id, token, v[1])
    return {ActionClass.ERC20_TRANSFER}


@register("transferFrom(address,address,uint256)", ("from", "to", "amount"))
def _transfer_from(ctx: Ctx, site: CallSite, v: tuple[Any, ...]) -> set[ActionClass]:
    token = str(site.target)
    src, to, n = v[0].lower(), v[1].lower(), v[2]
    out = ctx.out
    out.destinations.add(to)
    if site.sender is not None and src != site.sender:
        out.detail("transfer_from_other", f"{site.path}: from {src}")
    std = standard(ctx, site.chain_id, token)
    if std == "erc20":
        outflow(out, site.chain_id, token, n)
        return {ActionClass.ERC20_TRANSFER}
    if std == "erc721":
        outflow(out, site.chain_id, token, 1, n)
        return {ActionClass.NFT_TRANSFER}
    outflow(out, site.chain_id, token, n)
    outflow(out, site.chain_id, token, 1, n)
    out.detail("ambiguous_token_standard", f"{site.path}: transferFrom on {token}")
    return {ActionClass.ERC20_TRANSFER, ActionClass.NFT_TRANSFER}


@register("approve(address,uint256)", ("spender", "amount"))
def _approve(ctx: Ctx, site: CallSite, v: tuple[Any, ...]) -> set[ActionClass]:
    token = str(site.target)
    spender, n = v[0].lower(), v[1]
    out = ctx.out
    std = standard(ctx, site.chain_id, token)
    if std == "erc721" or (std is None and spender == ZERO):
        if spender == ZERO:
            out.detail("nft_approval_reset", f"{site.path}: token id {n} on {token}")
        else:
            out.approvals.append(Approval(site.chain_id, token, spender, 1, token_id=n))
            out.destinations.add(spender)
        return {ActionClass.NFT_APPROVE}
    approve_erc20(out, site, token, spender, None if n == UINT256_MAX else n, what="approve")
    if std == "erc20":
        return {ActionClass.ERC20_APPROVE}
    out.detail("ambiguous_token_standard", f"{site.path}: approve on {token}")
    return {ActionClass.ERC20_APPROVE, ActionClass.NFT_APPROVE}


@register("increaseAllowance(address,uint256)", ("spender", "addedValue"))
def _increase(ctx: Ctx, site: CallSite, v: tuple[Any, ...]) -> set[ActionClass]:
    n = v[1]
    approve_erc20(
        ctx.out,
        site,
        str(site.target),
        v[0],
        None if n == UINT256_MAX else n,
        what="increaseAllowance",
    )
    ctx.out.detail("allowance_increase", f"{site.path}: adds to the current allowance")
    return {ActionClass.ERC20_APPROVE}


@register("decreaseAllowance(address,uint256)", ("spender", "subtractedValue"))
def _decrease(ctx: Ctx, site: CallSite, v: tuple[Any, ...]) -> set[ActionClass]:
    ctx.out.detail("allowance_decrease", f"{site.path}: {v[0].lower()} on {site.target}")
    return {ActionClass.ERC20_APPROVE}


@register("setApprovalForAll(address,bool)", ("operator", "approved"))
def _approval_for_all(ctx: Ctx, site: CallSite, v: tuple[Any, ...]) -> set[ActionClass]:
    op = v[0].lower()
    out = ctx.out
    if not v[1]:
        out.detail("approval_for_all_revoked", f"{site.path}: operator {op} on {site.target}")
        return {ActionClass.NFT_APPROVE}
    out.approvals.append(Approval(site.chain_id, str(site.target), op, None, all_tokens=True))
    out.destinations.add(op)
    out.never(
        ActionClass.NFT_APPROVE_ALL,
        f"never-delegable selector 0xa22cb465 setApprovalForAll(address,bool) with approved=true"
        f" at {site.path} on {site.target} (operator {op})",
    )
    return {ActionClass.NFT_APPROVE_ALL}


@register("safeTransferFrom(address,address,uint256)", ("from", "to", "tokenId"))
def _nft_safe_transfer(ctx: Ctx, site: CallSite, v: tuple[Any, ...]) -> set[ActionClass]:
    ctx.out.destinations.add(v[1].lower())
    outflow(ctx.out, site.chain_id, str(site.target), 1, v[2])
    return {ActionClass.NFT_TRANSFER}


@register("safeTransferFrom(address,address,uint256,bytes)", ("from", "to", "tokenId", "data"))
def _nft_safe_transfer_data(ctx: Ctx, site: CallSite, v: tuple[Any, ...]) -> set[ActionClass]:
    return _nft_safe_transfer(ctx, site, v)


@register(
    "safeTransferFrom(address,address,uint256,uint256,bytes)",
    ("from", "to", "id", "amount", "data"),
)
def _erc1155_transfer(ctx: Ctx, site: CallSite, v: tuple[Any, ...]) -> set[ActionClass]:
    ctx.out.destinations.add(v[1].lower())
    outflow(ctx.out, site.chain_id, str(site.target), v[3], v[2])
    return {ActionClass.NFT_TRANSFER}


@register(
    "safeBatchTransferFrom(address,address,uint256[],uint256[],bytes)",
    ("from", "to", "ids", "amounts", "data"),
)
def _erc1155_batch(ctx: Ctx, site: CallSite, v: tuple[Any, ...]) -> set[ActionClass]:
    ids, amounts = v[2], v[3]
    if len(ids) != len(amounts):
        raise DecodeError("abi_decode_failed", f"{site.path}: ids/amounts length mismatch")
    ctx.out.destinations.add(v[1].lower())
    for token_id, n in zip(ids, amounts, strict=True):
        outflow(ctx.out, site.chain_id, str(site.target), n, token_id)
    return {ActionClass.NFT_TRANSFER}


# --- on-chain permits (any token target) ------------------------------------------------------


@register(
    "permit(address,address,uint256,uint256,uint8,bytes32,bytes32)",
    ("owner", "spender", "value", "deadline", "v", "r", "s"),
)
def _eip2612_permit(ctx: Ctx, site: CallSite, v: tuple[Any, ...]) -> set[ActionClass]:
    n = v[2]
    approve_erc20(
        ctx.out,
        site,
        str(site.target),
        v[1],
        None if n == UINT256_MAX else n,
        expires_at=v[3],
        what="EIP-2612 permit",
    )
    ctx.out.deadlines.append(v[3])
    ctx.out.detail("permit_owner", v[0].lower())
    return {ActionClass.ERC20_APPROVE}


@register(
    "permit(address,address,uint256,uint256,bool,uint8,bytes32,bytes32)",
    ("holder", "spender", "nonce", "expiry", "allowed", "v", "r", "s"),
)
def _dai_permit(ctx: Ctx, site: CallSite, v: tuple[Any, ...]) -> set[ActionClass]:
    out = ctx.out
    token = str(site.target)
    holder, spender, nonce, expiry, allowed = v[0].lower(), v[1].lower(), v[2], v[3], v[4]
    out.approvals.append(
        Approval(site.chain_id, token, spender, None if allowed else 0, expires_at=expiry or None)
    )
    out.destinations.add(spender)
    if expiry:
        out.deadlines.append(expiry)
    out.nonces.append(
        ProtocolNonce(NonceKind.EIP2612, (str(site.chain_id), token, holder, str(nonce)))
    )
    out.never(
        ActionClass.ERC20_APPROVE,
        f"never-delegable selector 0x8fcbaf0c DAI permit (allowed={allowed}) at {site.path} on {token}",
    )
    return {ActionClass.ERC20_APPROVE}


@register("permit(address,uint256,uint256,bytes)", ("spender", "tokenId", "deadline", "sig"))
def _erc4494_permit(ctx: Ctx, site: CallSite, v: tuple[Any, ...]) -> set[ActionClass]:
    spender = v[0].lower()
    ctx.out.approvals.append(
        Approval(site.chain_id, str(site.target), spender, 1, expires_at=v[2], token_id=v[1])
    )
    ctx.out.destinations.add(spender)
    ctx.out.deadlines.append(v[2])
    return {ActionClass.NFT_APPROVE}


@register(
    "approve((address,address,address,uint160,uint48,uint48,uint48,uint256,bytes))",
    ("spendPermission",),
)
def _spend_permission_approve(ctx: Ctx, site: CallSite, v: tuple[Any, ...]) -> set[ActionClass]:
    account, spender, token, allowance, period, _start, end = v[0][:7]
    out = ctx.out
    out.approvals.append(
        Approval(site.chain_id, token.lower(), spender.lower(), allowance, expires_at=end)
    )
    out.destinations.add(spender.lower())
    out.detail("spend_permission_period", period)
    out.never(
        ActionClass.AUTHORITY_GRANT,
        f"never-delegable selector 0x33211c30 SpendPermissionManager.approve at {site.path}"
        f" (account {account.lower()}, spender {spender.lower()})",
    )
    return {ActionClass.AUTHORITY_GRANT}


# --- Permit2 (only on the canonical Permit2 address) ------------------------------------------

_ON_PERMIT2 = on(PERMIT2)


def permit2_details(
    out: Collector, site: CallSite, owner: str | None, spender: str, details: tuple[Any, ...]
) -> None:
    """One PermitDetails(token, amount, expiration, nonce) of an AllowanceTransfer permit."""
    token, amount, expiration, nonce = details
    token = token.lower()
    approve_erc20(
        out,
        site,
        token,
        spender,
        None if amount == UINT160_MAX else amount,
        expires_at=expiration,
        what="Permit2",
    )
    if owner is not None:
        out.nonces.append(
            ProtocolNonce(
                NonceKind.PERMIT2_ORDERED,
                (str(site.chain_id), owner.lower(), token, spender.lower(), str(nonce)),
            )
        )


def permit2_unordered(out: Collector, chain_id: int, owner: str, nonce: int) -> None:
    """Record a SignatureTransfer nonce as (chain, owner, word, bit)."""
    out.nonces.append(
        ProtocolNonce(
            NonceKind.PERMIT2_UNORDERED,
            (str(chain_id), owner.lower(), str(nonce >> 8), str(nonce & 255)),
        )
    )


@register(
    "approve(address,address,uint160,uint48)",
    ("token", "spender", "amount", "expiration"),
    where=_ON_PERMIT2,
)
def _permit2_approve(ctx: Ctx, site: CallSite, v: tuple[Any, ...]) -> set[ActionClass]:
    approve_erc20(
        ctx.out,
        site,
        v[0],
        v[1],
        None if v[2] == UINT160_MAX else v[2],
        expires_at=v[3],
        what="Permit2.approve",
    )
    return {ActionClass.ERC20_APPROVE}


@register(
    "permit(address,((address,uint160,uint48,uint48),address,uint256),bytes)",
    ("owner", "permitSingle", "signature"),
    where=_ON_PERMIT2,
)
def _permit2_permit_single(ctx: Ctx, site: CallSite, v: tuple[Any, ...]) -> set[ActionClass]:
    details, spender, sig_deadline = v[1]
    permit2_details(ctx.out, site, v[0], spender, details)
    ctx.out.deadlines.append(sig_deadline)
    return {ActionClass.ERC20_APPROVE}


@register(
    "permit(address,((address,uint160,uint48,uint48)[],address,uint256),bytes)",
    ("owner", "permitBatch", "signature"),
    where=_ON_PERMIT2,
)
def _permit2_permit_batch(ctx: Ctx, site: CallSite, v: tuple[Any, ...]) -> set[ActionClass]:
    batch, spender, sig_deadline = v[1]
    for details in batch:
        permit2_details(ctx.out, site, v[0], spender, details)
    ctx.out.deadlines.append(sig_deadline)
    return {ActionClass.ERC20_APPROVE}


@register(
    "transferFrom(address,address,uint160,address)",
    ("from", "to", "amount", "token"),
    where=_ON_PERMIT2,
)
def _permit2_transfer_from(ctx: Ctx, site: CallSite, v: tuple[Any, ...]) -> set[ActionClass]:
    ctx.out.destinations.add(v[1].lower())
    outflow(ctx.out, site.chain_id, v[3], v[2])
    return {ActionClass.ERC20_TRANSFER}


@register(
    "permitTransferFrom(((address,uint256),uint256,uint256),(address,uint256),address,bytes)",
    ("permit", "transferDetails", "owner", "signature"),
    where=_ON_PERMIT2,
)
def _permit2_permit_transfer(ctx: Ctx, site: CallSite, v: tuple[Any, ...]) -> set[ActionClass]:
    (token, _max), nonce, deadline = v[0]
    to, amount = v[1]
    out = ctx.out
    out.destinations.add(to.lower())
    outflow(out, site.chain_id, token, amount)
    out.deadlines.append(deadline)
    permit2_unordered(out, site.chain_id, v[2], nonce)
    return {ActionClass.ERC20_TRANSFER}


@register(
    "permitWitnessTransferFrom(((address,uint256),uint256,uint256),(address,uint256),address,bytes32,string,bytes)",
    ("permit", "transferDetails", "owner", "witness", "witnessTypeString", "signature"),
    where=_ON_PERMIT2,
)
def _permit2_witness_transfer(ctx: Ctx, site: CallSite, v: tuple[Any, ...]) -> set[ActionClass]:
    ctx.out.detail("permit2_witness_type", v[4][:200])
    return _permit2_permit_transfer(ctx, site, v)


@register("lockdown((address,address)[])", ("approvals",), where=_ON_PERMIT2)
def _permit2_lockdown(ctx: Ctx, site: CallSite, v: tuple[Any, ...]) -> set[ActionClass]:
    return {ActionClass.PERMISSION_REVOKE}


# --- WETH, Seaport revocations ----------------------------------------------------------------


def _is_weth(chain_id: int, target: str) -> bool:
    return WETH.get(chain_id) == target


@register("deposit()", (), where=_is_weth)
def _weth_deposit(ctx: Ctx, site: CallSite, v: tuple[Any, ...]) -> set[ActionClass]:
    return {ActionClass.SWAP_EXECUTE}


@register("withdraw(uint256)", ("wad",), where=_is_weth)
def _weth_withdraw(ctx: Ctx, site: CallSite, v: tuple[Any, ...]) -> set[ActionClass]:
    outflow(ctx.out, site.chain_id, str(site.target), v[0])
    return {ActionClass.SWAP_EXECUTE}


@register("incrementCounter()", (), where=on(SEAPORT))
def _seaport_increment(ctx: Ctx, site: CallSite, v: tuple[Any, ...]) -> set[ActionClass]:
    return {ActionClass.PERMISSION_REVOKE}


_SEAPORT_ORDER_COMPONENTS = (
    "(address,address,(uint8,address,uint256,uint256,uint256)[],(uint8,address,uint256,uint256,uint256,address)[],"
    "uint8,uint256,uint256,bytes32,uint256,bytes32,uint256)"
)


@register(f"cancel({_SEAPORT_ORDER_COMPONENTS}[])", ("orders",), where=on(SEAPORT))
def _seaport_cancel(ctx: Ctx, site: CallSite, v: tuple[Any, ...]) -> set[ActionClass]:
    return {ActionClass.PERMISSION_REVOKE}


# Wrapper and swap handlers register themselves on import.
from policy.decode import seaport as _seaport  # noqa: E402,F401
from policy.decode import swaps as _swaps  # noqa: E402,F401
from policy.decode import wrappers as _wrappers  # noqa: E402,F401
