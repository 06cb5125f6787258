"""Authority dies with the envelope: the proxy sends wc_sessionDelete as the envelope expires."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest
from daemon_process import DaemonProcess
from dapp_driver import DAPP_META, pair_with_daemon

from walletconnect.aio.dapp_client import DappClient
from walletconnect.engine.events import SessionDeleted

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _short_lived_config(tmp_path: Path) -> Path:
    envelope = tmp_path / "short.json"
    envelope.write_text(
        json.dumps(
            {
                "sessionKey": "short",
                "capabilities": ["message.sign"],
                "maxValueUsd": 1,
                "allowedDestinations": [],
                "chainId": 1,
                "expiresAt": "+5s",
            }
        ),
        encoding="utf-8",
    )
    config = tmp_path / "short.toml"
    config.write_text(
        f"""
data_dir = "data"

[relay]
url = "embedded"

[signer]
backend = "dev"

[chains."eip155:1"]
native_symbol = "ETH"

[pricing]
prices = {{ ETH = "3000" }}

[[session_rules]]
name = "five-seconds"
envelope = "{envelope}"

[session_rules.match]
chains = ["eip155:1"]
methods = ["personal_sign"]
""",
        encoding="utf-8",
    )
    return config


async def test_the_session_is_deleted_when_its_envelope_expires(tmp_path: Path) -> None:
    config = _short_lived_config(tmp_path)
    data_dir = tmp_path / "data"
    async with DaemonProcess(data_dir, config=config) as daemon:
        async with DappClient(daemon.ready["relay"], metadata=DAPP_META) as dapp:
            topic = await pair_with_daemon(dapp, daemon.ready, data_dir)
            session = dapp.sessions[topic]
            assert session.expiry <= time.time() + 5  # capped at the envelope's expiry, not 7 days
            deleted = await dapp.next_event(SessionDeleted, timeout_s=15)
            assert deleted.topic == topic
            assert deleted.by_peer  # the proxy told the dApp; it did not just lapse
            audit = data_dir / "audit.jsonl"
            for _ in range(50):  # the delete goes out first, then the end is audited
                if '"session_ended"' in audit.read_text():
                    break
                await asyncio.sleep(0.1)
        assert await daemon.terminate() == 0
    ended = [
        json.loads(line)
        for line in (data_dir / "audit.jsonl").read_text().splitlines()
        if '"session_ended"' in line
    ]
    events = [
        json.loads(line)["event"] for line in (data_dir / "audit.jsonl").read_text().splitlines()
    ]
    assert [r["details"]["end"] for r in ended] == ["expiry"], events
