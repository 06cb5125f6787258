"""A fake JSON-RPC signer (Clef and web3signer flavors) on 127.0.0.1:0, signing with eth-account."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from eth_account import Account
from eth_account.messages import encode_defunct, encode_typed_data

KEY = "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
OTHER_KEY = "0x" + "11" * 32


def _int(value: Any) -> int:
    return int(value, 16) if isinstance(value, str) else int(value)


def _tx_for_eth_account(tx: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "chainId": _int(tx["chainId"]),
        "nonce": _int(tx["nonce"]),
        "gas": _int(tx["gas"]),
        "value": _int(tx.get("value", "0x0")),
        "data": tx.get("data", tx.get("input", "0x")),
    }
    if "to" in tx:
        out["to"] = tx["to"]
    if "maxFeePerGas" in tx:
        out["maxFeePerGas"] = _int(tx["maxFeePerGas"])
        out["maxPriorityFeePerGas"] = _int(tx["maxPriorityFeePerGas"])
        out["type"] = 2
    else:
        out["gasPrice"] = _int(tx["gasPrice"])
    if "accessList" in tx:
        out["accessList"] = tx["accessList"]
        out.setdefault("type", _int(tx.get("type", "0x1")))
    return out


@dataclass
class FakeSigner:
    """State of the fake server: which key it signs with, how it lies, what it saw."""

    url: str = ""
    key: str = KEY
    lie: str | None = (
        None  # None | "other_key" | "other_to" | "garbage" | "error" | "http500" | "wrong_id"
    )
    calls: list[tuple[str, list[Any]]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)

    @property
    def address(self) -> str:
        return str(Account.from_key(self.key).address).lower()

    def _account(self) -> Any:
        return Account.from_key(OTHER_KEY if self.lie == "other_key" else self.key)

    def sign_tx(self, tx: dict[str, Any]) -> str:
        fields = _tx_for_eth_account(tx)
        if self.lie == "other_to":
            fields["to"] = "0x" + "22" * 20
        return "0x" + bytes(self._account().sign_transaction(fields).raw_transaction).hex()

    def sign_text(self, data_hex: str) -> str:
        message = encode_defunct(primitive=bytes.fromhex(data_hex[2:]))
        return "0x" + bytes(self._account().sign_message(message).signature).hex()

    def sign_typed(self, typed: dict[str, Any]) -> str:
        message = encode_typed_data(full_message=typed)
        return "0x" + bytes(self._account().sign_message(message).signature).hex()

    def permit(self) -> dict[str, Any]:
        """An EIP-2612 USDC permit owned by this signer's account."""
        return permit_for(self.address)

    def dispatch(self, method: str, params: list[Any]) -> Any:
        if method == "account_signTransaction":
            raw = self.sign_tx(params[0])
            return {"raw": raw, "tx": params[0]}
        if method == "eth_signTransaction":
            return self.sign_tx(params[0])
        if method == "account_signData":
            content_type, _address, data = params
            if content_type == "data/typed":
                return self.sign_typed(data)
            assert content_type == "text/plain"
            return self.sign_text(data)
        if method == "eth_sign":
            return self.sign_text(params[1])
        if method in ("account_signTypedData", "eth_signTypedData"):
            return self.sign_typed(params[1])
        raise KeyError(method)


@pytest.fixture
async def fake_signer() -> AsyncIterator[FakeSigner]:
    state = FakeSigner()

    async def handle(request: web.Request) -> web.Response:
        body = await request.json()
        state.calls.append((body["method"], body["params"]))
        state.headers.append(dict(request.headers))
        if state.lie == "http500":
            return web.Response(status=500, text="boom")
        if state.lie == "error":
            error = {"code": -32000, "message": "Request denied"}
            return web.json_response({"jsonrpc": "2.0", "id": body["id"], "error": error})
        try:
            result = state.dispatch(body["method"], body["params"])
        except KeyError:
            error = {"code": -32601, "message": "method not found"}
            return web.json_response({"jsonrpc": "2.0", "id": body["id"], "error": error})
        if state.lie == "garbage":
            return web.Response(text="not json", content_type="application/json")
        reply_id = body["id"] + 1 if state.lie == "wrong_id" else body["id"]
        return web.Response(
            text=json.dumps({"jsonrpc": "2.0", "id": reply_id, "result": result}),
            content_type="application/json",
        )

    app = web.Application()
    app.router.add_post("/", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    state.url = f"http://127.0.0.1:{port}/"
    try:
        yield state
    finally:
        await runner.cleanup()


def permit_for(owner: str) -> dict[str, Any]:
    """An EIP-2612 USDC permit owned by ``owner``."""
    return {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "Permit": [
                {"name": "owner", "type": "address"},
                {"name": "spender", "type": "address"},
                {"name": "value", "type": "uint256"},
                {"name": "nonce", "type": "uint256"},
                {"name": "deadline", "type": "uint256"},
            ],
        },
        "primaryType": "Permit",
        "domain": {
            "name": "USD Coin",
            "version": "2",
            "chainId": 1,
            "verifyingContract": "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48",
        },
        "message": {
            "owner": owner,
            "spender": "0x68b3465833fb72A70ecDF485E0e4C7bD8665Fc45",
            "value": 1000000,
            "nonce": 0,
            "deadline": 1900000000,
        },
    }
