"""The sender pipelines publishes: frames in order, acks awaited in the background, bounded in number."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from walletconnect.aio import engine_client
from walletconnect.aio.engine_client import EngineClient
from walletconnect.engine.commands import Publish, Subscribe
from walletconnect.errors import RelayError


class FakeRelay:
    """Acks a publish only once its frame was flushed (as a real relay would)."""

    def __init__(self) -> None:
        self.queued: list[tuple[str, asyncio.Future[Any]]] = []
        self.written: list[str] = []
        self.fail: set[str] = set()

    def publish_nowait(self, topic: str, message: str, *_args: Any, **_kw: Any) -> Any:
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.queued.append((message, fut))
        return fut

    async def flush(self) -> None:
        for message, fut in self.queued:
            self.written.append(message)
            if message in self.fail:
                fut.set_exception(RelayError("refused", code=-1))
            else:
                fut.set_result(True)
        self.queued.clear()

    async def subscribe(self, topic: str) -> None:
        await self.flush()  # a command's own call writes what was queued before it
        self.written.append(f"sub:{topic}")


def _client(relay: FakeRelay) -> EngineClient:
    client = EngineClient.__new__(EngineClient)
    EngineClient.__init__(client, engine=None, relay_url="ws://unused")  # type: ignore[arg-type]
    client.relay = relay  # type: ignore[assignment]
    return client


async def test_more_publishes_than_the_bound_all_go_out_in_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(engine_client, "MAX_PUBLISHES_IN_FLIGHT", 2)
    relay = FakeRelay()
    client = _client(relay)
    relay.fail.add("m3")
    for i in range(5):
        client._commands.put_nowait(Publish("t", f"m{i}", 300, 1108))
    client._commands.put_nowait(Subscribe("s"))
    client._commands.put_nowait(Publish("t", "m5", 300, 1108))
    sender = asyncio.create_task(client._send())
    try:
        await client.drained(5.0)  # every command done and every ack in, even the refused one
    finally:
        sender.cancel()
    assert relay.written == ["m0", "m1", "m2", "m3", "m4", "sub:s", "m5"]
    assert client._publishes._value == 2  # every slot given back


async def test_a_publish_the_relay_client_refuses_does_not_stop_the_sender() -> None:
    from walletconnect.relay.client import PendingLimitError

    class Refusing(FakeRelay):
        def publish_nowait(self, topic: str, message: str, *args: Any, **kw: Any) -> Any:
            if message == "full":
                raise PendingLimitError("10000 relay requests pending")
            return super().publish_nowait(topic, message, *args, **kw)

    relay = Refusing()
    client = _client(relay)
    for message in ("a", "full", "b"):
        client._commands.put_nowait(Publish("t", message, 300, 1108))
    sender = asyncio.create_task(client._send())
    try:
        await client.drained(5.0)
        assert not sender.done()  # still serving
    finally:
        sender.cancel()
    assert relay.written == ["a", "b"]
