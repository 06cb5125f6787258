"""Official SDK interop through our relays: two SignClients pair/approve/request (our relay and the naive one),
and our RelayClient exchanging sealed messages with the SDK's Core (crypto + relayer)."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from naive_relay import NaiveRelay
from sdk import NodeScript

from walletconnect.aio.relay_client import RelayClient
from walletconnect.aio.relay_server import RelayServer
from walletconnect.crypto import hash_key
from walletconnect.envelope import open_envelope, seal

pytestmark = pytest.mark.sdk


@asynccontextmanager
async def our_relay() -> AsyncIterator[str]:
    frames: list[str] = []
    async with RelayServer(on_frame=lambda record: frames.append(record.frame)) as server:
        yield server.url
    # The 2.25 SDK uses the relay-side composites, and every push we sent was acknowledged.
    methods = [json.loads(f).get("method") for f in frames]
    assert "wc_proposeSession" in methods
    assert "wc_approveSession" in methods
    pushes = {json.loads(f)["id"] for f in frames if '"irn_subscription"' in f}
    acks = {int(str(json.loads(f)["id"]).rstrip("n")) for f in frames if '"result":true' in f}
    assert pushes
    assert pushes <= acks


@asynccontextmanager
async def naive_relay() -> AsyncIterator[str]:
    async with NaiveRelay() as url:
        yield url


@pytest.mark.parametrize("relay", [our_relay, naive_relay], ids=["our-relay", "naive-relay"])
async def test_two_sign_clients_pair_approve_and_request(relay) -> None:  # type: ignore[no-untyped-def]
    async with relay() as url, NodeScript("sign_pair.mjs", url, "90") as node:
        ready = await node.expect("clients_ready", 30)
        assert ready["dapp"].startswith("did:key:z6Mk")
        assert (await node.expect("uri", 30))["uri"].startswith("wc:")
        await node.expect("session_proposal", 30)
        settled = await node.expect("session_settled", 30)
        assert settled["accounts"] == ["eip155:1:0x1111111111111111111111111111111111111111"]
        request = await node.expect("session_request", 30)
        assert request["method"] == "personal_sign"
        assert (await node.expect("request_result", 30))["result"] == "0xdeadbeef"
        await node.expect("done", 10)
        assert await node.wait(10) == 0


async def test_our_relay_client_and_sdk_core_exchange_sealed_messages() -> None:
    sym_key = os.urandom(32)
    topic = hash_key(sym_key)
    async with RelayServer() as server, RelayClient(server.url, open_timeout_s=5) as ours:
        await ours.subscribe(topic, timeout_s=10)
        async with NodeScript("core_relay.mjs", server.url, sym_key.hex(), "60") as node:
            subscribed = await node.expect("subscribed", 30)
            assert subscribed["topic"] == topic
            published = await node.expect("published", 30)
            # SDK -> us: the exact envelope arrives and opens with the shared sym key.
            msg = await ours.next_message(timeout_s=15)
            assert (msg.topic, msg.message, msg.tag) == (topic, published["message"], 1114)
            assert json.loads(open_envelope(msg.message, sym_key)) == {
                "id": 1700000000000123,
                "jsonrpc": "2.0",
                "method": "wc_sessionPing",
                "params": {},
            }
            # us -> SDK: a sealed result that the SDK's crypto decodes.
            reply = json.dumps({"id": 1700000000000123, "jsonrpc": "2.0", "result": True})
            await ours.publish(topic, seal(reply, sym_key), 30, 1115, timeout_s=10)
            received = await node.expect("received", 30)
            assert received["payload"] == {"id": 1700000000000123, "jsonrpc": "2.0", "result": True}
            assert await node.wait(10) == 0


async def test_preload_resolves_the_sdk_and_refuses_non_loopback_network_at_once() -> None:
    async with NodeScript("offline_probe.mjs") as node:
        probe = await node.expect("probe", 20)
    assert probe["signClient"] == "function"
    assert (probe["fetch"], probe["net"], probe["dns"]) == ("refused", "refused", "refused")
    assert probe["elapsedMs"] < 2000
