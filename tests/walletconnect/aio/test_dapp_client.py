"""DappClient against our WalletClient on loopback: timeouts, refusals, and a dApp restart from its store."""

from __future__ import annotations

import asyncio
import time

import pytest
from wc_engine_pair import DAPP_META, OPTIONAL_NS, SESSION_NS, WALLET_META

from walletconnect.aio.dapp_client import DappClient
from walletconnect.aio.relay_server import RelayServer
from walletconnect.aio.wallet_client import Approval, WalletClient
from walletconnect.engine.events import SessionAcknowledged
from walletconnect.engine.records import PendingRequest, ProposalRecord, SessionRecord
from walletconnect.errors import LocalProtocolError, Timeout
from walletconnect.memory_store import MemoryStore


async def approve(proposal: ProposalRecord) -> Approval:
    return Approval(SESSION_NS)


async def never_answer(request: PendingRequest, session: SessionRecord) -> str:
    await asyncio.Event().wait()
    return ""


async def echo(request: PendingRequest, session: SessionRecord) -> object:
    return request.params


async def test_request_timeout_and_local_refusals() -> None:
    async with (
        RelayServer() as server,
        WalletClient(
            server.url, metadata=WALLET_META, on_proposal=approve, on_request=never_answer
        ) as wallet,
        DappClient(server.url, metadata=DAPP_META) as dapp,
    ):
        uri, approval = await dapp.connect(optional_namespaces=OPTIONAL_NS)
        await wallet.pair(uri)
        session = await asyncio.wait_for(approval, 10)
        with pytest.raises(Timeout):
            await dapp.request(session.topic, "eip155:1", "personal_sign", [], timeout_s=0.5)
        with pytest.raises(LocalProtocolError):  # not in the session's methods
            await dapp.request(session.topic, "eip155:1", "eth_sign", [], timeout_s=1)
        with pytest.raises(LocalProtocolError):  # not in the session's chains
            await dapp.request(session.topic, "eip155:137", "personal_sign", [], timeout_s=1)
        with pytest.raises(LocalProtocolError):
            await dapp.request("ab" * 32, "eip155:1", "personal_sign", [], timeout_s=1)


async def test_unanswered_proposal_expires() -> None:
    clock = [time.time()]
    async with RelayServer() as server:
        dapp = DappClient(server.url, metadata=DAPP_META, clock=lambda: clock[0])
        async with dapp:
            _uri, approval = await dapp.connect(optional_namespaces=OPTIONAL_NS)
            clock[0] += 301
            dapp._wakeup.set()  # the timer re-reads the clock
            with pytest.raises(Timeout):
                await asyncio.wait_for(approval, 5)


async def test_dapp_restart_keeps_session() -> None:
    backing: dict[tuple[str, str, str], str] = {}
    async with (
        RelayServer() as server,
        WalletClient(
            server.url, metadata=WALLET_META, on_proposal=approve, on_request=echo
        ) as wallet,
    ):
        async with DappClient(
            server.url, metadata=DAPP_META, store=MemoryStore("dapp", backing=backing)
        ) as first:
            uri, approval = await first.connect(optional_namespaces=OPTIONAL_NS)
            await wallet.pair(uri)
            session = await asyncio.wait_for(approval, 10)
            await wallet.next_event(SessionAcknowledged, timeout_s=10)
        async with DappClient(
            server.url, metadata=DAPP_META, store=MemoryStore("dapp", backing=backing)
        ) as second:
            assert session.topic in second.sessions
            result = await second.request(
                session.topic, "eip155:1", "personal_sign", ["0x01"], timeout_s=10
            )
            assert result == ["0x01"]
