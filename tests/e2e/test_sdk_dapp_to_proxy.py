"""The official SDK dApp against a real ``wcproxy run`` process on the example config.

Allowed requests come back with signatures the node side verifies (ethers recovers the dev account);
each denial comes back with its documented code and reason; the CLI pairs, lists and revokes through
the admin API; SIGTERM exits 0; the audit log verifies.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from daemon_process import EXAMPLE_CONFIG, DaemonProcess, wcproxy_cli
from eth_abi.abi import encode
from eth_utils.crypto import keccak
from sdk import NodeScript

pytestmark = [pytest.mark.sdk, pytest.mark.e2e, pytest.mark.slow]

ALLOWED = "0x1111111111111111111111111111111111111111"
STRANGER = "0x2222222222222222222222222222222222222222"
CHAIN = "eip155:1"
METHODS = ["personal_sign", "eth_signTypedData_v4", "eth_signTransaction", "eth_sendTransaction"]


def send(node: NodeScript, **cmd: Any) -> None:
    assert node.proc is not None
    assert node.proc.stdin is not None
    node.proc.stdin.write((json.dumps(cmd) + "\n").encode())


def tx(
    account: str, to: str, *, value: int = 0, data: bytes = b"", nonce: int = 0
) -> dict[str, Any]:
    return {
        "from": account,
        "to": to,
        "value": hex(value),
        "data": "0x" + data.hex(),
        "gas": hex(100_000),
        "maxFeePerGas": hex(2 * 10**10),
        "maxPriorityFeePerGas": hex(10**9),
        "nonce": hex(nonce),
        "chainId": "0x1",
        "type": "0x2",
    }


async def request(node: NodeScript, topic: str, method: str, params: Any) -> dict[str, Any]:
    send(node, cmd="request", topic=topic, chainId=CHAIN, method=method, params=params)
    return await node.expect(("response", "cmd_error"), 30)


async def test_official_dapp_against_wcproxy_run(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    daemon_args = ("--config", str(EXAMPLE_CONFIG), "--data-dir", str(data_dir))
    async with DaemonProcess(data_dir) as daemon:
        relay = daemon.ready["relay"]
        account = daemon.ready["accounts"][0]
        async with NodeScript("sign_dapp.mjs", relay, "150") as node:
            await node.expect("ready", 30)
            send(
                node,
                cmd="connect",
                optionalNamespaces={
                    "eip155": {
                        "chains": [CHAIN, "eip155:10"],
                        "methods": [*METHODS, "eth_sign"],
                        "events": ["chainChanged"],
                    }
                },
            )
            uri = (await node.expect("uri", 30))["uri"]
            status, out, err = await wcproxy_cli("pair", uri, *daemon_args)
            assert status == 0, err
            session = await node.expect("session", 30)
            topic = session["topic"]
            namespace = session["namespaces"]["eip155"]
            assert namespace["accounts"] == [f"{CHAIN}:{account}"]  # eip155:10 not offered
            assert sorted(namespace["methods"]) == sorted(METHODS)  # eth_sign never approved
            assert session["expiry"] <= time.time() + 3600 + 5  # never outlives the envelope

            signed = await request(
                node, topic, "personal_sign", ["0x" + b"hello proxy".hex(), account]
            )
            assert signed["sdk_event"] == "response", signed
            assert signed["recovered"].lower() == account

            transfer = await request(
                node, topic, "eth_signTransaction", [tx(account, ALLOWED, value=10**16)]
            )
            assert transfer["sdk_event"] == "response", transfer
            assert transfer["recovered"].lower() == account

            cases: list[tuple[str, Any, int, str]] = [
                (
                    "eth_signTransaction",
                    [tx(account, ALLOWED, value=10**17, nonce=1)],
                    5000,
                    "value_cap_exceeded",
                ),
                (
                    "eth_signTransaction",
                    [tx(account, STRANGER, value=1, nonce=1)],
                    5000,
                    "destination_not_allowed",
                ),
                (
                    "eth_signTransaction",
                    [
                        tx(
                            account,
                            ALLOWED,
                            data=keccak(text="upgradeTo(address)")[:4]
                            + encode(["address"], [STRANGER]),
                            nonce=1,
                        )
                    ],
                    5000,
                    "non_delegable",
                ),
                (
                    "eth_signTransaction",
                    [tx(account, ALLOWED, value=10**16)],
                    5010,
                    "replay_detected",
                ),
                ("personal_sign", ["0x" + b"hello proxy".hex(), account], 5010, "replay_detected"),
                (
                    "eth_sendTransaction",
                    [tx(account, ALLOWED, value=10**15, nonce=2)],
                    -32002,
                    "broadcast_unavailable",
                ),
                ("personal_sign", ["0x" + bytes(32).hex(), account], 5000, "non_delegable"),
            ]
            for method, params, code, reason in cases:
                answer = await request(node, topic, method, params)
                assert answer["sdk_event"] == "cmd_error", (method, reason, answer)
                assert answer["code"] == code, (method, reason, answer)
                data = answer["data"] or {}
                assert reason == data.get("reason") or reason in data.get("reasons", []), (
                    method,
                    answer,
                )

            status, out, err = await wcproxy_cli("sessions", "--json", *daemon_args)
            assert status == 0, err
            listed = json.loads(out)["sessions"]
            assert [s["session"] for s in listed] == [topic]
            assert listed[0]["usage"]["calls"] == 2  # the two signed requests

            status, out, err = await wcproxy_cli("revoke", topic, "--reason", "test", *daemon_args)
            assert status == 0, err
            deleted = await node.expect("session_delete", 30)
            assert deleted["topic"] == topic
        assert await daemon.terminate() == 0, daemon.tail()
    audit = data_dir / "audit.jsonl"
    status, out, err = await wcproxy_cli("audit", "verify", str(audit))
    assert status == 0, out + err
    events = [json.loads(line)["event"] for line in audit.read_text().splitlines()]
    assert events.count("request") == 2 + 7
    assert "revocation" in events
    assert "session_approved" in events


async def test_cli_reports_a_missing_daemon_in_one_line(tmp_path: Path) -> None:
    status, _out, err = await wcproxy_cli(
        "sessions", "--config", str(EXAMPLE_CONFIG), "--data-dir", str(tmp_path)
    )
    assert status == 1
    assert "no running daemon" in err
    assert len(err.strip().splitlines()) == 1
