"""Drive a running ``wcproxy run`` from our own dApp role in end-to-end tests (I/O: relay, admin API).

* :class:`CountingDapp`: a DappClient that counts every response the wallet side sends per request
  id — the first (``ResponseReceived``) and any later one for the same id (the engine drops it as
  ``unexpected``), so a test can prove "answered exactly once".
* :func:`admin_call`: one admin API call with the daemon's generated token.
* :func:`pair_with_daemon`: propose, pair the daemon through its admin API, wait until the session is
  settled on the dApp side AND bound to its envelope on the daemon side.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp

from walletconnect.aio.dapp_client import DappClient
from walletconnect.engine.events import EngineEvent, MessageDropped, ResponseReceived

__all__ = [
    "DAPP_META",
    "OPTIONAL_NS",
    "CountingDapp",
    "admin_call",
    "pair_with_daemon",
]

DAPP_META = {
    "name": "wcproxy-e2e-dapp",
    "description": "end-to-end test dApp",
    "url": "https://dapp.example",
    "icons": [],
}
OPTIONAL_NS = {
    "eip155": {
        "chains": ["eip155:1"],
        "methods": [
            "personal_sign",
            "eth_signTypedData_v4",
            "eth_signTransaction",
            "eth_sendTransaction",
        ],
        "events": ["accountsChanged", "chainChanged"],
    }
}


class CountingDapp(DappClient):
    """DappClient that counts responses per ``(topic, id)``, duplicates included."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.responses: Counter[tuple[str, int]] = Counter()
        self.late_duplicates: Counter[tuple[str, int]] = Counter()

    def handle_event(self, event: EngineEvent) -> None:
        if isinstance(event, ResponseReceived):
            self.responses[(event.topic, event.id)] += 1
        elif (
            isinstance(event, MessageDropped)
            and event.reason == "unexpected"
            and event.id is not None
        ):
            # a second response to a request that was already answered
            self.responses[(event.topic, event.id)] += 1
            self.late_duplicates[(event.topic, event.id)] += 1
        super().handle_event(event)


async def admin_call(
    ready: dict[str, Any], data_dir: Path, method: str, path: str, body: Any = None
) -> Any:
    """Call the admin API of the daemon whose ``ready`` event and data dir are given."""
    token = (data_dir / "admin.token").read_text(encoding="utf-8").strip()
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http,
        http.request(
            method,
            ready["admin"] + path,
            json=body,
            headers={"Authorization": f"Bearer {token}"},
        ) as response,
    ):
        assert response.status == 200, (path, response.status, await response.text())
        return await response.json()


async def pair_with_daemon(
    dapp: DappClient,
    ready: dict[str, Any],
    data_dir: Path,
    *,
    namespaces: dict[str, Any] | None = None,
    timeout_s: float = 30.0,
) -> str:
    """Pair ``dapp`` with the daemon; returns the session topic once the daemon has bound it."""
    uri, approval = await dapp.connect(optional_namespaces=namespaces or OPTIONAL_NS)
    await admin_call(ready, data_dir, "POST", "/pair", {"uri": uri})
    session = await asyncio.wait_for(approval, timeout_s)
    async with asyncio.timeout(timeout_s):
        while True:
            listed = await admin_call(ready, data_dir, "GET", "/sessions")
            if any(s["session"] == session.topic for s in listed["sessions"]):
                return session.topic
            await asyncio.sleep(0.05)
