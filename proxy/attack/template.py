"""Render scenario templates: ``{placeholder}`` substitution in TOML values (pure, no I/O).

Every string leaf of a value is rendered. A string that is exactly one placeholder takes the
placeholder's own type (``"{chain_id}"`` -> ``1``); otherwise values are interpolated as text.
``{{`` and ``}}`` are literal braces. Placeholders:

==========================  ================================================================
``{account}``               the session account (EIP-55)
``{chain}`` ``{other_chain}``  the session chain / a chain the session is not bound to (CAIP-2)
``{chain_id}`` ``{chain_id_hex}`` ``{other_chain_id}`` ``{other_chain_id_hex}``
``{now}`` ``{now+N}`` ``{now-N}``  Unix seconds (int)
``{iso}`` ``{iso+N}`` ``{iso-N}``  the same as ISO-8601 UTC text (SIWE)
``{nonce:N}`` ``{nonce_hex:N}``  the scenario's N-th fresh nonce (unique per run and scenario)
``{uniq}``                  a token unique to this run and scenario (16 alphanumerics)
``{dapp_url}`` ``{dapp_host}``  the attacking dApp's metadata URL and its host
``{hex:TEXT}``              ``0x`` + UTF-8 hex of TEXT
``{repeat:N:TEXT}``         TEXT repeated N times (bounded)
``{max_uint256}`` ``{max_uint160}`` ``{max_uint48}``  decimal text (safe in JSON for JS wallets)
``{zero_address}``
``{calldata:NAME}``         a ``[calldata.NAME]`` definition, ABI-encoded
``{calldata:SIG:A:B...}``   inline: ``{calldata:transfer(address,uint256):0x22..:1000}``
``{multisend:NAME}``        a ``[multisend.NAME]`` definition, packed
``{data:NAME}`` ``{json:NAME}``  a ``[data.NAME]`` value, rendered (as is / as JSON text)
``{step:NAME.PATH}``        a value from an earlier step's rendered params (``first.0.nonce``)
``{result:NAME}``           an earlier step's result (e.g. its signature)
==========================  ================================================================

Every failure raises :class:`TemplateError` (nothing else).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from proxy.attack.builders import BuildError, encode_call, multisend_packed
from proxy.attack.scenario import CalldataDef, MultisendDef

__all__ = ["MAX_DEPTH", "MAX_RENDERED_CHARS", "RenderContext", "TemplateError", "render"]

MAX_DEPTH = 8
"""Definitions may use placeholders that use definitions, this deep at most (cycles end here)."""
MAX_RENDERED_CHARS = 2_000_000
"""A rendered string longer than this is an error."""
MAX_OFFSET = 10**10
_TOKEN = re.compile(r"\{\{|\}\}|\{([a-z_0-9]+)([+-][0-9]{1,11})?(?::([^{}]*))?\}|[{}]")
_MAX_NONCE_INDEX = 1_000


class TemplateError(ValueError):
    """A placeholder could not be rendered (unknown name, bad argument, missing definition, ...)."""


@dataclass(frozen=True, slots=True)
class RenderContext:
    """What placeholders resolve to for one scenario run."""

    account: str
    chain_id: int = 1
    other_chain_id: int = 10
    now: int = 0
    nonce_base: int = 0
    uniq: str = "0000000000000000"
    dapp_url: str = "https://attack.wcproxy.example"
    calldata: Mapping[str, CalldataDef] = field(default_factory=dict)
    multisend: Mapping[str, MultisendDef] = field(default_factory=dict)
    data: Mapping[str, Any] = field(default_factory=dict)
    steps: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


def render(value: Any, ctx: RenderContext, *, _depth: int = 0) -> Any:
    """Render every string in ``value`` (dicts, lists, tuples recursively); raises TemplateError."""
    if _depth > MAX_DEPTH:
        raise TemplateError("definitions nested too deeply (a cycle?)")
    if isinstance(value, str):
        return _render_str(value, ctx, _depth)
    if isinstance(value, Mapping):
        return {str(k): render(v, ctx, _depth=_depth) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [render(v, ctx, _depth=_depth) for v in value]
    if value is None or isinstance(value, bool | int | float):
        return value
    raise TemplateError(f"cannot render a {type(value).__name__}")


def _render_str(text: str, ctx: RenderContext, depth: int) -> Any:
    parts: list[str] = []
    pos = 0
    single: Any = _NOTHING
    for match in _TOKEN.finditer(text):
        parts.append(text[pos : match.start()])
        pos = match.end()
        token = match.group(0)
        if token in ("{{", "}}"):
            parts.append(token[0])
            continue
        if match.group(1) is None:
            raise TemplateError(
                f"stray {token!r} in {_short(text)} (write {token * 2} for a literal)"
            )
        value = _placeholder(match.group(1), match.group(2), match.group(3), ctx, depth)
        if match.start() == 0 and match.end() == len(text):
            single = value
        parts.append(_as_text(value))
    parts.append(text[pos:])
    if single is not _NOTHING:
        return single
    out = "".join(parts)
    if len(out) > MAX_RENDERED_CHARS:
        raise TemplateError(f"rendered text longer than {MAX_RENDERED_CHARS} characters")
    return out


class _Nothing:
    pass


_NOTHING = _Nothing()


def _short(text: str) -> str:
    return repr(text if len(text) <= 60 else text[:57] + "...")


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    try:
        return json.dumps(value, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise TemplateError(f"cannot interpolate a {type(value).__name__}") from exc


def _no_arg(name: str, arg: str | None) -> None:
    if arg is not None:
        raise TemplateError(f"{{{name}}} takes no argument")


def _no_offset(name: str, offset: str | None) -> None:
    if offset is not None:
        raise TemplateError(f"{{{name}}} takes no +/- offset")


def _index(name: str, arg: str | None) -> int:
    if arg is None or not arg.isdigit() or int(arg) > _MAX_NONCE_INDEX:
        raise TemplateError(f"{{{name}:N}} needs N in 0..{_MAX_NONCE_INDEX}")
    return int(arg)


def _placeholder(
    name: str, offset: str | None, arg: str | None, ctx: RenderContext, depth: int
) -> Any:
    if name in ("now", "iso"):
        _no_arg(name, arg)
        delta = int(offset) if offset else 0
        if abs(delta) > MAX_OFFSET:
            raise TemplateError(f"{{{name}}} offset too large")
        t = ctx.now + delta
        if name == "now":
            return t
        try:
            return datetime.fromtimestamp(t, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        except (OverflowError, OSError, ValueError) as exc:
            raise TemplateError(f"{{iso}} out of range: {t}") from exc
    _no_offset(name, offset)
    simple = _simple(ctx)
    if name in simple:
        _no_arg(name, arg)
        return simple[name]
    if name == "nonce":
        return ctx.nonce_base + _index(name, arg)
    if name == "nonce_hex":
        return hex(ctx.nonce_base + _index(name, arg))
    if name == "hex":
        return "0x" + (arg or "").encode("utf-8").hex()
    if name == "repeat":
        count, _, text = (arg or "").partition(":")
        if not count.isdigit() or not text:
            raise TemplateError("{repeat:N:TEXT} needs a count and a text")
        if int(count) * len(text) > MAX_RENDERED_CHARS:
            raise TemplateError("{repeat} result too long")
        return text * int(count)
    if arg is None or arg == "":
        raise TemplateError(
            f"unknown placeholder {{{name}}}"
            if name not in _WITH_ARG
            else f"{{{name}:...}} needs an argument"
        )
    if name == "calldata":
        return _calldata(arg, ctx, depth)
    if name == "multisend":
        ms = ctx.multisend.get(arg)
        if ms is None:
            raise TemplateError(f"no [multisend.{arg}] definition")
        calls = []
        for call in ms.calls:
            to = render(call.to, ctx, _depth=depth + 1)
            value = render(call.value, ctx, _depth=depth + 1)
            data = render(call.data, ctx, _depth=depth + 1)
            calls.append((call.operation, to, value, data))
        try:
            return multisend_packed(calls)
        except BuildError as exc:
            raise TemplateError(str(exc)) from None
    if name in ("data", "json"):
        if arg not in ctx.data:
            raise TemplateError(f"no [data.{arg}] definition")
        value = render(ctx.data[arg], ctx, _depth=depth + 1)
        if name == "data":
            return value
        try:
            return json.dumps(value, separators=(",", ":"))
        except (TypeError, ValueError) as exc:
            raise TemplateError(f"[data.{arg}] is not JSON-encodable") from exc
    if name == "step":
        return _step_value(arg, ctx)
    if name == "result":
        step = ctx.steps.get(arg)
        if step is None or "result" not in step:
            raise TemplateError(f"step {arg!r} has no result (yet)")
        return step["result"]
    raise TemplateError(f"unknown placeholder {{{name}:...}}")


_WITH_ARG = frozenset({"calldata", "multisend", "data", "json", "step", "result"})


def _simple(ctx: RenderContext) -> dict[str, Any]:
    host = urlsplit(ctx.dapp_url).netloc
    return {
        "account": ctx.account,
        "chain": f"eip155:{ctx.chain_id}",
        "chain_id": ctx.chain_id,
        "chain_id_hex": hex(ctx.chain_id),
        "other_chain": f"eip155:{ctx.other_chain_id}",
        "other_chain_id": ctx.other_chain_id,
        "other_chain_id_hex": hex(ctx.other_chain_id),
        "uniq": ctx.uniq,
        "dapp_url": ctx.dapp_url,
        "dapp_host": host,
        "max_uint256": str((1 << 256) - 1),
        "max_uint160": str((1 << 160) - 1),
        "max_uint48": str((1 << 48) - 1),
        "zero_address": "0x" + "00" * 20,
    }


def _calldata(arg: str, ctx: RenderContext, depth: int) -> str:
    if "(" in arg:
        close = arg.find(")")
        depth_count = 0
        for i, ch in enumerate(arg):
            if ch == "(":
                depth_count += 1
            elif ch == ")":
                depth_count -= 1
                if depth_count == 0:
                    close = i
                    break
        sig, rest = arg[: close + 1], arg[close + 1 :]
        if rest and not rest.startswith(":"):
            raise TemplateError(f"inline calldata {_short(arg)}: arguments follow ':'")
        args: list[Any] = rest[1:].split(":") if rest else []
    else:
        definition = ctx.calldata.get(arg)
        if definition is None:
            raise TemplateError(f"no [calldata.{arg}] definition")
        sig = definition.sig
        args = render(list(definition.args), ctx, _depth=depth + 1)
    try:
        return encode_call(sig, args)
    except BuildError as exc:
        raise TemplateError(str(exc)) from None


def _step_value(arg: str, ctx: RenderContext) -> Any:
    name, _, path = arg.partition(".")
    step = ctx.steps.get(name)
    if step is None or "params" not in step:
        raise TemplateError(f"no earlier step {name!r}")
    value: Any = step["params"]
    for part in path.split(".") if path else []:
        if isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        elif isinstance(value, dict) and part in value:
            value = value[part]
        else:
            raise TemplateError(f"step {name!r} params have no {part!r}")
    return value
