"""Shared helpers of the revocation end-to-end tests: a config with rules, the SDK dApp, metrics scraping."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import aiohttp
from daemon_process import EXAMPLE_CONFIG, ROOT, wcproxy_cli
from eth_abi.abi import encode
from eth_utils.crypto import keccak
from prometheus_client.parser import text_string_to_metric_families
from sdk import NodeScript

__all__ = [
    "CHAIN",
    "METHODS",
    "RULES",
    "connect",
    "metric",
    "request",
    "revive",
    "rules_config",
    "send",
    "sign_message",
    "upgrade_tx",
]

CHAIN = "eip155:1"
METHODS = [
    "personal_sign",
    "eth_signTypedData_v4",
    "eth_signTransaction",
    "eth_sendTransaction",
    "wallet_revokePermissions",
]
ALLOWED = "0x1111111111111111111111111111111111111111"
RULES = """
[[revocation.rules]]
name = "no-non-delegable"
trigger = "non_delegable"

[[revocation.rules]]
name = "replay-alert"
trigger = "replay"
action = "alert"
"""


def rules_config(tmp_path: Path, rules: str = RULES) -> Path:
    """The example config with ``wallet_revokePermissions`` approvable and ``rules`` appended."""
    text = EXAMPLE_CONFIG.read_text(encoding="utf-8")
    config_dir = ROOT / "config"
    text = text.replace(
        '"envelopes/example.json"', json.dumps(str(config_dir / "envelopes/example.json"))
    )
    text = text.replace(
        '"tokens/mainnet.tokenlist.json"',
        json.dumps(str(config_dir / "tokens/mainnet.tokenlist.json")),
    )
    text = re.sub(
        r'methods = \["personal_sign", "eth_signTypedData_v4", "eth_signTransaction", "eth_sendTransaction"\]',
        "methods = " + json.dumps(METHODS),
        text,
    )
    assert "wallet_revokePermissions" in text
    path = tmp_path / "revocation.toml"
    path.write_text(text + rules, encoding="utf-8")
    return path


def send(node: NodeScript, **cmd: Any) -> None:
    assert node.proc is not None
    assert node.proc.stdin is not None
    node.proc.stdin.write((json.dumps(cmd) + "\n").encode())


async def request(node: NodeScript, topic: str, method: str, params: Any) -> dict[str, Any]:
    send(node, cmd="request", topic=topic, chainId=CHAIN, method=method, params=params)
    return await node.expect(("response", "cmd_error"), 30)


async def revive(node: NodeScript, topic: str) -> None:
    """Put the deleted session back in the dApp, as one ignoring wc_sessionDelete would."""
    send(node, cmd="revive", topic=topic)
    revived = await node.expect(("revived", "cmd_error"), 30)
    assert revived["sdk_event"] == "revived", revived


async def connect(node: NodeScript, daemon_args: tuple[str, ...]) -> str:
    """Propose from the SDK dApp, pair the daemon through the CLI; returns the session topic."""
    send(
        node,
        cmd="connect",
        optionalNamespaces={
            "eip155": {"chains": [CHAIN], "methods": METHODS, "events": ["chainChanged"]}
        },
    )
    uri = (await node.expect("uri", 30))["uri"]
    status, _out, err = await wcproxy_cli("pair", uri, *daemon_args)
    assert status == 0, err
    session = await node.expect("session", 30)
    assert "wallet_revokePermissions" in session["namespaces"]["eip155"]["methods"]
    return str(session["topic"])


def sign_message(account: str, text: str) -> list[str]:
    return ["0x" + text.encode().hex(), account]


def upgrade_tx(account: str) -> dict[str, Any]:
    """An ``upgradeTo`` call: non-delegable, whatever the envelope says."""
    data = keccak(text="upgradeTo(address)")[:4] + encode(["address"], ["0x" + "22" * 20])
    return {
        "from": account,
        "to": ALLOWED,
        "value": "0x0",
        "data": "0x" + data.hex(),
        "gas": hex(100_000),
        "maxFeePerGas": hex(2 * 10**10),
        "maxPriorityFeePerGas": hex(10**9),
        "nonce": "0x0",
        "chainId": "0x1",
        "type": "0x2",
    }


async def metric(ready: dict[str, Any], data_dir: Path, name: str, **labels: str) -> float:
    """One sample of the daemon's ``/metrics`` (scraped through the admin API with its token); 0 if absent."""
    token = (data_dir / "admin.token").read_text(encoding="utf-8").strip()
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http,
        http.get(ready["admin"] + "/metrics", headers={"Authorization": f"Bearer {token}"}) as resp,
    ):
        assert resp.status == 200, await resp.text()
        text = await resp.text()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0
