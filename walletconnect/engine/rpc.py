"""JSON-RPC plumbing for the engines: payload shapes, parsing with limits, per-method relay opts; pure.

Wire form matches ``@walletconnect/jsonrpc-utils`` ``formatJsonRpc*`` and ``JSON.stringify``:
key order ``id, jsonrpc, method, params`` / ``id, jsonrpc, result`` / ``id, jsonrpc, error``,
compact separators, non-ASCII not escaped. Tags / ttls / prompts come from
``walletconnect.methods.RPC_OPTS`` (= ``rpc-opts.json``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from walletconnect import jsonrpc, methods
from walletconnect.errors import JsonRpcParseError
from walletconnect.methods import RpcOpts

__all__ = [
    "JSONRPC_INVALID_PARAMS",
    "JSONRPC_INVALID_REQUEST",
    "Opts",
    "RpcMessage",
    "encode_json",
    "error_payload",
    "opts_for",
    "parse_rpc",
    "request_payload",
    "result_payload",
]

JSONRPC_INVALID_REQUEST = -32600
JSONRPC_INVALID_PARAMS = -32602


Opts = RpcOpts


def opts_for(method: str, kind: str) -> RpcOpts:
    """Relay opts for ``method``: ``req`` / ``res`` / ``reject`` / ``autoReject`` (unknown -> 0/86400)."""
    table = methods.opts_for(method)
    if kind == "req":
        return table.req
    if kind == "reject" and table.reject is not None:
        return table.reject
    if kind == "autoReject" and table.auto_reject is not None:
        return table.auto_reject
    return table.res


def encode_json(payload: Any) -> str:
    """``JSON.stringify`` equivalent: compact, non-ASCII kept."""
    return jsonrpc.encode_json(payload)


def request_payload(rpc_id: int, method: str, params: Any) -> dict[str, Any]:
    """``{id, jsonrpc, method, params}``."""
    return {"id": rpc_id, "jsonrpc": "2.0", "method": method, "params": params}


def result_payload(rpc_id: int, result: Any) -> dict[str, Any]:
    """``{id, jsonrpc, result}``."""
    return {"id": rpc_id, "jsonrpc": "2.0", "result": result}


def error_payload(rpc_id: int, error: dict[str, Any]) -> dict[str, Any]:
    """``{id, jsonrpc, error}``."""
    return {"id": rpc_id, "jsonrpc": "2.0", "error": error}


@dataclass(frozen=True, slots=True)
class RpcMessage:
    """A parsed JSON-RPC request or response (the engine's view)."""

    id: int
    method: str | None = None
    params: Any = None
    result: Any = None
    error: dict[str, Any] | None = None

    @property
    def is_request(self) -> bool:
        """True for a request (has ``method``)."""
        return self.method is not None


def _int_id(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    # JS peers echo ids >= 17 digits as "<digits>n" strings (safe-json BigInt quirk)
    if isinstance(value, str) and value.endswith("n") and value[:-1].isdigit() and len(value) < 40:
        return int(value[:-1])
    return None


def parse_rpc(text: str, *, max_bytes: int) -> RpcMessage:
    """Parse one JSON-RPC 2.0 message; raises :class:`JsonRpcParseError` (``reason``) only.

    Ids must be integers (WalletConnect peers only use numbers; ``"<digits>n"`` is accepted).
    """
    if len(text.encode("utf-8")) > max_bytes:
        raise JsonRpcParseError(f"oversized: more than {max_bytes} bytes")
    msg = jsonrpc.parse_message(text, max_size=max_bytes)
    rpc_id = _int_id(msg.id)
    if rpc_id is None:
        raise JsonRpcParseError("id must be an integer")
    if isinstance(msg, jsonrpc.JsonRpcRequest):
        return RpcMessage(rpc_id, msg.method, msg.params)
    if isinstance(msg, jsonrpc.JsonRpcResult):
        return RpcMessage(rpc_id, result=msg.result)
    err: dict[str, Any] = {"code": msg.error.code, "message": msg.error.message}
    if msg.error.data is not None:
        err["data"] = msg.error.data
    return RpcMessage(rpc_id, error=err)
