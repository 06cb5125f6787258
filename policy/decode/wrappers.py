"""Wrapper calls decoded recursively: Safe, MultiSend, ERC-7579, SimpleAccount, multicall, DelegationManager (pure).

Every inner call is decoded with the same rules as a top-level call (``Ctx.decode_child``), one
level deeper, charged against the request's call budget. A wrapper called on a contract other than
the caller itself also counts as a ``contract.call`` on that contract (we cannot know it really is
a Safe / smart account), except ``multicall`` on a listed router. A delegatecall is acceptable only
to a listed Safe MultiSendCallOnly; any other delegatecall is never delegable (``admin.authority``).
"""

from __future__ import annotations

from typing import Any

from policy.actions import ActionClass
from policy.decode.abi import spec
from policy.decode.calldata import register
from policy.decode.context import CallSite, Ctx
from policy.decode.known import MULTISEND_CALL_ONLY, SWAP_ROUTER02, UNISWAP_V3_ROUTERS
from policy.errors import DecodeError

__all__ = ["child", "decode_7579_execution"]

_ROUTERS = SWAP_ROUTER02 | UNISWAP_V3_ROUTERS
_ZERO = "0x0000000000000000000000000000000000000000"


def child(
    ctx: Ctx,
    parent: CallSite,
    name: str,
    *,
    target: str | None,
    value: int,
    data: bytes,
    sender: str | None,
    delegatecall: bool = False,
) -> frozenset[ActionClass]:
    """Decode one inner call; a delegatecall outside MultiSendCallOnly is never delegable."""
    site = CallSite(
        chain_id=parent.chain_id,
        target=target.lower() if target else None,
        value=value,
        data=data,
        sender=sender,
        depth=parent.depth + 1,
        path=f"{parent.path}>{name}",
        delegatecall=delegatecall,
    )
    classes = ctx.decode_child(site)
    if delegatecall and site.target not in MULTISEND_CALL_ONLY:
        ctx.out.never(
            ActionClass.ADMIN_AUTHORITY,
            f"delegatecall to non-allowlisted {site.target} at {site.path} (only MultiSendCallOnly is accepted)",
        )
        classes = classes | {ActionClass.ADMIN_AUTHORITY}
    return classes


def _outer(
    ctx: Ctx, site: CallSite, classes: set[ActionClass], *, trusted: bool = False
) -> set[ActionClass]:
    """The wrapper's own classes: its children's, plus contract.call unless it is the caller's own account."""
    if not trusted and site.sender != site.target:
        ctx.out.destinations.add(str(site.target))
        classes.add(ActionClass.CONTRACT_CALL)
    return classes or {ActionClass.CONTRACT_CALL}


def _operation(op: int, where: str) -> bool:
    if op not in (0, 1):
        raise DecodeError(
            "bad_operation", f"{where}: Safe operation {op} (0 = call, 1 = delegatecall)"
        )
    return op == 1


@register(
    "execTransaction(address,uint256,bytes,uint8,uint256,uint256,uint256,address,address,bytes)",
    (
        "to",
        "value",
        "data",
        "operation",
        "safeTxGas",
        "baseGas",
        "gasPrice",
        "gasToken",
        "refundReceiver",
        "signatures",
    ),
)
def _safe_exec(ctx: Ctx, site: CallSite, v: tuple[Any, ...]) -> set[ActionClass]:
    to, value, data, op, _stg, _base, gas_price, gas_token, refund = v[:9]
    classes = set(
        child(
            ctx,
            site,
            "execTransaction",
            target=to,
            value=value,
            data=data,
            sender=site.target,
            delegatecall=_operation(op, site.path),
        )
    )
    if gas_price:
        receiver = refund.lower() if refund.lower() != _ZERO else site.sender
        if receiver:
            ctx.out.destinations.add(receiver)
        ctx.out.detail(
            "safe_gas_refund", f"{site.path}: gasPrice {gas_price} in {gas_token.lower()}"
        )
    return _outer(ctx, site, classes)


@register(
    "execTransactionFromModule(address,uint256,bytes,uint8)", ("to", "value", "data", "operation")
)
def _safe_exec_module(ctx: Ctx, site: CallSite, v: tuple[Any, ...]) -> set[ActionClass]:
    classes = set(
        child(
            ctx,
            site,
            "execTransactionFromModule",
            target=v[0],
            value=v[1],
            data=v[2],
            sender=site.target,
            delegatecall=_operation(v[3], site.path),
        )
    )
    return _outer(ctx, site, classes)


@register("multiSend(bytes)", ("transactions",))
def _multisend(ctx: Ctx, site: CallSite, v: tuple[Any, ...]) -> set[ActionClass]:
    blob: bytes = v[0]
    # Run by delegatecall (the Safe's context) the inner calls come from the Safe; by a plain call
    # they come from the MultiSend contract itself.
    sender = site.sender if site.delegatecall else site.target
    classes: set[ActionClass] = set()
    pos, i = 0, 0
    while pos < len(blob):
        if pos + 85 > len(blob):
            raise DecodeError("bad_multisend", f"{site.path}: truncated entry {i}")
        op = blob[pos]
        to = "0x" + blob[pos + 1 : pos + 21].hex()
        value = int.from_bytes(blob[pos + 21 : pos + 53], "big")
        length = int.from_bytes(blob[pos + 53 : pos + 85], "big")
        if pos + 85 + length > len(blob):
            raise DecodeError("bad_multisend", f"{site.path}: entry {i} data runs past the end")
        data = blob[pos + 85 : pos + 85 + length]
        classes |= child(
            ctx,
            site,
            f"multiSend[{i}]",
            target=to,
            value=value,
            data=data,
            sender=sender,
            delegatecall=_operation(op, f"{site.path}>multiSend[{i}]"),
        )
        pos += 85 + length
        i += 1
    if site.target in MULTISEND_CALL_ONLY and site.delegatecall:
        return classes or {ActionClass.CONTRACT_CALL}
    return _outer(ctx, site, classes)


_CALLTYPE_SINGLE, _CALLTYPE_BATCH, _CALLTYPE_DELEGATE = 0x00, 0x01, 0xFF
# ERC-7579 batch executions: abi.encode(Execution[]) with Execution = (address, uint256, bytes).
_EXECUTIONS = spec("executions((address,uint256,bytes)[])")


def decode_7579_execution(
    ctx: Ctx, site: CallSite, mode: bytes, execution: bytes, name: str, sender: str | None
) -> set[ActionClass]:
    """Decode ERC-7579 ``executionCalldata`` under ``mode`` (single / batch / delegatecall)."""
    call_type, exec_type, selector = mode[0], mode[1], mode[6:10]
    if exec_type not in (0, 1) or selector != b"\x00\x00\x00\x00":
        raise DecodeError("unknown_exec_mode", f"{site.path}: ERC-7579 mode 0x{mode.hex()}")
    if call_type == _CALLTYPE_SINGLE:
        if len(execution) < 52:
            raise DecodeError("abi_decode_failed", f"{site.path}: short single execution")
        target = "0x" + execution[:20].hex()
        value = int.from_bytes(execution[20:52], "big")
        return set(
            child(ctx, site, name, target=target, value=value, data=execution[52:], sender=sender)
        )
    if call_type == _CALLTYPE_DELEGATE:
        if len(execution) < 20:
            raise DecodeError("abi_decode_failed", f"{site.path}: short delegatecall execution")
        target = "0x" + execution[:20].hex()
        return set(
            child(
                ctx,
                site,
                name,
                target=target,
                value=0,
                data=execution[20:],
                sender=sender,
                delegatecall=True,
            )
        )
    if call_type == _CALLTYPE_BATCH:
        (items,) = _EXECUTIONS.decode(b"\x00\x00\x00\x00" + execution)
        classes: set[ActionClass] = set()
        for i, (target, value, data) in enumerate(items):
            classes |= child(
                ctx, site, f"{name}[{i}]", target=target, value=value, data=data, sender=sender
            )
        return classes
    raise DecodeError("unknown_exec_mode", f"{site.path}: ERC-7579 call type 0x{call_type:02x}")


@register("execute(bytes32,bytes)", ("mode", "executionCalldata"), self_wrapper=True)
def _erc7579_execute(ctx: Ctx, site: CallSite, v: tuple[Any, ...]) -> set[ActionClass]:
    return _outer(ctx, site, decode_7579_execution(ctx, site, v[0], v[1], "execute", site.target))


@register("executeFromExecutor(bytes32,bytes)", ("mode", "executionCalldata"), self_wrapper=True)
def _erc7579_from_executor(ctx: Ctx, site: CallSite, v: tuple[Any, ...]) -> set[ActionClass]:
    return _outer(
        ctx, site, decode_7579_execution(ctx, site, v[0], v[1], "executeFromExecutor", site.target)
    )


@register("execute(address,uint256,bytes)", ("dest", "value", "func"), self_wrapper=True)
def _simple_execute(ctx: Ctx, site: CallSite, v: tuple[Any, ...]) -> set[ActionClass]:
    classes = set(
        child(ctx, site, "execute", target=v[0], value=v[1], data=v[2], sender=site.target)
    )
    return _outer(ctx, site, classes)


@register("executeBatch(address[],uint256[],bytes[])", ("dest", "value", "func"), self_wrapper=True)
def _simple_execute_batch(ctx: Ctx, site: CallSite, v: tuple[Any, ...]) -> set[ActionClass]:
    dests, values, funcs = v
    if len(dests) != len(funcs) or (values and len(values) != len(dests)):
        raise DecodeError("abi_decode_failed", f"{site.path}: executeBatch array lengths differ")
    classes: set[ActionClass] = set()
    for i, (dest, data) in enumerate(zip(dests, funcs, strict=True)):
        value = values[i] if values else 0
        classes |= child(
            ctx, site, f"executeBatch[{i}]", target=dest, value=value, data=data, sender=site.target
        )
    return _outer(ctx, site, classes)


def _multicall_items(
    ctx: Ctx, site: CallSite, items: tuple[bytes, ...], name: str
) -> set[ActionClass]:
    classes: set[ActionClass] = set()
    for i, data in enumerate(items):
        # Self-delegatecall: same target, same msg.sender, msg.value shared (counted once, outside).
        classes |= child(
            ctx, site, f"{name}[{i}]", target=site.target, value=0, data=data, sender=site.sender
        )
    return _outer(ctx, site, classes, trusted=site.target in _ROUTERS)


@register("multicall(bytes[])", ("data",))
def _multicall(ctx: Ctx, site: CallSite, v: tuple[Any, ...]) -> set[ActionClass]:
    return _multicall_items(ctx, site, v[0], "multicall")


@register("multicall(uint256,bytes[])", ("deadline", "data"))
def _multicall_deadline(ctx: Ctx, site: CallSite, v: tuple[Any, ...]) -> set[ActionClass]:
    ctx.out.deadlines.append(v[0])
    return _multicall_items(ctx, site, v[1], "multicall")


@register("multicall(bytes32,bytes[])", ("previousBlockhash", "data"))
def _multicall_blockhash(ctx: Ctx, site: CallSite, v: tuple[Any, ...]) -> set[ActionClass]:
    return _multicall_items(ctx, site, v[1], "multicall")


@register(
    "redeemDelegations(bytes[],bytes32[],bytes[])",
    ("permissionContexts", "modes", "executionCallDatas"),
)
def _redeem_delegations(ctx: Ctx, site: CallSite, v: tuple[Any, ...]) -> set[ActionClass]:
    contexts, modes, executions = v
    if not len(contexts) == len(modes) == len(executions):
        raise DecodeError(
            "abi_decode_failed", f"{site.path}: redeemDelegations array lengths differ"
        )
    classes: set[ActionClass] = set()
    for i, (mode, execution) in enumerate(zip(modes, executions, strict=True)):
        # Executed by the root delegator's account, which only the (undecoded) context names.
        classes |= decode_7579_execution(
            ctx, site, mode, execution, f"redeemDelegations[{i}]", None
        )
    ctx.out.detail("redeems_delegations", f"{site.path}: {len(contexts)} delegation chain(s)")
    return _outer(ctx, site, classes)
