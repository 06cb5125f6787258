"""``wcproxy attack`` as a real process: bad scenario files (exit 2), the corpus against wcproxy itself
(every scenario blocked with its expected reason class, exit 0), a scenario wcproxy does sign (exit 1), and
the corpus against the official WalletKit wallet acting naively (the bench reports what it signed)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from daemon_process import WCPROXY, wcproxy_cli
from sdk import NODE_MODULES, PRELOAD, require_sdk

from proxy.attack.scenario import load_corpus

ROOT = Path(__file__).resolve().parents[2]
NAIVE_WALLET = ROOT / "tests" / "attack" / "js" / "naive_wallet.mjs"

SIGNS = """
name = "plain-message"
category = "sanity"
proves = "a harmless message is signed (this scenario must come back SIGNED)"

[[steps]]
kind = "request"
method = "personal_sign"
params = ["harmless {uniq}", "{account}"]

[expect]
outcome = "deny"
reason = ["policy"]
"""


async def test_syntax_error_exits_2_naming_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "broken.toml"
    bad.write_text('name = "x\ncategory = "y"\n', encoding="utf-8")
    code, out, err = await wcproxy_cli("attack", "--target", "self", "--scenarios", str(bad))
    assert code == 2, err
    assert str(bad) in err
    assert "TOML syntax error" in err
    assert out == ""


async def test_unknown_field_exits_2_naming_file_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "typo.toml"
    bad.write_text(
        SIGNS.replace('method = "personal_sign"', 'method = "personal_sign"\nparms = []'),
        encoding="utf-8",
    )
    code, _out, err = await wcproxy_cli("attack", "--target", "self", "--scenarios", str(tmp_path))
    assert code == 2, err
    assert f"{bad}: steps[0].parms: unknown field 'parms'" in err


async def test_unknown_only_filter_exits_2() -> None:
    code, _out, err = await wcproxy_cli("attack", "--target", "self", "--only", "no-such-scenario")
    assert code == 2
    assert "no scenario matches" in err


@pytest.mark.e2e
async def test_a_scenario_wcproxy_signs_fails_the_run(tmp_path: Path) -> None:
    (tmp_path / "signs.toml").write_text(SIGNS, encoding="utf-8")
    code, out, err = await wcproxy_cli(
        "attack", "--target", "self", "--scenarios", str(tmp_path), "--json", timeout_s=120
    )
    assert code == 1, err
    doc = json.loads(out)
    [row] = doc["scenarios"]
    assert row["outcome"] == "SIGNED"
    assert not row["ok"]
    assert "valid personal_sign signature" in row["reason"]


@pytest.mark.e2e
@pytest.mark.slow
async def test_corpus_against_self_blocks_everything(tmp_path: Path) -> None:
    junit = tmp_path / "attack.xml"
    code, out, err = await wcproxy_cli(
        "attack",
        "--target",
        "self",
        "--config",
        str(ROOT / "config" / "example.toml"),
        "--json",
        "--junit",
        str(junit),
        timeout_s=240,
    )
    assert out.strip(), err[-3000:]
    doc = json.loads(out)
    rows: list[dict[str, Any]] = doc["scenarios"]
    not_blocked = [(r["name"], r["outcome"], r["reason"]) for r in rows if not r["ok"]]
    assert code == 0, f"{not_blocked}\n{err[-2000:]}"
    corpus = load_corpus()
    assert len(rows) == len(corpus) >= 30
    for row in rows:
        assert row["outcome"] == "blocked", row
        assert row["reason_class"] in row["expected"], (
            row
        )  # every scenario with its expected reason class
    layers = {r["reason"] for r in rows if r["reason_class"] == "replay"}
    for layer in (
        "payload",
        "chain_nonce",
        "permit_nonce",
        "permit2_nonce",
        "permit2_bit",
        "siwe_nonce",
        "rpc_id",
    ):
        assert any(layer in reason for reason in layers), layer
    suite = ET.parse(junit).getroot()
    assert suite.get("tests") == str(len(rows))
    assert suite.get("failures") == "0"
    assert suite.get("errors") == "0"
    assert "[" in err  # the progress lines went to stderr


def _wallet_cmd(node: str, workdir: Path) -> str:
    return f"cd {workdir} && {node} --import {PRELOAD.as_uri()} {NAIVE_WALLET} {{uri}} {{relay}}"


@pytest.mark.sdk
@pytest.mark.e2e
@pytest.mark.slow
async def test_corpus_against_naive_walletkit_shows_what_it_signs(tmp_path: Path) -> None:
    import asyncio

    node = require_sdk()
    env = {
        **os.environ,
        "NODE_PATH": str(NODE_MODULES),
        "WC_NODE_MODULES": str(NODE_MODULES),
        "NODE_NO_WARNINGS": "1",
    }
    proc = await asyncio.create_subprocess_exec(
        str(WCPROXY),
        "attack",
        "--wallet-cmd",
        _wallet_cmd(node, tmp_path),
        "--json",
        "--timeout-s",
        "8",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 400)
    assert proc.returncode == 1, err.decode()[-3000:]
    assert out.strip(), err.decode()[-3000:]
    rows = {r["name"]: r for r in json.loads(out)["scenarios"]}
    signed = [n for n, r in rows.items() if r["outcome"] == "SIGNED"]
    assert len(signed) >= 15, rows
    for row in (rows[n] for n in signed):
        assert "valid" in row["reason"], row  # verified by recovering the wallet's key
    # replays, context mismatches and non-delegable calls a naive wallet signs
    for name in (
        "resubmit-same-tx",
        "resubmit-tx-other-session",
        "second-tx-same-nonce",
        "eip2612-permit-same-nonce",
        "permit2-unordered-nonce-reuse",
        "typed-data-other-chainid",
        "eth-sign-tx-hash",
        "eip7702-auth-chain-id-zero",
        "legacy-raw-tx-no-eip155",
        "siwe-other-domain",
        "safe-exec-delegatecall-upgrade",
        "unlimited-erc20-approval",
    ):
        assert rows[name]["outcome"] == "SIGNED", rows[name]
    assert rows["legacy-raw-tx-no-eip155"]["reason"].endswith("chainId None)")
    # what the SDK itself stops: duplicate deliveries and tampered envelopes
    for name in (
        "duplicate-envelope",
        "reencrypted-duplicate",
        "tampered-aead-tag",
        "request-after-session-delete",
    ):
        assert rows[name]["outcome"] == "blocked", rows[name]
    # operator-only scenarios are skipped, not failed
    assert rows["request-after-user-revocation"]["outcome"] == "skipped"
    assert sys.executable  # the bench ran under this interpreter's wcproxy
