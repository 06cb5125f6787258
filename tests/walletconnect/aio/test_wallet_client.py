"""WalletClient <-> DappClient over our RelayServer on loopback (real websockets)."""

from __future__ import annotations

import asyncio

import pytest
from wc_engine_pair import ACCOUNT, DAPP_META, OPTIONAL_NS, SESSION_NS, WALLET_META

from walletconnect.aio.dapp_client import DappClient
from walletconnect.aio.engine_client import ResponseError
from walletconnect.aio.relay_server import RelayServer
from walletconnect.aio.wallet_client import Approval, Rejection, RequestRejected, WalletClient
from walletconnect.engine.events import (
    SessionAcknowledged,
    SessionDeleted,
    SessionEventReceived,
    SessionExtended,
)
from walletconnect.engine.records import PendingRequest, ProposalRecord, SessionRecord
from walletconnect.memory_store import MemoryStore


async def approve_all(proposal: ProposalRecord) -> Approval:
    return Approval(SESSION_NS)


async def sign(request: PendingRequest, session: SessionRecord) -> str:
    if request.method == "eth_sendTransaction":
        raise RequestRejected(5000, "User rejected.")
    return f"signed:{request.params[0]}"


async def test_full_flow_over_sockets() -> None:
    async with RelayServer() as server:
        wallet = WalletClient(
            server.url, metadata=WALLET_META, on_proposal=approve_all, on_request=sign
        )
        dapp = DappClient(server.url, metadata=DAPP_META)
        async with wallet, dapp:
            uri, approval = await dapp.connect(optional_namespaces=OPTIONAL_NS)
            await wallet.pair(uri)
            session = await asyncio.wait_for(approval, 10)
            await wallet.next_event(SessionAcknowledged, timeout_s=10)
            topic = session.topic
            assert wallet.sessions[topic].acknowledged

            result = await dapp.request(
                topic, "eip155:1", "personal_sign", ["0xab", ACCOUNT], timeout_s=10
            )
            assert result == "signed:0xab"
            with pytest.raises(ResponseError) as info:
                await dapp.request(topic, "eip155:1", "eth_sendTransaction", [{}], timeout_s=10)
            assert info.value.code == 5000

            await dapp.ping(topic, timeout_s=10)
            await wallet.ping(topic, timeout_s=10)
            await wallet.extend(topic, timeout_s=10)
            ext = await dapp.next_event(SessionExtended, timeout_s=10)
            assert ext.expiry == wallet.sessions[topic].expiry
            await wallet.emit(topic, "accountsChanged", [ACCOUNT], "eip155:1")
            ev = await dapp.next_event(SessionEventReceived, timeout_s=10)
            assert (ev.name, ev.data) == ("accountsChanged", [ACCOUNT])

            await dapp.disconnect(topic)
            deleted = await wallet.next_event(SessionDeleted, timeout_s=10)
            assert deleted.by_peer
            assert wallet.sessions == {}


async def test_rejection_reaches_dapp() -> None:
    async def refuse(proposal: ProposalRecord) -> Rejection:
        return Rejection()

    async with (
        RelayServer() as server,
        WalletClient(server.url, metadata=WALLET_META, on_proposal=refuse) as wallet,
        DappClient(server.url, metadata=DAPP_META) as dapp,
    ):
        uri, approval = await dapp.connect(optional_namespaces=OPTIONAL_NS)
        await wallet.pair(uri)
        with pytest.raises(ResponseError) as info:
            await asyncio.wait_for(approval, 10)
        assert info.value.code == 5000


async def test_restart_resumes_session_and_answers_backlog() -> None:
    """The wallet stops after settling; a request arrives meanwhile; a new client on the same
    store resumes the session and answers it exactly once."""
    backing: dict[tuple[str, str, str], str] = {}
    calls: list[int] = []

    async def count_and_sign(request: PendingRequest, session: SessionRecord) -> str:
        calls.append(request.id)
        return "0xsig"

    async with RelayServer() as server, DappClient(server.url, metadata=DAPP_META) as dapp:
        first = WalletClient(
            server.url,
            metadata=WALLET_META,
            store=MemoryStore(backing=backing),
            on_proposal=approve_all,
        )
        async with first:
            uri, approval = await dapp.connect(optional_namespaces=OPTIONAL_NS)
            await first.pair(uri)
            session = await asyncio.wait_for(approval, 10)
            await first.next_event(SessionAcknowledged, timeout_s=10)
        pending = asyncio.create_task(
            dapp.request(session.topic, "eip155:1", "personal_sign", ["0x1"], timeout_s=20)
        )
        await asyncio.sleep(0.3)
        second = WalletClient(
            server.url,
            metadata=WALLET_META,
            store=MemoryStore(backing=backing),
            on_request=count_and_sign,
        )
        async with second:
            assert await asyncio.wait_for(pending, 20) == "0xsig"
            assert first.relay is not None
            assert second.relay is not None
            assert second.relay.client_id == first.relay.client_id  # persisted identity
        assert len(calls) == 1
