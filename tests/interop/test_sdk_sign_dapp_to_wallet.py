"""The official @walletconnect/sign-client 2.25 dApp (node) pairs with OUR WalletClient through OUR relays.

Our wallet answers personal_sign, eth_signTypedData_v4 and eth_signTransaction with real signatures
from a test key (eth-account); the node side recovers the signer with ethers. Then ping, extend and
an event in both directions, and a disconnect from each side. Run once through RelayServer and once
through NaiveRelay.
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

from walletconnect.aio.relay_server import RelayServer
from walletconnect.aio.wallet_client import Approval, RequestRejected, WalletClient
from walletconnect.engine.events import (
    PingReceived,
    SessionAcknowledged,
    SessionDeleted,
    SessionExtended,
)
from walletconnect.engine.records import PendingRequest, ProposalRecord, SessionRecord

pytestmark = [pytest.mark.sdk, pytest.mark.slow]

KEY = Account.from_key("0x" + "42" * 32)
ADDRESS = KEY.address
WALLET_META = {
    "name": "wcproxy-test-wallet",
    "description": "w",
    "url": "https://wallet.example",
    "icons": [],
}
METHODS = ["personal_sign", "eth_signTypedData_v4", "eth_signTransaction"]
OPTIONAL_NS = {
    "eip155": {
        "chains": ["eip155:1"],
        "methods": METHODS,
        "events": ["accountsChanged", "chainChanged"],
    }
}
TYPED_DATA = {
    "types": {
        "EIP712Domain": [
            {"name": "name", "type": "string"},
            {"name": "version", "type": "string"},
            {"name": "chainId", "type": "uint256"},
            {"name": "verifyingContract", "type": "address"},
        ],
        "Mail": [{"name": "from", "type": "address"}, {"name": "contents", "type": "string"}],
    },
    "primaryType": "Mail",
    "domain": {
        "name": "Ether Mail",
        "version": "1",
        "chainId": 1,
        "verifyingContract": "0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC",
    },
    "message": {"from": ADDRESS, "contents": "Hello, Bob!"},
}
TX = {
    "to": "0x000000000000000000000000000000000000dEaD",
    "value": "0x1",
    "gas": "0x5208",
    "maxFeePerGas": "0x3b9aca00",
    "maxPriorityFeePerGas": "0x3b9aca00",
    "nonce": "0x0",
    "chainId": "0x1",
    "data": "0x",
}


async def approve(proposal: ProposalRecord) -> Approval:
    return Approval(
        {
            "eip155": {
                "chains": ["eip155:1"],
                "accounts": [f"eip155:1:{ADDRESS}"],
                "methods": METHODS,
                "events": ["accountsChanged", "chainChanged"],
            }
        }
    )


def _int(value: Any) -> int:
    return int(value, 16) if isinstance(value, str) else int(value)


async def sign(request: PendingRequest, session: SessionRecord) -> str:
    p = request.params
    if request.method == "personal_sign":
        return "0x" + KEY.sign_message(encode_defunct(hexstr=p[0])).signature.hex().removeprefix(
            "0x"
        )
    if request.method == "eth_signTypedData_v4":
        signed = Account.sign_typed_data(KEY.key, full_message=json.loads(p[1]))
        return "0x" + signed.signature.hex().removeprefix("0x")
    if request.method == "eth_signTransaction":
        tx = dict(p[0])
        fields = ("value", "gas", "maxFeePerGas", "maxPriorityFeePerGas", "nonce", "chainId")
        clean: dict[str, Any] = {k: _int(tx[k]) for k in fields}
        clean["to"] = tx["to"]
        clean["data"] = tx.get("data", "0x")
        raw = Account.sign_transaction(clean, KEY.key).raw_transaction
        return "0x" + raw.hex().removeprefix("0x")
    raise RequestRejected(5101, "Unsupported methods.")


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


async def connect(node: NodeScript, wallet: WalletClient) -> str:
    send(node, cmd="connect", optionalNamespaces=OPTIONAL_NS)
    uri = (await node.expect("uri", 30))["uri"]
    await wallet.pair(uri)
    session = await node.expect("session", 30)
    await wallet.next_event(SessionAcknowledged, timeout_s=30)
    assert session["namespaces"]["eip155"]["accounts"] == [f"eip155:1:{ADDRESS}"]
    return str(session["topic"])


Relay = Callable[[], AbstractAsyncContextManager[str]]


@pytest.mark.parametrize("relay", [our_relay, naive_relay], ids=["our-relay", "naive-relay"])
async def test_official_dapp_with_our_wallet(relay: Relay) -> None:
    async with relay() as url, NodeScript("sign_dapp.mjs", url, "150") as node:
        await node.expect("ready", 30)
        wallet = WalletClient(url, metadata=WALLET_META, on_proposal=approve, on_request=sign)
        async with wallet:
            topic = await connect(node, wallet)

            message = "0x" + b"hello wcproxy".hex()
            calls = [
                ("personal_sign", [message, ADDRESS]),
                ("eth_signTypedData_v4", [ADDRESS, json.dumps(TYPED_DATA)]),
                ("eth_signTransaction", [TX]),
            ]
            for method, params in calls:
                send(
                    node,
                    cmd="request",
                    topic=topic,
                    chainId="eip155:1",
                    method=method,
                    params=params,
                )
                resp = await node.expect("response", 30)
                assert resp["method"] == method
                assert resp["recovered"].lower() == ADDRESS.lower(), resp

            # ping both ways
            await wallet.ping(topic, timeout_s=30)
            assert (await node.expect("session_ping", 30))["topic"] == topic
            send(node, cmd="ping", topic=topic)
            await node.expect("pinged", 30)
            await wallet.next_event(PingReceived, timeout_s=30)

            # extend both ways
            await wallet.extend(topic, timeout_s=30)
            assert (await node.expect("session_extend", 30))["topic"] == topic
            send(node, cmd="extend", topic=topic)
            extended = await node.expect("extended", 30)
            ours = await wallet.next_event(SessionExtended, timeout_s=30)
            assert abs(ours.expiry - extended["expiry"]) <= 5

            # an event
            await wallet.emit(topic, "accountsChanged", [f"eip155:1:{ADDRESS}"], "eip155:1")
            event = await node.expect("session_event", 30)
            assert event["params"]["event"]["name"] == "accountsChanged"

            # the dApp disconnects: our wallet sees it
            send(node, cmd="disconnect", topic=topic)
            await node.expect("disconnected", 30)
            deleted = await wallet.next_event(SessionDeleted, timeout_s=30)
            assert (deleted.topic, deleted.by_peer, deleted.code) == (topic, True, 6000)
            assert topic not in wallet.sessions

            # a second session: our wallet disconnects, the SDK dApp sees it
            topic2 = await connect(node, wallet)
            await wallet.disconnect(topic2)
            assert (await node.expect("session_delete", 30))["topic"] == topic2
            send(node, cmd="sessions")
            assert (await node.expect("sessions", 30))["topics"] == []
            await asyncio.sleep(0)
