"""A deliberately naive second relay for differential interop tests (websockets; no dedup, no auth, no limits).

Independent of ``walletconnect.relay``: fan-out except to the sender, a ttl mailbox replayed to every
new subscription, both session composites, 19-digit push ids (so the SDK acks with ``"<digits>n"``).
Usage: ``async with NaiveRelay() as url: ...``.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import time
from types import TracebackType
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve

__all__ = ["NaiveRelay"]


class NaiveRelay:
    def __init__(self) -> None:
        self.subs: dict[str, set[ServerConnection]] = {}
        self.mailbox: dict[str, list[tuple[ServerConnection, dict[str, Any], float]]] = {}
        self.ids = itertools.count(1_700_000_000_000_000_001)
        self.frames_in = 0
        self.server: Server | None = None

    async def __aenter__(self) -> str:
        self.server = await serve(self.handle, "127.0.0.1", 0, ping_interval=20, compression=None)
        return f"ws://127.0.0.1:{next(iter(self.server.sockets)).getsockname()[1]}"

    async def __aexit__(
        self, *exc: type[BaseException] | BaseException | TracebackType | None
    ) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()

    async def push(self, ws: ServerConnection, data: dict[str, Any]) -> None:
        params = {"id": hashlib.sha256(data["topic"].encode()).hexdigest(), "data": data}
        frame = {
            "id": next(self.ids),
            "jsonrpc": "2.0",
            "method": "irn_subscription",
            "params": params,
        }
        await ws.send(json.dumps(frame))

    async def subscribe(self, ws: ServerConnection, topic: str) -> None:
        self.subs.setdefault(topic, set()).add(ws)
        for sender, data, expires in self.mailbox.get(topic, []):
            if sender is not ws and expires > time.time():
                await self.push(ws, data)

    async def publish(
        self, ws: ServerConnection, topic: str, message: str, ttl: int, tag: int
    ) -> None:
        data = {
            "topic": topic,
            "message": message,
            "publishedAt": int(time.time() * 1000),
            "tag": tag,
        }
        self.mailbox.setdefault(topic, []).append((ws, data, time.time() + ttl))
        for other in list(self.subs.get(topic, ())):
            if other is not ws:
                await self.push(other, data)

    async def handle(self, ws: ServerConnection) -> None:
        try:
            async for text in ws:
                self.frames_in += 1
                req = json.loads(text)
                method, p = req.get("method"), req.get("params", {})
                if method is None:
                    continue  # an ack
                result: Any = True
                if method == "irn_subscribe":
                    await self.subscribe(ws, p["topic"])
                    result = hashlib.sha256(p["topic"].encode()).hexdigest()
                elif method == "irn_batchSubscribe":
                    for topic in p["topics"]:
                        await self.subscribe(ws, topic)
                    result = [hashlib.sha256(t.encode()).hexdigest() for t in p["topics"]]
                elif method == "irn_unsubscribe":
                    self.subs.get(p["topic"], set()).discard(ws)
                elif method == "irn_publish":
                    await self.publish(ws, p["topic"], p["message"], p["ttl"], p["tag"])
                elif method == "wc_proposeSession":
                    await self.subscribe(ws, p["pairingTopic"])
                    await self.publish(ws, p["pairingTopic"], p["sessionProposal"], 300, 1100)
                elif method == "wc_approveSession":
                    await self.subscribe(ws, p["sessionTopic"])
                    await self.publish(
                        ws, p["pairingTopic"], p["sessionProposalResponse"], 300, 1101
                    )
                    await self.publish(
                        ws, p["sessionTopic"], p["sessionSettlementRequest"], 300, 1102
                    )
                else:
                    error = {"code": -32601, "message": f"unsupported {method}"}
                    await ws.send(json.dumps({"id": req["id"], "jsonrpc": "2.0", "error": error}))
                    continue
                await ws.send(json.dumps({"id": req["id"], "jsonrpc": "2.0", "result": result}))
        finally:
            for subscribers in self.subs.values():
                subscribers.discard(ws)
