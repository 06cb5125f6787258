"""`wcproxy run --relay-url URL --pair URI`: pairs at start, then prints ready; SIGTERM exits 0."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from daemon_process import DaemonProcess
from dapp_driver import DAPP_META, OPTIONAL_NS

from walletconnect.aio.dapp_client import DappClient
from walletconnect.aio.relay_server import RelayServer

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


async def test_run_pairs_with_the_uri_given_at_start(tmp_path: Path) -> None:
    async with RelayServer() as relay, DappClient(relay.url, metadata=DAPP_META) as dapp:
        uri, approval = await dapp.connect(optional_namespaces=OPTIONAL_NS)
        data_dir = tmp_path / "data"
        async with DaemonProcess(data_dir, "--relay-url", relay.url, "--pair", uri) as daemon:
            assert daemon.ready["relay"] == relay.url
            session = await asyncio.wait_for(approval, 30)
            account = daemon.ready["accounts"][0]
            assert session.namespaces["eip155"]["accounts"] == [f"eip155:1:{account}"]
            signature = await dapp.request(
                session.topic,
                "eip155:1",
                "personal_sign",
                ["0x" + b"hi".hex(), account],
                timeout_s=30,
            )
            assert isinstance(signature, str)
            assert len(signature) == 132
            assert await daemon.terminate() == 0, daemon.tail()
