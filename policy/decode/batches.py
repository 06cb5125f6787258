"""Wallet methods: ``wallet_sendCalls`` (EIP-5792), ERC-7715 grants and revocations, chain switch/add (pure).

wallet_sendCalls: every call is decoded with the transaction rules (recursively), values summed;
the batch id becomes ``NonceKind.BATCH_ID`` keyed ``(from, app origin, id)``; any capability not
marked ``optional: true`` is refused (``unsupported_capability``, EIP-5792 error 5700) because the
proxy cannot vouch for what it would make the wallet do. Payload hash: keccak of the canonical JSON
of ``{chainId, from, calls: [{to, value, data}]}`` (normalised; the batch id is excluded so a
re-submitted batch under a fresh id still matches).
"""

from __future__ import annotations

from typing import Any

from policy.actions import ActionClass, NonceKind, ProtocolNonce
from policy.decode.calldata import decode_call
from policy.decode.context import CallSite, Ctx
from policy.decode.values import address, canonical_json_hash, hex_bytes, optional_address, quantity
from policy.errors import DecodeError
from policy.request import SigningRequest

__all__ = [
    "decode_add_chain",
    "decode_grant_permissions",
    "decode_revoke_permissions",
    "decode_send_calls",
    "decode_switch_chain",
]

_BATCH_KEYS = frozenset(
    {"version", "id", "from", "chainId", "atomicRequired", "calls", "capabilities"}
)
_CALL_KEYS = frozenset({"to", "value", "data", "capabilities"})
_MAX_ID = 256


def bounded(obj: Any, limit: int, where: str) -> None:
    """Refuse JSON params with more than ``limit`` nodes or nested deeper than 32."""
    stack: list[tuple[Any, int]] = [(obj, 0)]
    count = 0
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > limit:
            raise DecodeError("too_large", f"{where}: more than {limit} JSON values")
        if depth > 32:
            raise DecodeError("depth_exceeded", f"{where}: JSON nested deeper than 32")
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)


def _capabilities(caps: Any, where: str, ctx: Ctx) -> None:
    if caps is None:
        return
    if not isinstance(caps, dict):
        raise DecodeError("bad_params", f"{where}.capabilities must be an object")
    for name, cap in caps.items():
        if not isinstance(cap, dict) or cap.get("optional") is not True:
            raise DecodeError(
                "unsupported_capability", f"{where}: capability {str(name)[:64]!r} is not optional"
            )
        ctx.out.detail("ignored_optional_capability", f"{where}: {str(name)[:64]}")


def _single(params: Any, method: str) -> dict[str, Any]:
    if not isinstance(params, list) or len(params) != 1 or not isinstance(params[0], dict):
        raise DecodeError("bad_params", f"{method} takes exactly one object")
    return params[0]


def decode_send_calls(request: SigningRequest, ctx: Ctx) -> str:
    """EIP-5792 wallet_sendCalls into ``ctx.out``; return the payload hash."""
    batch = _single(request.params, request.method)
    bounded(batch, ctx.limits.max_params_nodes, "wallet_sendCalls")
    unknown = set(batch) - _BATCH_KEYS
    if unknown:
        raise DecodeError(
            "unknown_field", f"wallet_sendCalls fields not understood: {sorted(unknown)[:5]}"
        )
    out = ctx.out
    chain = quantity(batch.get("chainId"), "chainId", bits=64)
    out.chain_ids.add(chain)
    sender = optional_address(batch.get("from"), "from")
    if sender is not None:
        out.accounts.add(sender)
    actor = sender or request.account
    calls = batch.get("calls")
    if not isinstance(calls, list) or not calls:
        raise DecodeError("bad_params", "wallet_sendCalls needs a non-empty calls array")
    if len(calls) > ctx.limits.max_batch_calls:
        raise DecodeError("too_large", f"more than {ctx.limits.max_batch_calls} calls in a batch")
    atomic = batch.get("atomicRequired")
    if atomic is not None and not isinstance(atomic, bool):
        raise DecodeError("bad_params", "atomicRequired must be a boolean")
    out.detail("atomic_required", atomic)
    if batch.get("version") is not None:
        out.detail("batch_version", str(batch["version"])[:32])
    _capabilities(batch.get("capabilities"), "wallet_sendCalls", ctx)
    normalized = []
    for i, call in enumerate(calls):
        where = f"calls[{i}]"
        if not isinstance(call, dict) or set(call) - _CALL_KEYS:
            raise DecodeError("bad_params", f"{where} must be {{to, value, data, capabilities}}")
        _capabilities(call.get("capabilities"), where, ctx)
        to = optional_address(call.get("to"), f"{where}.to")
        value = quantity(call["value"], f"{where}.value") if call.get("value") is not None else 0
        data = (
            hex_bytes(call["data"], f"{where}.data", max_bytes=ctx.limits.max_calldata_bytes)
            if call.get("data") is not None
            else b""
        )
        decode_call(ctx, CallSite(chain, to, value, data, actor, 0, where))
        normalized.append({"to": to, "value": hex(value), "data": "0x" + data.hex()})
    batch_id = batch.get("id")
    if batch_id is not None:
        if not isinstance(batch_id, str) or not batch_id or len(batch_id) > _MAX_ID:
            raise DecodeError("bad_params", f"batch id must be a string of 1..{_MAX_ID} characters")
        out.nonces.append(
            ProtocolNonce(NonceKind.BATCH_ID, (actor or "", request.origin or "", batch_id))
        )
    return canonical_json_hash({"chainId": hex(chain), "from": sender, "calls": normalized})


def _chain_of(entry: dict[str, Any], where: str, ctx: Ctx) -> None:
    if entry.get("chainId") is None:
        ctx.out.chain_unbound = True
        return
    ctx.out.chain_ids.add(quantity(entry["chainId"], f"{where}.chainId", bits=64))


def decode_grant_permissions(request: SigningRequest, ctx: Ctx) -> str:
    """ERC-7715 wallet_grantPermissions / wallet_requestExecutionPermissions: always ``authority.grant``."""
    params = request.params
    bounded(params, ctx.limits.max_params_nodes, request.method)
    entries = params if isinstance(params, list) else [params]
    if not entries or not all(isinstance(e, dict) for e in entries):
        raise DecodeError("bad_params", f"{request.method} takes permission request objects")
    out = ctx.out
    for i, e in enumerate(entries):
        where = f"{request.method}[{i}]"
        _chain_of(e, where, ctx)
        for key in ("address", "account", "from"):
            if e.get(key) is not None:
                out.accounts.add(address(e[key], f"{where}.{key}"))
        expiry = e.get("expiry")
        if expiry is not None:
            t = quantity(expiry, f"{where}.expiry", bits=64)
            out.deadlines.append(t)
            out.expires_at = t if out.expires_at is None else max(out.expires_at, t)
        for holder in (e.get("signer"), e.get("to")):
            if isinstance(holder, str):
                out.destinations.add(address(holder, f"{where}.signer"))
            elif isinstance(holder, dict) and isinstance(holder.get("data"), dict):
                inner = holder["data"].get("address") or holder["data"].get("id")
                if isinstance(inner, str) and len(inner) == 42:
                    out.destinations.add(address(inner, f"{where}.signer.data"))
        out.add_class(
            ActionClass.AUTHORITY_GRANT,
            f"{request.method}: request {i} mints standing authority for a dApp key",
        )
    return canonical_json_hash(params)


def decode_revoke_permissions(request: SigningRequest, ctx: Ctx) -> str:
    """wallet_revokePermissions / wallet_revokeExecutionPermission: ``permission.revoke``."""
    bounded(request.params, ctx.limits.max_params_nodes, request.method)
    if isinstance(request.params, list):
        for i, e in enumerate(request.params):
            if isinstance(e, dict) and e.get("chainId") is not None:
                _chain_of(e, f"{request.method}[{i}]", ctx)
    ctx.out.add_class(ActionClass.PERMISSION_REVOKE)
    return canonical_json_hash(request.params)


def decode_switch_chain(request: SigningRequest, ctx: Ctx) -> str:
    """EIP-3326 wallet_switchEthereumChain: ``chain.switch`` with the target in ``chain_ids``."""
    p = _single(request.params, request.method)
    if set(p) != {"chainId"}:
        raise DecodeError("bad_params", "wallet_switchEthereumChain takes [{chainId}]")
    target = quantity(p["chainId"], "chainId", bits=64)
    ctx.out.chain_ids.add(target)
    ctx.out.add_class(
        ActionClass.CHAIN_SWITCH,
        f"wallet_switchEthereumChain to {target}: chains are bound per session",
    )
    return canonical_json_hash({"chainId": hex(target)})


def decode_add_chain(request: SigningRequest, ctx: Ctx) -> str:
    """EIP-3085 wallet_addEthereumChain: ``chain.add`` (chains are operator config)."""
    p = _single(request.params, request.method)
    bounded(p, ctx.limits.max_params_nodes, request.method)
    target = quantity(p.get("chainId"), "chainId", bits=64)
    ctx.out.chain_ids.add(target)
    urls = p.get("rpcUrls")
    if isinstance(urls, list):
        for u in urls[:4]:
            ctx.out.detail("rpc_url", str(u)[:200])
    ctx.out.add_class(
        ActionClass.CHAIN_ADD, f"wallet_addEthereumChain {target}: attacker-chosen RPC endpoints"
    )
    return canonical_json_hash(p)
