"""Revocation on every path, end to end: the official SDK dApp against a real ``wcproxy run``.

For each path (CLI ``revoke SESSION`` / ``--dapp`` / ``--all``, the dApp's own
``wallet_revokePermissions``, a policy rule, the emergency stop): the dApp receives
``wc_sessionDelete`` whose reason names the revocation; a dApp that ignores it (``revive`` puts the
session back on its side) gets its next request refused with 5020 (5021 while frozen) — nothing is
signed — and the daemon counts it as a post-revocation attempt (``/metrics`` through the admin API).
Also: the policy path's time from the triggering request to the refusal of the next one, and a
revoked session stays revoked (and watched) after ``wcproxy run`` restarts.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from daemon_process import DaemonProcess, wcproxy_cli
from revocation_e2e import connect, metric, request, revive, rules_config, sign_message, upgrade_tx
from sdk import NodeScript

from walletconnect.aio.relay_server import RelayServer

pytestmark = [pytest.mark.sdk, pytest.mark.e2e, pytest.mark.slow]

PATHS = ["cli_session", "cli_dapp", "cli_all", "dapp_request", "policy_rule", "emergency"]
EXPECTED_PATH = {
    "cli_session": "user",
    "cli_dapp": "user",
    "cli_all": "user",
    "dapp_request": "user",
    "policy_rule": "policy",
    "emergency": "emergency",
}


def audit(data_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (data_dir / "audit.jsonl").read_text().splitlines()]


async def trigger(
    path: str, node: NodeScript, topic: str, account: str, args: tuple[str, ...]
) -> None:
    """Revoke the session through ``path``."""
    if path == "cli_session":
        status, _out, err = await wcproxy_cli("revoke", topic, "--reason", "lost laptop", *args)
        assert status == 0, err
    elif path == "cli_dapp":
        status, out, err = await wcproxy_cli("sessions", "--json", *args)
        assert status == 0, err
        [listed] = json.loads(out)["sessions"]
        status, out, err = await wcproxy_cli(
            "revoke", "--dapp", listed["dapp"], "--reason", "dApp compromised", "--json", *args
        )
        assert status == 0, err
        assert json.loads(out)["revoked"] == [topic]
    elif path == "cli_all":
        status, out, err = await wcproxy_cli(
            "revoke", "--all", "--reason", "rotation", "--json", *args
        )
        assert status == 0, err
        assert json.loads(out)["revoked"] == [topic]
    elif path == "dapp_request":
        answer = await request(
            node, topic, "wallet_revokePermissions", [{"permissionContext": "0x01"}]
        )
        assert answer["sdk_event"] == "response", answer
        assert answer["result"] is None
    elif path == "policy_rule":
        answer = await request(node, topic, "eth_signTransaction", [upgrade_tx(account)])
        assert answer["sdk_event"] == "cmd_error", answer
        assert (answer["code"], answer["data"]["reasons"]) == (5000, ["non_delegable"])
    else:
        status, _out, err = await wcproxy_cli("emergency-stop", "--reason", "incident 42", *args)
        assert status == 0, err


@pytest.mark.parametrize("path", PATHS)
async def test_revocation_path(tmp_path: Path, path: str) -> None:
    data_dir = tmp_path / "data"
    config = rules_config(tmp_path)
    args = ("--config", str(config), "--data-dir", str(data_dir))
    async with DaemonProcess(data_dir, config=config) as daemon:
        ready = daemon.ready
        account = ready["accounts"][0]
        async with NodeScript("sign_dapp.mjs", ready["relay"], "150") as node:
            await node.expect("ready", 30)
            topic = await connect(node, args)
            signed = await request(node, topic, "personal_sign", sign_message(account, "before"))
            assert signed["sdk_event"] == "response", signed

            await trigger(path, node, topic, account, args)
            told = await node.expect("session_delete_request", 30)
            assert told["topic"] == topic
            assert told["params"]["code"] == 6000
            assert f"Session revoked ({EXPECTED_PATH[path]}" in told["params"]["message"]
            assert (await node.expect("session_delete", 30))["topic"] == topic

            await revive(node, topic)
            after = await request(node, topic, "personal_sign", sign_message(account, "after"))
            assert after["sdk_event"] == "cmd_error", after
            code = 5021 if path == "emergency" else 5020
            assert after["code"] == code, after
            if path != "emergency":
                assert after["data"] == {
                    "kind": "revoked",
                    "reason": "session_revoked",
                    "path": EXPECTED_PATH[path],
                }

            assert await metric(ready, data_dir, "wcproxy_post_revocation_attempts_total") == 1
            assert (
                await metric(
                    ready,
                    data_dir,
                    "wcproxy_revocations_total",
                    path=EXPECTED_PATH[path],
                    rule="no-non-delegable" if path == "policy_rule" else "",
                )
                == 1
            )
            assert (
                await metric(
                    ready,
                    data_dir,
                    "wcproxy_time_to_revoke_seconds_count",
                    path=EXPECTED_PATH[path],
                )
                == 1
            )
            if path == "policy_rule":
                assert (
                    await metric(
                        ready,
                        data_dir,
                        "wcproxy_alerts_total",
                        rule="no-non-delegable",
                        severity="critical",
                    )
                    == 1
                )
            if path == "emergency":
                assert await metric(ready, data_dir, "wcproxy_signing_frozen") == 1
                status, _out, err = await wcproxy_cli(
                    "emergency-resume", "--reason", "all clear", *args
                )
                assert status == 0, err
                assert await metric(ready, data_dir, "wcproxy_signing_frozen") == 0
                again = await request(node, topic, "personal_sign", sign_message(account, "again"))
                assert again["code"] == 5020, again  # resumed, but the session stays revoked
        assert await daemon.terminate() == 0, daemon.tail()

    records = audit(data_dir)
    signed_records = [r for r in records if r["event"] == "request" and r["decision"] == "allow"]
    assert [r["method"] for r in signed_records if r["method"] == "personal_sign"] == [
        "personal_sign"
    ]
    post = [r for r in records if r.get("details", {}).get("post_revocation")]
    assert len(post) == (2 if path == "emergency" else 1)
    assert all(r["session"] == topic and r["decision"] == "deny" for r in post)
    [revocation] = [r for r in records if r["event"] == "revocation"]
    assert revocation["details"]["path"] == EXPECTED_PATH[path]
    if path == "policy_rule":
        [alert] = [r for r in records if r["event"] == "alert"]
        assert alert["session"] == topic
        assert alert["details"]["rule"] == "no-non-delegable"
        assert alert["details"]["severity"] == "critical"
        assert revocation["details"]["rule"] == "no-non-delegable"
        assert revocation["details"]["alert_at"] == alert["details"]["alert_at"]
    if path == "dapp_request":
        assert revocation["details"]["actor"] == "dapp"
    if path == "emergency":
        stop = next(r for r in records if r["event"] == "emergency_stop")
        resume = next(r for r in records if r["event"] == "emergency_resume")
        assert stop["details"]["reason"] == "incident 42"
        assert resume["details"]["reason"] == "all clear"
        assert stop["details"]["actor"]
        assert resume["details"]["actor"]
    status, out, err = await wcproxy_cli("audit", "verify", str(data_dir / "audit.jsonl"))
    assert status == 0, out + err


async def test_policy_time_to_revoke_is_bounded(tmp_path: Path) -> None:
    """From sending the triggering request to the refusal of the next one (includes the dApp's revive)."""
    data_dir = tmp_path / "data"
    config = rules_config(tmp_path)
    args = ("--config", str(config), "--data-dir", str(data_dir))
    async with DaemonProcess(data_dir, config=config) as daemon:
        account = daemon.ready["accounts"][0]
        async with NodeScript("sign_dapp.mjs", daemon.ready["relay"], "120") as node:
            await node.expect("ready", 30)
            topic = await connect(node, args)
            started = time.perf_counter()
            refused = await request(node, topic, "eth_signTransaction", [upgrade_tx(account)])
            await node.expect("session_delete", 30)
            await revive(node, topic)
            after = await request(node, topic, "personal_sign", sign_message(account, "next"))
            elapsed = time.perf_counter() - started
            assert (refused["code"], after["code"]) == (5000, 5020)
            assert elapsed < 2.0, elapsed
            recorded = await metric(
                daemon.ready, data_dir, "wcproxy_time_to_revoke_seconds_sum", path="policy"
            )
            assert 0 <= recorded < 0.5


async def test_revoked_session_stays_revoked_after_restart(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    config = rules_config(tmp_path)
    async with RelayServer("127.0.0.1", 0) as relay:
        flags = ("--relay-url", relay.url)
        args = ("--config", str(config), "--data-dir", str(data_dir))
        async with NodeScript("sign_dapp.mjs", relay.url, "150") as node:
            await node.expect("ready", 30)
            async with DaemonProcess(data_dir, *flags, config=config) as daemon:
                account = daemon.ready["accounts"][0]
                topic = await connect(node, args)
                status, _out, err = await wcproxy_cli("revoke", topic, "--reason", "test", *args)
                assert status == 0, err
                await node.expect("session_delete", 30)
                assert await daemon.terminate() == 0, daemon.tail()
            async with DaemonProcess(data_dir, *flags, config=config) as restarted:
                status, out, err = await wcproxy_cli("sessions", "--json", *args)
                assert status == 0, err
                assert json.loads(out)["sessions"] == []
                await revive(node, topic)
                after = await request(node, topic, "personal_sign", sign_message(account, "later"))
                assert after["code"] == 5020, after
                assert (
                    await metric(
                        restarted.ready, data_dir, "wcproxy_post_revocation_attempts_total"
                    )
                    == 1
                )
                assert await restarted.terminate() == 0, restarted.tail()


async def test_freeze_survives_restart_until_resumed(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    config = rules_config(tmp_path)
    args = ("--config", str(config), "--data-dir", str(data_dir))
    async with RelayServer("127.0.0.1", 0) as relay:
        flags = ("--relay-url", relay.url)
        async with NodeScript("sign_dapp.mjs", relay.url, "150") as node:
            await node.expect("ready", 30)
            async with DaemonProcess(data_dir, *flags, config=config) as daemon:
                account = daemon.ready["accounts"][0]
                topic = await connect(node, args)
                status, _out, err = await wcproxy_cli("emergency-stop", "--reason", "drill", *args)
                assert status == 0, err
                await node.expect("session_delete", 30)
                assert await daemon.terminate() == 0, daemon.tail()
            async with DaemonProcess(data_dir, *flags, config=config) as restarted:
                ready = restarted.ready
                assert await metric(ready, data_dir, "wcproxy_signing_frozen") == 1
                await revive(node, topic)
                frozen = await request(node, topic, "personal_sign", sign_message(account, "x"))
                assert frozen["code"] == 5021, frozen
                status, _out, err = await wcproxy_cli("emergency-resume", "--reason", "done", *args)
                assert status == 0, err
                revoked = await request(node, topic, "personal_sign", sign_message(account, "y"))
                assert revoked["code"] == 5020, revoked
                assert await metric(ready, data_dir, "wcproxy_post_revocation_attempts_total") == 2
                assert await restarted.terminate() == 0, restarted.tail()
