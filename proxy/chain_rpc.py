"""A chain's JSON-RPC endpoint (I/O over aiohttp): fill a transaction as a wallet would, broadcast it.

Used for ``eth_sendTransaction`` (and to complete an ``eth_signTransaction`` that lacks nonce, gas or
fees when an endpoint is configured). The filled values are what the policy then judges.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

import aiohttp
import structlog

from proxy.errors import ProxyError
from walletconnect import jsonsafe

__all__ = ["ChainRpc", "ChainRpcError"]

log = structlog.get_logger(__name__)

_MAX_RESPONSE_BYTES = 1 << 20
_GAS_HEADROOM_NUM, _GAS_HEADROOM_DEN = 12, 10  # +20 % over the estimate, as wallets do


class ChainRpcError(ProxyError):
    """The chain endpoint failed or answered with an error (the request is refused, nothing broadcast)."""


class ChainRpc:
    """Minimal Ethereum JSON-RPC client for one chain."""

    def __init__(self, url: str, *, timeout_s: float = 10.0) -> None:
        self.url = url
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None
        self._ids = itertools.count(1)
        # Next nonce per account after transactions this process claimed but may not have broadcast
        # yet: the node's "pending" count does not know them.
        self._claimed_nonces: dict[str, int] = {}

    async def close(self) -> None:
        """Close the HTTP session; idempotent."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def call(self, method: str, params: list[Any]) -> Any:
        """One JSON-RPC call; raises ChainRpcError on transport or JSON-RPC errors."""
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        body = {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params}
        try:
            async with self._session.post(self.url, json=body) as response:
                raw = await response.content.read(_MAX_RESPONSE_BYTES + 1)
                if len(raw) > _MAX_RESPONSE_BYTES:
                    raise ChainRpcError(f"{method}: response too large")
                if response.status != 200:
                    raise ChainRpcError(f"{method}: HTTP {response.status}")
                reply = jsonsafe.loads(raw)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise ChainRpcError(f"{method}: {type(exc).__name__}") from exc
        if not isinstance(reply, dict):
            raise ChainRpcError(f"{method}: malformed reply")
        if reply.get("error") is not None:
            error = reply["error"]
            message = error.get("message", "") if isinstance(error, dict) else str(error)
            raise ChainRpcError(f"{method}: {str(message)[:200]}")
        return reply.get("result")

    async def _quantity(self, method: str, params: list[Any]) -> int:
        value = await self.call(method, params)
        if not isinstance(value, str) or not value.startswith("0x"):
            raise ChainRpcError(f"{method}: not a quantity")
        try:
            return int(value, 16)
        except ValueError as exc:
            raise ChainRpcError(f"{method}: not a quantity") from exc

    async def fill_transaction(
        self, tx: Mapping[str, Any], *, account: str, chain_id: int
    ) -> dict[str, Any]:
        """Return ``tx`` with ``from``, ``chainId``, ``nonce``, ``gas`` and fee fields filled where missing.

        Fees: EIP-1559 (``maxFeePerGas`` = 2 x base fee + tip) unless the dApp gave ``gasPrice``.
        """
        filled = dict(tx)
        filled.setdefault("from", account)
        filled.setdefault("chainId", hex(chain_id))
        if filled.get("nonce") is None:
            pending = await self._quantity("eth_getTransactionCount", [account, "pending"])
            filled["nonce"] = hex(max(pending, self._claimed_nonces.get(account.lower(), 0)))
        if filled.get("gas") is None and filled.get("gasLimit") is None:
            probe = {
                k: v for k, v in filled.items() if k in ("from", "to", "value", "data", "input")
            }
            estimate = await self._quantity("eth_estimateGas", [probe])
            filled["gas"] = hex(estimate * _GAS_HEADROOM_NUM // _GAS_HEADROOM_DEN)
        has_1559 = (
            filled.get("maxFeePerGas") is not None or filled.get("maxPriorityFeePerGas") is not None
        )
        if filled.get("gasPrice") is None and not has_1559:
            block = await self.call("eth_getBlockByNumber", ["latest", False])
            base = block.get("baseFeePerGas") if isinstance(block, dict) else None
            if isinstance(base, str):
                tip = await self._quantity("eth_maxPriorityFeePerGas", [])
                filled["maxPriorityFeePerGas"] = hex(tip)
                filled["maxFeePerGas"] = hex(2 * int(base, 16) + tip)
                filled.setdefault("type", "0x2")
            else:
                filled["gasPrice"] = hex(await self._quantity("eth_gasPrice", []))
        elif has_1559:
            if filled.get("maxPriorityFeePerGas") is None:
                filled["maxPriorityFeePerGas"] = hex(
                    await self._quantity("eth_maxPriorityFeePerGas", [])
                )
            filled.setdefault("type", "0x2")
        return filled

    def note_claimed(self, account: str, nonce: int) -> None:
        """Remember that ``nonce`` is taken for ``account`` (its transaction was claimed for signing)."""
        key = account.lower()
        self._claimed_nonces[key] = max(self._claimed_nonces.get(key, 0), nonce + 1)

    async def send_raw_transaction(self, raw_hex: str) -> str:
        """``eth_sendRawTransaction``; returns the transaction hash."""
        result = await self.call("eth_sendRawTransaction", [raw_hex])
        if not isinstance(result, str) or not result.startswith("0x") or len(result) != 66:
            raise ChainRpcError("eth_sendRawTransaction: not a transaction hash")
        return result
