"""Our wallet is SIGKILLed after settling with the official SDK dApp; a request arrives while it is
down; a restarted wallet process (same SQLite store) resumes the session and answers it exactly once.

The wallet runs as a subprocess (a small script using WalletClient + SqliteWalletConnectStore); every
answer it produces is appended to a log file before it is returned to the engine, so a second
answer to the same id would show up there.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

import pytest
from sdk import NodeScript

from walletconnect.aio.relay_server import RelayServer

pytestmark = [pytest.mark.sdk, pytest.mark.slow, pytest.mark.e2e]

ROOT = Path(__file__).resolve().parents[2]
ADDRESS_KEY = "0x" + "42" * 32

WALLET_SCRIPT = r"""
import asyncio, json, os, sys
from eth_account import Account
from eth_account.messages import encode_defunct
from proxy.stores.wc_sqlite import SqliteWalletConnectStore
from walletconnect.aio.wallet_client import Approval, WalletClient
from walletconnect.engine.events import SessionAcknowledged

relay_url, db, answers, uri = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
key = Account.from_key(os.environ["WALLET_KEY"])

def out(event, **data):
    sys.stdout.write(json.dumps({"event": event, **data}) + "\n")
    sys.stdout.flush()

async def approve(proposal):
    return Approval({"eip155": {"chains": ["eip155:1"], "accounts": [f"eip155:1:{key.address}"],
                                "methods": ["personal_sign"], "events": ["accountsChanged"]}})

async def sign(request, session):
    sig = "0x" + key.sign_message(encode_defunct(hexstr=request.params[0])).signature.hex().removeprefix("0x")
    with open(answers, "a") as f:
        f.write(f"{request.topic}:{request.id}\n")
        f.flush()
        os.fsync(f.fileno())
    out("answered", id=request.id)
    return sig

async def main():
    store = await SqliteWalletConnectStore.open(db)
    wallet = WalletClient(relay_url, metadata={"name": "w", "description": "", "url": "https://w.example", "icons": []},
                          store=store, on_proposal=approve, on_request=sign)
    async with wallet:
        out("started", sessions=list(wallet.sessions))
        if uri != "-":
            await wallet.pair(uri)
            ack = await wallet.next_event(SessionAcknowledged, timeout_s=60)
            out("acknowledged", topic=ack.topic)
        await asyncio.Event().wait()

asyncio.run(main())
"""


class WalletProcess:
    def __init__(self, relay_url: str, db: Path, answers: Path, uri: str = "-") -> None:
        self.args = [relay_url, str(db), str(answers), uri]
        self.proc: asyncio.subprocess.Process | None = None
        self.stderr_path = db.with_suffix(".stderr")

    async def start(self) -> None:
        env = {**os.environ, "WALLET_KEY": ADDRESS_KEY, "PYTHONPATH": str(ROOT)}
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            WALLET_SCRIPT,
            *self.args,
            stdout=asyncio.subprocess.PIPE,
            stderr=self.stderr_path.open("ab"),
            cwd=ROOT,
            env=env,
        )

    async def expect(self, event: str, timeout_s: float = 30.0) -> dict[str, Any]:
        assert self.proc is not None
        assert self.proc.stdout is not None
        async with asyncio.timeout(timeout_s):
            while True:
                line = await self.proc.stdout.readline()
                if not line:
                    tail = self.stderr_path.read_text(errors="replace")[-3000:]
                    pytest.fail(f"wallet process exited before {event!r}\n{tail}")
                try:
                    obj = json.loads(line)
                except ValueError:
                    continue  # structlog output of the wallet process
                if isinstance(obj, dict) and obj.get("event") == event:
                    return obj

    async def sigkill(self) -> None:
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()


def send(node: NodeScript, **cmd: Any) -> None:
    assert node.proc is not None
    assert node.proc.stdin is not None
    node.proc.stdin.write((json.dumps(cmd) + "\n").encode())


async def test_sigkilled_wallet_restarts_from_sqlite_and_answers_once(tmp_path: Path) -> None:
    db, answers = tmp_path / "wallet.sqlite", tmp_path / "answers.log"
    async with RelayServer() as server, NodeScript("sign_dapp.mjs", server.url, "150") as node:
        await node.expect("ready", 30)
        ns = {
            "eip155": {
                "chains": ["eip155:1"],
                "methods": ["personal_sign"],
                "events": ["accountsChanged"],
            }
        }
        send(node, cmd="connect", optionalNamespaces=ns)
        uri = (await node.expect("uri", 30))["uri"]

        first = WalletProcess(server.url, db, answers, uri)
        await first.start()
        try:
            topic = (await first.expect("acknowledged", 60))["topic"]
            assert (await node.expect("session", 30))["topic"] == topic
        finally:
            await first.sigkill()

        message = "0x" + b"while you were down".hex()
        send(
            node,
            cmd="request",
            topic=topic,
            chainId="eip155:1",
            method="personal_sign",
            params=[message],
        )
        await asyncio.sleep(0.5)  # the request waits in the relay's mailbox

        second = WalletProcess(server.url, db, answers)
        await second.start()
        try:
            started = await second.expect("started", 60)
            assert started["sessions"] == [topic]
            response = await node.expect("response", 60)
        finally:
            await second.sigkill()
        from eth_account import Account

        assert response["recovered"] == Account.from_key(ADDRESS_KEY).address

        # A third start: the relay may redeliver the request; it must not be handled again.
        third = WalletProcess(server.url, db, answers)
        await third.start()
        try:
            await third.expect("started", 60)
            await asyncio.sleep(1.0)
        finally:
            await third.sigkill()
        lines = answers.read_text().splitlines()
        assert len(lines) == 1
        assert len(set(lines)) == len(lines)
