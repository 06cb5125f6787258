"""Our DappClient pairs with the official @reown/walletkit 1.6.0 wallet (node) through our relays.

WalletKit answers personal_sign with an ethers signature (recovered here with eth-account) and
rejects eth_sendTransaction with 5000; its ping / extend / event / disconnect reach our dApp, and
ours reach it. Run once through RelayServer and once through NaiveRelay.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from naive_relay import NaiveRelay
from sdk import NodeScript

from walletconnect.aio.dapp_client import DappClient
from walletconnect.aio.engine_client import ResponseError
from walletconnect.aio.relay_server import RelayServer
from walletconnect.engine.events import (
    PingReceived,
    SessionDeleted,
    SessionEventReceived,
    SessionExtended,
)

pytestmark = [pytest.mark.sdk, pytest.mark.slow]

DAPP_META = {
    "name": "wcproxy-test-dapp",
    "description": "d",
    "url": "https://dapp.example",
    "icons": [],
}
OPTIONAL_NS = {
    "eip155": {
        "chains": ["eip155:1"],
        "methods": ["personal_sign", "eth_sendTransaction"],
        "events": ["accountsChanged", "chainChanged"],
    }
}


@asynccontextmanager
async def our_relay() -> AsyncIterator[str]:
    async with RelayServer() as server:
        yield server.url


@asynccontextmanager
async def naive_relay() -> AsyncIterator[str]:
    async with NaiveRelay() as url:
        yield url


def send(node: NodeScript, **cmd: Any) -> None:
    assert node.proc is not None
    assert node.proc.stdin is not None
    node.proc.stdin.write((json.dumps(cmd) + "\n").encode())


async def connect(node: NodeScript, dapp: DappClient) -> str:
    uri, approval = await dapp.connect(optional_namespaces=OPTIONAL_NS)
    send(node, cmd="pair", uri=uri)
    session = await asyncio.wait_for(approval, 30)
    assert (await node.expect("session", 30))["topic"] == session.topic
    return session.topic


Relay = Callable[[], AbstractAsyncContextManager[str]]


@pytest.mark.parametrize("relay", [our_relay, naive_relay], ids=["our-relay", "naive-relay"])
async def test_our_dapp_with_official_walletkit(relay: Relay) -> None:
    async with relay() as url, NodeScript("walletkit_wallet.mjs", url, "150") as node:
        address = (await node.expect("ready", 30))["address"]
        async with DappClient(url, metadata=DAPP_META) as dapp:
            topic = await connect(node, dapp)
            accounts = dapp.sessions[topic].namespaces["eip155"]["accounts"]
            assert accounts == [f"eip155:1:{address}"]

            message = "0x" + b"hello walletkit".hex()
            sig = await dapp.request(
                topic, "eip155:1", "personal_sign", [message, address], timeout_s=30
            )
            recovered = Account.recover_message(encode_defunct(hexstr=message), signature=sig)
            assert recovered == address
            with pytest.raises(ResponseError) as info:
                await dapp.request(topic, "eip155:1", "eth_sendTransaction", [{}], timeout_s=30)
            assert info.value.code == 5000

            # WalletKit -> our dApp
            send(node, cmd="ping", topic=topic)
            await node.expect("pinged", 30)
            await dapp.next_event(PingReceived, timeout_s=30)
            send(node, cmd="extend", topic=topic)
            await node.expect("extended", 30)
            ext = await dapp.next_event(SessionExtended, timeout_s=30)
            assert ext.expiry == dapp.sessions[topic].expiry
            send(node, cmd="emit", topic=topic, name="chainChanged", data=1, chainId="eip155:1")
            await node.expect("emitted", 30)
            event = await dapp.next_event(SessionEventReceived, timeout_s=30)
            assert (event.name, event.data) == ("chainChanged", 1)

            # our dApp -> WalletKit
            await dapp.ping(topic, timeout_s=30)
            await node.expect("session_ping", 30)
            await dapp.extend(topic, timeout_s=30)
            await node.expect("session_extend", 30)

            # WalletKit disconnects: our dApp sees it
            send(node, cmd="disconnect", topic=topic)
            deleted = await dapp.next_event(SessionDeleted, timeout_s=30)
            assert (deleted.topic, deleted.by_peer) == (topic, True)

            # second session: our dApp disconnects, WalletKit sees it
            topic2 = await connect(node, dapp)
            await dapp.disconnect(topic2)
            assert (await node.expect("session_delete", 30))["topic"] == topic2
            assert dapp.sessions == {}
