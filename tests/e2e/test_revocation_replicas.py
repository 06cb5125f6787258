"""Emergency stop across replicas: two ``wcproxy run`` processes on one Redis hold the same session.

The stop is made on replica A; replica B learns of the freeze and the revocation from the store's
event feed (Redis pub/sub) and ends the session locally, without a second wc_sessionDelete. The
official SDK dApp's next request (it ignores the deletion) reaches both replicas over the shared
relay; whichever answers refuses it with 5021, nothing is signed, and it is counted as a
post-revocation attempt.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from daemon_process import DaemonProcess, wcproxy_cli
from revocation_e2e import connect, metric, request, revive, rules_config, sign_message
from sdk import NodeScript

pytestmark = [pytest.mark.sdk, pytest.mark.e2e, pytest.mark.redis, pytest.mark.slow]


def requests_of(data_dir: Path) -> list[dict[str, Any]]:
    lines = (data_dir / "audit.jsonl").read_text(encoding="utf-8").splitlines()
    return [r for r in map(json.loads, lines) if r.get("event") == "request"]


async def eventually(check: Any, timeout_s: float = 5.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not await check():
            await asyncio.sleep(0.05)


async def test_emergency_stop_freezes_every_replica(tmp_path: Path, redis_url: str) -> None:
    config = rules_config(tmp_path)
    dir_a, dir_b = tmp_path / "a", tmp_path / "b"
    args_a = ("--config", str(config), "--data-dir", str(dir_a))
    args_b = ("--config", str(config), "--data-dir", str(dir_b))
    async with DaemonProcess(dir_a, "--store", redis_url, config=config) as a:
        relay = a.ready["relay"]
        account = a.ready["accounts"][0]
        async with NodeScript("sign_dapp.mjs", relay, "150") as node:
            await node.expect("ready", 30)
            topic = await connect(node, args_a)
            signed = await request(node, topic, "personal_sign", sign_message(account, "one"))
            assert signed["sdk_event"] == "response", signed
            # B starts after the session settled, so it loads it from the shared store.
            async with DaemonProcess(
                dir_b, "--store", redis_url, "--relay-url", relay, config=config
            ) as b:
                status, out, err = await wcproxy_cli("sessions", "--json", *args_b)
                assert status == 0, err
                assert [s["session"] for s in json.loads(out)["sessions"]] == [topic]

                status, _out, err = await wcproxy_cli(
                    "emergency-stop", "--reason", "key leak suspected", *args_a
                )
                assert status == 0, err
                told = await node.expect("session_delete_request", 30)
                assert "Session revoked (emergency" in told["params"]["message"]
                await node.expect("session_delete", 30)

                async def b_frozen() -> bool:
                    return await metric(b.ready, dir_b, "wcproxy_signing_frozen") == 1

                await eventually(b_frozen)

                async def b_ended() -> bool:
                    status, out, _err = await wcproxy_cli("sessions", "--json", *args_b)
                    return status == 0 and json.loads(out)["sessions"] == []

                await eventually(b_ended)

                await revive(node, topic)
                after = await request(node, topic, "personal_sign", sign_message(account, "two"))
                assert after["sdk_event"] == "cmd_error", after
                assert after["code"] == 5021, after

                async def counted() -> bool:
                    total = await metric(
                        a.ready, dir_a, "wcproxy_post_revocation_attempts_total"
                    ) + await metric(b.ready, dir_b, "wcproxy_post_revocation_attempts_total")
                    return total >= 1

                await eventually(counted)
                assert await b.terminate() == 0, b.tail()
        assert await a.terminate() == 0, a.tail()
    allowed = [r for d in (dir_a, dir_b) for r in requests_of(d) if r["decision"] == "allow"]
    assert len(allowed) == 1  # only the request before the stop was signed
    post = [
        r for d in (dir_a, dir_b) for r in requests_of(d) if r["details"].get("post_revocation")
    ]
    assert post
    assert {r["details"]["error_code"] for r in post} == {5021}
    b_revocations = [
        json.loads(line)
        for line in (dir_b / "audit.jsonl").read_text().splitlines()
        if json.loads(line)["event"] == "revocation"
    ]
    assert b_revocations == []  # A recorded (and announced) it; B only ended the session locally
