"""Swaps on listed Uniswap routers: V2 Router02, V3 SwapRouter, SwapRouter02, Universal Router commands (pure).

These handlers apply only when the target is a listed router (``known.py``); the same selectors
anywhere else are plain ``contract.call``. Recipients become destinations (router placeholders:
``address(1)`` = the caller, ``address(2)`` = the router itself); what the caller pays becomes an
outflow (skipped when the input token is WETH and native value pays for it); the minimum output to
the caller becomes an inflow; deadlines are recorded. A Universal Router command we do not know
fails the whole request (``unknown_uni_command``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from policy.actions import ActionClass, Call, TokenAmount
from policy.decode.abi import FunctionSpec, decode_tuple, spec
from policy.decode.calldata import (
    on,
    outflow,
    permit2_details,
    register,
)
from policy.decode.context import CallSite, Ctx, most_sensitive
from policy.decode.known import (
    ROUTER_ADDRESS_THIS,
    ROUTER_MSG_SENDER,
    SWAP_ROUTER02,
    UNISWAP_V2_ROUTERS,
    UNISWAP_V3_ROUTERS,
    UNIVERSAL_ROUTERS,
    WETH,
)
from policy.errors import DecodeError

__all__ = ["UR_COMMANDS"]

_ZERO = "0x0000000000000000000000000000000000000000"
_V2 = on(UNISWAP_V2_ROUTERS)
_V3 = on(UNISWAP_V3_ROUTERS)
_R02 = on(SWAP_ROUTER02)
_V3_ANY = on(UNISWAP_V3_ROUTERS | SWAP_ROUTER02)
_UR = on(UNIVERSAL_ROUTERS)
_SWAP = {ActionClass.SWAP_EXECUTE}


def _recipient(ctx: Ctx, site: CallSite, addr: str) -> str:
    """Resolve router placeholders and record the recipient as a destination."""
    a = addr.lower()
    if a == ROUTER_MSG_SENDER and site.sender is not None:
        a = site.sender
    elif a in (ROUTER_ADDRESS_THIS, _ZERO):
        a = str(site.target)
    ctx.out.destinations.add(a)
    return a


def _swap(
    ctx: Ctx,
    site: CallSite,
    *,
    token_in: str,
    amount_in: int,
    token_out: str,
    min_out: int,
    recipient: str,
    payer_is_user: bool = True,
    deadline: int | None = None,
) -> set[ActionClass]:
    out = ctx.out
    to = _recipient(ctx, site, recipient)
    token_in = token_in.lower()
    paid_with_eth = WETH.get(site.chain_id) == token_in and out.native_value > 0
    if payer_is_user and not paid_with_eth:
        outflow(out, site.chain_id, token_in, amount_in)
    if to == site.sender:
        out.inflows.append(TokenAmount(site.chain_id, token_out.lower(), min_out))
    if deadline is not None:
        out.deadlines.append(deadline)
    return set(_SWAP)


def _v3_path(path: bytes, where: str) -> tuple[str, str]:
    """(first token, last token) of a packed V3 path token(20) ‖ (fee(3) ‖ token(20))*."""
    if len(path) < 43 or (len(path) - 20) % 23:
        raise DecodeError("bad_path", f"{where}: malformed V3 path of {len(path)} bytes")
    return "0x" + path[:20].hex(), "0x" + path[-20:].hex()


def _v2_path(path: tuple[str, ...], where: str) -> tuple[str, str]:
    if len(path) < 2:
        raise DecodeError("bad_path", f"{where}: V2 path needs at least two tokens")
    return path[0], path[-1]


# --- V2 Router02 (with deadline) and SwapRouter02 V2 (without) ---------------------------------


def _v2_swap(
    *, exact_out: bool = False, eth_in: bool = False
) -> Callable[[Ctx, CallSite, tuple[Any, ...]], set[ActionClass]]:
    """A V2 router swap: exact-in takes ``(amountIn, amountOutMin, path, to[, deadline])``, exact-out
    ``(amountOut, amountInMax, ...)``; the ETH-in variants drop the input amount (the call's value).
    ``min_out`` is the output the swap guarantees (amountOutMin, or amountOut for exact-out)."""

    def handler(ctx: Ctx, site: CallSite, v: tuple[Any, ...]) -> set[ActionClass]:
        if eth_in:  # the call's value is the input: exact (exact-in) or at most (exact-out)
            amount_in, (min_out, path, to, *rest) = site.value, v
        else:
            first_amount, second_amount, path, to, *rest = v
            amount_in, min_out = (
                (second_amount, first_amount) if exact_out else (first_amount, second_amount)
            )
        first, last = _v2_path(path, site.path)
        return _swap(
            ctx,
            site,
            token_in=first,
            amount_in=amount_in,
            token_out=last,
            min_out=min_out,
            recipient=to,
            payer_is_user=not eth_in,
            deadline=rest[0] if rest else None,
        )

    return handler


_V2_IN5 = ("amountIn", "amountOutMin", "path", "to", "deadline")
_V2_OUT5 = ("amountOut", "amountInMax", "path", "to", "deadline")
register("swapExactTokensForTokens(uint256,uint256,address[],address,uint256)", _V2_IN5, where=_V2)(
    _v2_swap()
)
register("swapExactTokensForETH(uint256,uint256,address[],address,uint256)", _V2_IN5, where=_V2)(
    _v2_swap()
)
register(
    "swapExactTokensForTokensSupportingFeeOnTransferTokens(uint256,uint256,address[],address,uint256)",
    _V2_IN5,
    where=_V2,
)(_v2_swap())
register(
    "swapExactTokensForETHSupportingFeeOnTransferTokens(uint256,uint256,address[],address,uint256)",
    _V2_IN5,
    where=_V2,
)(_v2_swap())
register(
    "swapExactETHForTokens(uint256,address[],address,uint256)",
    ("amountOutMin", "path", "to", "deadline"),
    where=_V2,
)(_v2_swap(eth_in=True))
register(
    "swapExactETHForTokensSupportingFeeOnTransferTokens(uint256,address[],address,uint256)",
    ("amountOutMin", "path", "to", "deadline"),
    where=_V2,
)(_v2_swap(eth_in=True))
register(
    "swapTokensForExactTokens(uint256,uint256,address[],address,uint256)", _V2_OUT5, where=_V2
)(_v2_swap(exact_out=True))
register("swapTokensForExactETH(uint256,uint256,address[],address,uint256)", _V2_OUT5, where=_V2)(
    _v2_swap(exact_out=True)
)
register(
    "swapETHForExactTokens(uint256,address[],address,uint256)",
    ("amountOut", "path", "to", "deadline"),
    where=_V2,
)(_v2_swap(exact_out=True, eth_in=True))
register("swapExactTokensForTokens(uint256,uint256,address[],address)", _V2_IN5[:4], where=_R02)(
    _v2_swap()
)
register("swapTokensForExactTokens(uint256,uint256,address[],address)", _V2_OUT5[:4], where=_R02)(
    _v2_swap(exact_out=True)
)


# --- V3 SwapRouter (params with deadline) ------------------------------------------------------


@register(
    "exactInputSingle((address,address,uint24,address,uint256,uint256,uint256,uint160))",
    ("params",),
    where=_V3,
)
def _v3_in_single(ctx: Ctx, site: CallSite, v: tuple[Any, ...]) -> set[ActionClass]:
    t_in, t_out, _fee, to, deadline, amount_in, min_out, _limit = v[0]
    return _swap(
        ctx,
        site,
        token_in=t_in,
        amount_in=amount_in,
        token_out=t_out,
        min_out=min_out,
        recipient=to,
        deadline=deadline,
    )


@register(
    "exactOutputSingle((address,address,uint24,address,uint256,uint256,uint256,uint160))",
    ("params",),
    where=_V3,
)
def _v3_out_single(ctx: Ctx, site: CallSite, v: tuple[Any, ...]) -> set[ActionClass]:
    t_in, t_out, _fee, to, deadline, amount_out, max_in, _limit = v[0]
    return _swap(
        ctx,
        site,
        token_in=t_in,
        amount_in=max_in,
        token_out=t_out,
        min_out=amount_out,
        recipient=to,
        deadline=deadline,
    )


@register("exactInput((bytes,address,uint256,uint256,uint256))", ("params",), where=_V3)
def _v3_in(ctx: Ctx, site: CallSite, v: tuple[Any, ...]) -> set[ActionClass]:
    path, to, deadline, amount_in, min_out = v[0]
    first, last = _v3_path(path, site.path)
    return _swap(
        ctx,
        site,
        token_in=first,
        amount_in=amount_in,
        token_out=last,
        min_out=min_out,
        recipient=to,
        deadline=deadline,
    )


@register("exactOutput((bytes,address,uint256,uint256,uint256))", ("params",), where=_V3)
def _v3_out(ctx: Ctx, site: CallSite, v: tuple[Any, ...]) -> set[ActionClass]:
    path, to, deadline, amount_out, max_in = v[0]
    first, last = _v3_path(path, site.path)  # exact-output paths are reversed: tokenOut first
    return _swap(
        ctx,
        site,
        token_in=last,
        amount_in=max_in,
        token_out=first,
        min_out=amount_out,
        recipient=to,
        deadline=deadline,
    )


# --- SwapRouter02 (no deadline in params; multicall(uint256,bytes[]) carries it) ----------------


@register(
    "exactInputSingle((address,address,uint24,address,uint256,uint256,uint160))",
    ("params",),
    where=_R02,
)
def _r02_in_single(ctx: Ctx, site: CallSite, v: tuple[Any, ...]) -> set[ActionClass]:
    t_in, t_out, _fee, to, amount_in, min_out, _limit = v[0]
    return _swap(
        ctx,
        site,
        token_in=t_in,
        amount_in=amount_in,
        token_out=t_out,
        min_out=min_out,
        recipient=to,
    )


@register(
    "exactOutputSingle((address,address,uint24,address,uint256,uint256,uint160))",
    ("params",),
    where=_R02,
)
def _r02_out_single(ctx: Ctx, site: CallSite, v: tuple[Any, ...]) -> set[ActionClass]:
    t_in, t_out, _fee, to, amount_out, max_in, _limit = v[0]
    return _swap(
        ctx,
        site,
        token_in=t_in,
        amount_in=max_in,
        token_out=t_out,
        min_out=amount_out,
        recipient=to,
    )


@register("exactInput((bytes,address,uint256,uint256))", ("params",), where=_R02)
def _r02_in(ctx: Ctx, site: CallSite, v: tuple[Any, ...]) -> set[ActionClass]:
    path, to, amount_in, min_out = v[0]
    first, last = _v3_path(path, site.path)
    return _swap(
        ctx,
        site,
        token_in=first,
        amount_in=amount_in,
        token_out=last,
        min_out=min_out,
        recipient=to,
    )


@register("exactOutput((bytes,address,uint256,uint256))", ("params",), where=_R02)
def _r02_out(ctx: Ctx, site: CallSite, v: tuple[Any, ...]) -> set[ActionClass]:
    path, to, amount_out, max_in = v[0]
    first, last = _v3_path(path, site.path)
    return _swap(
        ctx,
        site,
        token_in=last,
        amount_in=max_in,
        token_out=first,
        min_out=amount_out,
        recipient=to,
    )


# --- periphery payments (router-held funds; recipient matters) ---------------------------------


@register("unwrapWETH9(uint256,address)", ("amountMinimum", "recipient"), where=_V3_ANY)
def _unwrap(ctx: Ctx, site: CallSite, v: tuple[Any, ...]) -> set[ActionClass]:
    _recipient(ctx, site, v[1])
    return set(_SWAP)


@register("unwrapWETH9(uint256)", ("amountMinimum",), where=_R02)
def _unwrap_self(ctx: Ctx, site: CallSite, v: tuple[Any, ...]) -> set[ActionClass]:
    return set(_SWAP)


@register("refundETH()", (), where=_V3_ANY)
def _refund(ctx: Ctx, site: CallSite, v: tuple[Any, ...]) -> set[ActionClass]:
    return set(_SWAP)


@register(
    "sweepToken(address,uint256,address)", ("token", "amountMinimum", "recipient"), where=_V3_ANY
)
def _sweep(ctx: Ctx, site: CallSite, v: tuple[Any, ...]) -> set[ActionClass]:
    _recipient(ctx, site, v[2])
    return set(_SWAP)


@register("sweepToken(address,uint256)", ("token", "amountMinimum"), where=_R02)
def _sweep_self(ctx: Ctx, site: CallSite, v: tuple[Any, ...]) -> set[ActionClass]:
    return set(_SWAP)


@register("wrapETH(uint256)", ("value",), where=_R02)
def _wrap(ctx: Ctx, site: CallSite, v: tuple[Any, ...]) -> set[ActionClass]:
    return set(_SWAP)


# --- Universal Router ------------------------------------------------------------------------

_PERMIT_DETAILS = "(address,uint160,uint48,uint48)"

#: command byte -> (name, input spec)
UR_COMMANDS: dict[int, tuple[str, FunctionSpec]] = {
    0x00: ("V3_SWAP_EXACT_IN", spec("a(address,uint256,uint256,bytes,bool)")),
    0x01: ("V3_SWAP_EXACT_OUT", spec("a(address,uint256,uint256,bytes,bool)")),
    0x02: ("PERMIT2_TRANSFER_FROM", spec("a(address,address,uint160)")),
    0x03: ("PERMIT2_PERMIT_BATCH", spec(f"a(({_PERMIT_DETAILS}[],address,uint256),bytes)")),
    0x04: ("SWEEP", spec("a(address,address,uint256)")),
    0x05: ("TRANSFER", spec("a(address,address,uint256)")),
    0x06: ("PAY_PORTION", spec("a(address,address,uint256)")),
    0x08: ("V2_SWAP_EXACT_IN", spec("a(address,uint256,uint256,address[],bool)")),
    0x09: ("V2_SWAP_EXACT_OUT", spec("a(address,uint256,uint256,address[],bool)")),
    0x0A: ("PERMIT2_PERMIT", spec(f"a(({_PERMIT_DETAILS},address,uint256),bytes)")),
    0x0B: ("WRAP_ETH", spec("a(address,uint256)")),
    0x0C: ("UNWRAP_WETH", spec("a(address,uint256)")),
    0x0D: ("PERMIT2_TRANSFER_FROM_BATCH", spec("a((address,address,uint160,address)[])")),
    0x0E: ("BALANCE_CHECK_ERC20", spec("a(address,address,uint256)")),
}


def _ur_command(ctx: Ctx, site: CallSite, name: str, v: tuple[Any, ...]) -> set[ActionClass]:
    out = ctx.out
    sender = site.sender
    if name in ("V3_SWAP_EXACT_IN", "V3_SWAP_EXACT_OUT"):
        to, a, b, path, payer_is_user = v
        first, last = _v3_path(path, site.path)
        if name == "V3_SWAP_EXACT_IN":
            return _swap(
                ctx,
                site,
                token_in=first,
                amount_in=a,
                token_out=last,
                min_out=b,
                recipient=to,
                payer_is_user=payer_is_user,
            )
        return _swap(
            ctx,
            site,
            token_in=last,
            amount_in=b,
            token_out=first,
            min_out=a,
            recipient=to,
            payer_is_user=payer_is_user,
        )
    if name in ("V2_SWAP_EXACT_IN", "V2_SWAP_EXACT_OUT"):
        to, a, b, path, payer_is_user = v
        first, last = _v2_path(path, site.path)
        if name == "V2_SWAP_EXACT_IN":
            return _swap(
                ctx,
                site,
                token_in=first,
                amount_in=a,
                token_out=last,
                min_out=b,
                recipient=to,
                payer_is_user=payer_is_user,
            )
        return _swap(
            ctx,
            site,
            token_in=first,
            amount_in=b,
            token_out=last,
            min_out=a,
            recipient=to,
            payer_is_user=payer_is_user,
        )
    if name == "PERMIT2_TRANSFER_FROM":
        token, to, amount = v
        dest = _recipient(ctx, site, to)
        outflow(out, site.chain_id, token, amount)
        return set(_SWAP) if dest == site.target else {ActionClass.ERC20_TRANSFER}
    if name == "PERMIT2_TRANSFER_FROM_BATCH":
        classes: set[ActionClass] = set()
        for src, to, amount, token in v[0]:
            dest = _recipient(ctx, site, to)
            outflow(out, site.chain_id, token, amount)
            if sender is not None and src.lower() != sender:
                out.detail("transfer_from_other", f"{site.path}: from {src.lower()}")
            classes.add(
                ActionClass.SWAP_EXECUTE if dest == site.target else ActionClass.ERC20_TRANSFER
            )
        return classes or set(_SWAP)
    if name == "PERMIT2_PERMIT":
        (details, spender, sig_deadline), _sig = v
        permit2_details(out, site, sender, spender, details)
        out.deadlines.append(sig_deadline)
        return {ActionClass.ERC20_APPROVE}
    if name == "PERMIT2_PERMIT_BATCH":
        (batch, spender, sig_deadline), _sig = v
        for details in batch:
            permit2_details(out, site, sender, spender, details)
        out.deadlines.append(sig_deadline)
        return {ActionClass.ERC20_APPROVE}
    if name in ("SWEEP", "TRANSFER", "PAY_PORTION"):
        _recipient(ctx, site, v[1])
        return set(_SWAP)
    if name in ("WRAP_ETH", "UNWRAP_WETH"):
        _recipient(ctx, site, v[0])
        return set(_SWAP)
    return set(_SWAP)  # BALANCE_CHECK_ERC20: a revert guard, moves nothing


def _ur_execute(
    ctx: Ctx, site: CallSite, commands: bytes, inputs: tuple[bytes, ...]
) -> set[ActionClass]:
    if len(commands) != len(inputs):
        raise DecodeError(
            "abi_decode_failed", f"{site.path}: {len(commands)} commands for {len(inputs)} inputs"
        )
    classes: set[ActionClass] = set(_SWAP)
    for i, (byte, data) in enumerate(zip(commands, inputs, strict=True)):
        path = f"{site.path}>command[{i}]"
        known = UR_COMMANDS.get(byte & 0x3F) if not byte & 0x40 else None
        if known is None:
            raise DecodeError(
                "unknown_uni_command", f"{path}: Universal Router command 0x{byte:02x}"
            )
        name, fn = known
        sub = CallSite(site.chain_id, site.target, 0, data, site.sender, site.depth + 1, path)
        ctx.budget_call(sub)
        values = decode_tuple(fn, data)
        got = _ur_command(ctx, sub, name, values)
        if byte & 0x80:
            ctx.out.detail("ur_allow_revert", path)
        ctx.out.calls.append(
            Call(
                site.chain_id,
                site.target,
                0,
                None,
                f"UniversalRouter.{name}",
                most_sensitive(got),
                fn.render(values),
                depth=sub.depth,
            )
        )
        classes |= got
    return classes


@register("execute(bytes,bytes[],uint256)", ("commands", "inputs", "deadline"), where=_UR)
def _ur_with_deadline(ctx: Ctx, site: CallSite, v: tuple[Any, ...]) -> set[ActionClass]:
    ctx.out.deadlines.append(v[2])
    return _ur_execute(ctx, site, v[0], v[1])


@register("execute(bytes,bytes[])", ("commands", "inputs"), where=_UR)
def _ur_no_deadline(ctx: Ctx, site: CallSite, v: tuple[Any, ...]) -> set[ActionClass]:
    return _ur_execute(ctx, site, v[0], v[1])
