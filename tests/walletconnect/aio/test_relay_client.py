"""RelayClient against RelayServer on loopback: pub/sub, relay errors, reconnect + resubscribe without loss, 3000 halt."""

from __future__ import annotations

import asyncio
import time

import pytest

from walletconnect.aio.relay_client import RelayClient
from walletconnect.aio.relay_server import RelayServer
from walletconnect.errors import RelayError, Timeout
from walletconnect.relay.client import MessageReceived
from walletconnect.relay_auth import ClientIdentity

T1 = "a1" * 32
T2 = "b2" * 32


def fast_client(url: str, **kwargs: object) -> RelayClient:
    return RelayClient(url, backoff_initial_s=0.05, backoff_max_s=0.2, open_timeout_s=5, **kwargs)  # type: ignore[arg-type]


async def test_subscribe_publish_receive() -> None:
    async with RelayServer() as server, fast_client(server.url) as a, fast_client(server.url) as b:
        sub_id = await b.subscribe(T1, timeout_s=5)
        assert sub_id == b.protocol.subscription_id(T1)
        await a.publish(T1, "hello", 300, 1108, timeout_s=5)
        msg = await b.next_message(timeout_s=5)
        assert (msg.topic, msg.message, msg.tag) == (T1, "hello", 1108)
        assert abs(msg.published_at - time.time() * 1000) < 10_000
        with pytest.raises(Timeout):
            await a.next_message(timeout_s=0.2)  # never echoed to the publisher


async def test_late_subscriber_gets_mailbox_and_on_message_callback() -> None:
    got: list[MessageReceived] = []
    async with RelayServer() as server, fast_client(server.url) as a:
        await a.publish(T1, "early", 300, 1, timeout_s=5)
        async with fast_client(server.url, on_message=got.append) as b:
            await b.subscribe(T1, timeout_s=5)
            async with asyncio.timeout(5):
                while not got:
                    await asyncio.sleep(0.02)
    assert [m.message for m in got] == ["early"]


async def test_relay_error_is_raised() -> None:
    async with RelayServer() as server, fast_client(server.url) as a:
        with pytest.raises(RelayError) as info:
            await a.publish(T1, "x", 1, 1, timeout_s=5)
        assert (info.value.code, info.value.data) == (-32000, "TtlTooShort")


@pytest.mark.parametrize("abort", [True, False], ids=["tcp-reset", "close-1001"])
async def test_reconnect_resubscribes_and_loses_nothing(abort: bool) -> None:
    async with RelayServer() as server, fast_client(server.url) as a, fast_client(server.url) as b:
        await b.subscribe(T1, timeout_s=5)
        await b.subscribe(T2, timeout_s=5)
        await a.publish(T1, "before", 300, 1, timeout_s=5)
        assert (await b.next_message(timeout_s=5)).message == "before"

        assert await server.drop_connections(abort=abort) == 2
        # Publishes issued while the link is down are queued and sent after reconnect (same id).
        await asyncio.gather(
            a.publish(T1, "during-1", 300, 1, timeout_s=10),
            a.publish(T2, "during-2", 300, 1, timeout_s=10),
        )
        received = {(await b.next_message(timeout_s=10)).message for _ in range(2)}
        assert received == {"during-1", "during-2"}
        assert a.connect_count >= 2
        assert b.connect_count >= 2
        assert server.protocol.subscribers(T1)
        assert server.protocol.subscribers(T2)
        with pytest.raises(Timeout):
            await b.next_message(timeout_s=0.3)  # nothing delivered twice


async def test_message_published_while_subscriber_is_away_arrives_after_resubscribe() -> None:
    identity = ClientIdentity.generate()
    async with RelayServer() as server, fast_client(server.url) as a:
        b = fast_client(server.url, identity=identity)
        async with b:
            await b.subscribe(T1, timeout_s=5)
            # B is cut off; A's publish lands in the mailbox and reaches B via its re-subscribe.
            await server.drop_connections(abort=True)
            await a.wait_connected(5)
            await a.publish(T1, "while-b-away", 300, 1, timeout_s=5)
            msg = await b.next_message(timeout_s=10)
            assert msg.message == "while-b-away"


async def test_auth_close_3000_halts_until_next_command() -> None:
    now = [time.time()]
    server = RelayServer(clock=lambda: now[0])
    async with server:
        client = fast_client(server.url)
        await client.start()
        try:
            await client.wait_connected(5)
            now[0] += 10 * 86400  # every JWT now looks expired to the relay
            await server.drop_connections(abort=False)
            async with asyncio.timeout(5):
                while not client.halted:
                    await asyncio.sleep(0.02)
            assert client.last_close_code == 3000
            rejections = server.auth_rejections
            await asyncio.sleep(0.5)
            assert server.auth_rejections == rejections  # no reconnect storm after 3000
            now[0] = time.time()
            await client.subscribe(T1, timeout_s=5)  # the app acts: reconnect, then subscribe
            assert client.connected
        finally:
            await client.close()


async def test_unreachable_relay_times_out() -> None:
    client = RelayClient("ws://127.0.0.1:9", open_timeout_s=0.3, backoff_initial_s=0.05)
    with pytest.raises(Timeout):
        async with client:
            pass
