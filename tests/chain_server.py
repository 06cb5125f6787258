"""A real local Ethereum chain for tests: eth-tester (py-evm) behind a small aiohttp JSON-RPC server.

``async with ChainServer(funded=[address]) as chain:`` then point ``[chains."eip155:1"] rpc_url`` at
``chain.url``. The chain id is 1 (py-evm's tester chain is re-labelled), every transaction is mined
at once (eth-tester's auto-mine), and ``funded`` accounts start with 1,000,000 ETH. The server speaks
what a wallet needs to fill and broadcast a transaction: ``eth_chainId``, ``eth_getTransactionCount``,
``eth_estimateGas``, ``eth_gasPrice``, ``eth_maxPriorityFeePerGas``, ``eth_getBlockByNumber``,
``eth_sendRawTransaction``, ``eth_getTransactionByHash``, ``eth_getTransactionReceipt``,
``eth_getBalance``. ``calls`` records every method called; ``raw_transactions`` every broadcast.
"""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Any

import pytest
from aiohttp import web
from eth_utils.address import to_canonical_address

__all__ = ["PRIORITY_FEE_WEI", "ChainServer"]

#: What ``eth_maxPriorityFeePerGas`` answers (1 gwei).
PRIORITY_FEE_WEI = 10**9


def _tester(funded: list[str], chain_id: int) -> Any:
    eth_tester = pytest.importorskip("eth_tester", reason="eth-tester[py-evm] not installed")
    pyevm = pytest.importorskip("eth_tester.backends.pyevm.main")
    state = {to_canonical_address(a): pyevm.get_default_account_state() for a in funded} or None
    backend = eth_tester.PyEVMBackend(genesis_state=state)
    # py-evm builds a fresh VM (and its ChainContext) from ``chain.chain_id`` for every block, so
    # re-labelling the instance makes transactions for chain 1 valid here.
    backend.chain.chain_id = chain_id
    return eth_tester.EthereumTester(backend)


def _hex(value: Any) -> Any:
    """eth-tester's normalised output -> JSON-RPC: ints as quantities, bytes as 0x hex."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return hex(value)
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, dict):
        return {_camel(k): _hex(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_hex(v) for v in value]
    return value


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(part.title() for part in rest)


def _int(value: Any) -> int:
    return int(value, 16) if isinstance(value, str) else int(value)


class ChainServer:
    """eth-tester behind JSON-RPC on 127.0.0.1:0 (see the module docstring)."""

    def __init__(self, *, funded: list[str], chain_id: int = 1) -> None:
        self.tester = _tester(funded, chain_id)
        self.chain_id = chain_id
        self.url = ""
        self.calls: list[str] = []
        self.raw_transactions: list[str] = []
        self._runner: web.AppRunner | None = None
        self._lock = asyncio.Lock()

    async def __aenter__(self) -> ChainServer:
        app = web.Application()
        app.router.add_post("/", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/"
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        method, params = body.get("method"), body.get("params") or []
        self.calls.append(str(method))
        reply: dict[str, Any] = {"jsonrpc": "2.0", "id": body.get("id")}
        try:
            async with self._lock:  # py-evm is not re-entrant
                reply["result"] = self.dispatch(str(method), list(params))
        except KeyError:
            reply["error"] = {"code": -32601, "message": f"method {method} not found"}
        except Exception as exc:  # an EVM/validation failure is the caller's JSON-RPC error
            reply["error"] = {"code": -32000, "message": f"{type(exc).__name__}: {exc}"}
        return web.json_response(reply)

    def dispatch(self, method: str, params: list[Any]) -> Any:
        """One JSON-RPC method against the tester chain (raises KeyError for unknown methods)."""
        t = self.tester
        if method == "eth_chainId":
            return hex(self.chain_id)
        if method == "eth_getTransactionCount":
            block = params[1] if len(params) > 1 else "latest"
            return hex(t.get_nonce(params[0], block))
        if method == "eth_getBalance":
            return hex(t.get_balance(params[0]))
        if method == "eth_estimateGas":
            tx = dict(params[0])
            probe: dict[str, Any] = {"from": tx["from"], "value": _int(tx.get("value", 0))}
            if tx.get("to"):
                probe["to"] = tx["to"]
            data = tx.get("data", tx.get("input"))
            if data and data != "0x":
                probe["data"] = data
            return hex(t.estimate_gas(probe))
        if method == "eth_gasPrice":
            return hex(self._base_fee() + PRIORITY_FEE_WEI)
        if method == "eth_maxPriorityFeePerGas":
            return hex(PRIORITY_FEE_WEI)
        if method == "eth_getBlockByNumber":
            return _hex(
                t.get_block_by_number(params[0], bool(params[1]) if len(params) > 1 else False)
            )
        if method == "eth_sendRawTransaction":
            self.raw_transactions.append(str(params[0]))
            return t.send_raw_transaction(params[0])
        if method == "eth_getTransactionByHash":
            return _hex(t.get_transaction_by_hash(params[0]))
        if method == "eth_getTransactionReceipt":
            return _hex(t.get_transaction_receipt(params[0]))
        raise KeyError(method)

    def _base_fee(self) -> int:
        return int(self.tester.get_block_by_number("pending")["base_fee_per_gas"])
