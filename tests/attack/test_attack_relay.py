"""``wcproxy attack --relay URL``: any wallet pairs from the printed URI / QR code and is attacked.

"Any wallet" here is our own WalletClient acting naively in this process (approve everything, sign
everything with a test key via eth-account), so this path is covered without node.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
from typing import Any

import pytest
from daemon_process import WCPROXY
from eth_account import Account
from eth_account.messages import encode_defunct

from proxy.attack.target import show_uri
from walletconnect.aio.relay_server import RelayServer
from walletconnect.aio.wallet_client import Approval, WalletClient
from walletconnect.engine.records import PendingRequest, ProposalRecord, SessionRecord

KEY = "0x" + "4c" * 32
ME = Account.from_key(KEY)


def test_show_uri_prints_the_uri_and_a_qr_code() -> None:
    out = io.StringIO()
    uri = "wc:" + "ab" * 32 + "@2?relay-protocol=irn&symKey=" + "cd" * 32 + "&expiryTimestamp=1"
    show_uri(uri, out)
    text = out.getvalue()
    assert uri in text
    assert len(text.splitlines()) > 20  # the QR code rows
    assert any(ch in text for ch in "█▀▄")


async def _naive_wallet(relay: str, uri: str) -> WalletClient:
    async def on_proposal(proposal: ProposalRecord) -> Approval:
        ns = proposal.optional_namespaces.get("eip155", {})
        chains = list(ns.get("chains", []))
        return Approval(
            {
                "eip155": {
                    "chains": chains,
                    "methods": list(ns.get("methods", [])),
                    "events": list(ns.get("events", [])),
                    "accounts": [f"{c}:{ME.address}" for c in chains],
                }
            }
        )

    async def on_request(pending: PendingRequest, session: SessionRecord) -> Any:
        params = pending.params
        if pending.method == "personal_sign":
            text = params[0]
            message = bytes.fromhex(text[2:]) if text.startswith("0x") else text.encode()
            return ME.sign_message(encode_defunct(primitive=message)).signature.to_0x_hex()
        if pending.method == "eth_signTransaction":
            tx = params[0]
            fields = {
                "to": tx["to"],
                "value": int(tx["value"], 16),
                "gas": int(tx["gas"], 16),
                "maxFeePerGas": int(tx["maxFeePerGas"], 16),
                "maxPriorityFeePerGas": int(tx["maxPriorityFeePerGas"], 16),
                "nonce": int(tx["nonce"], 16),
                "chainId": int(tx["chainId"], 16),
                "data": tx.get("data", "0x"),
                "type": 2,
            }
            return "0x" + bytes(Account.sign_transaction(fields, KEY).raw_transaction).hex()
        return None

    wallet = WalletClient(
        relay,
        metadata={"name": "naive", "description": "", "url": "https://w.example", "icons": []},
        on_proposal=on_proposal,
        on_request=on_request,
    )
    await wallet.start()
    await wallet.pair(uri)
    return wallet


@pytest.mark.e2e
async def test_relay_mode_pairs_any_wallet_from_the_printed_uri() -> None:
    async with RelayServer() as relay:
        proc = await asyncio.create_subprocess_exec(
            str(WCPROXY),
            "attack",
            "--relay",
            relay.url,
            "--json",
            "--pair-timeout-s",
            "30",
            "--only",
            "resubmit-same-tx",
            "--only",
            "reencrypted-duplicate",
            "--only",
            "request-after-user-revocation",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        assert proc.stderr is not None
        wallet: WalletClient | None = None
        seen: list[str] = []
        try:
            async with asyncio.timeout(60):
                while wallet is None:
                    line = (await proc.stderr.readline()).decode()
                    assert line, "\n".join(seen)
                    seen.append(line)
                    if line.startswith("wc:"):
                        wallet = await _naive_wallet(relay.url, line.strip())
            out, _rest = await asyncio.wait_for(proc.communicate(), 90)
        finally:
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()
            if wallet is not None:
                await wallet.close()
    assert proc.returncode == 1
    rows = {r["name"]: r for r in json.loads(out)["scenarios"]}
    assert rows["resubmit-same-tx"]["outcome"] == "SIGNED"
    assert rows["reencrypted-duplicate"]["outcome"] == "blocked"  # the engine de-duplicates ids
    assert rows["request-after-user-revocation"]["outcome"] == "skipped"
    assert "target" in json.loads(out)


async def test_unreachable_relay_is_bad_input() -> None:
    proc = await asyncio.create_subprocess_exec(
        str(WCPROXY),
        "attack",
        "--relay",
        "ws://127.0.0.1:9",
        "--timeout-s",
        "2",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 2
    assert b"cannot reach the relay" in err
