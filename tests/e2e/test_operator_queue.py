"""Operator approval: a queued proposal waits until `wcproxy approve` / `wcproxy reject` decides it."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from daemon_process import DaemonProcess, wcproxy_cli
from dapp_driver import DAPP_META, OPTIONAL_NS

from walletconnect.aio.dapp_client import DappClient
from walletconnect.aio.engine_client import ResponseError

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]


def _queue_config(tmp_path: Path) -> Path:
    envelope = ROOT / "config" / "envelopes" / "example.json"
    config = tmp_path / "queue.toml"
    config.write_text(
        f"""
data_dir = "data"
unmatched = "reject"

[relay]
url = "embedded"

[signer]
backend = "dev"

[chains."eip155:1"]
native_symbol = "ETH"

[pricing]
prices = {{ ETH = "3000", USDC = "1" }}

[[session_rules]]
name = "needs-a-human"
envelope = "{envelope}"
action = "queue"

[session_rules.match]
chains = ["eip155:1"]
methods = ["personal_sign", "eth_signTypedData_v4", "eth_signTransaction", "eth_sendTransaction"]
""",
        encoding="utf-8",
    )
    return config


async def _proposals(args: tuple[str, ...]) -> list[dict[str, object]]:
    for _ in range(100):
        status, out, err = await wcproxy_cli("proposals", "--json", *args)
        assert status == 0, err
        proposals = json.loads(out)["proposals"]
        if proposals:
            return list(proposals)
        await asyncio.sleep(0.1)
    pytest.fail("the proposal never reached the operator queue")


async def test_queued_proposals_wait_for_the_operator(tmp_path: Path) -> None:
    config = _queue_config(tmp_path)
    data_dir = tmp_path / "data"
    args = ("--config", str(config), "--data-dir", str(data_dir))
    async with DaemonProcess(data_dir, config=config) as daemon:
        async with DappClient(daemon.ready["relay"], metadata=DAPP_META) as dapp:
            uri, approval = await dapp.connect(optional_namespaces=OPTIONAL_NS)
            assert (await wcproxy_cli("pair", uri, *args))[0] == 0
            [queued] = await _proposals(args)
            assert queued["rule"] == "needs-a-human"
            assert not approval.done()  # nothing happens until an operator decides
            status, _out, err = await wcproxy_cli("approve", str(queued["id"]), *args)
            assert status == 0, err
            session = await asyncio.wait_for(approval, 30)
            account = daemon.ready["accounts"][0]
            signature = await dapp.request(
                session.topic,
                "eip155:1",
                "personal_sign",
                ["0x" + b"approved".hex(), account],
                timeout_s=30,
            )
            assert isinstance(signature, str)
            assert signature.startswith("0x")

            uri, second = await dapp.connect(optional_namespaces=OPTIONAL_NS)
            assert (await wcproxy_cli("pair", uri, *args))[0] == 0
            [queued] = await _proposals(args)
            status, _out, err = await wcproxy_cli(
                "reject", str(queued["id"]), "--reason", "not today", *args
            )
            assert status == 0, err
            with pytest.raises(ResponseError) as rejected:
                await asyncio.wait_for(second, 30)
            assert rejected.value.code == 5000
            status, _out, err = await wcproxy_cli("approve", "12345", *args)
            assert status == 1
            assert "no proposal 12345" in err
        assert await daemon.terminate() == 0
