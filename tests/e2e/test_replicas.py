"""Replicas and crashes, daemon level: exactly-once answers and signatures across real ``wcproxy run`` processes.

* Two processes share one store (Redis, or one SQLite file) and one relay (the first one's embedded
  relay): they hold the same sessions and both receive each of 1,000 concurrent personal_sign
  requests from one dApp. The replay claim decides who signs; the other stays silent. The dApp gets
  exactly one response per request id (a second one would surface as an ``unexpected`` drop), every
  signature recovers to the account over its own message, and across both audit logs there are
  exactly 1,000 ``allow`` records with 1,000 distinct payload hashes; each replica saw every request.
  The relay keeps at most 500 messages per topic (request + response per call), so the 1,000
  requests are spread over 5 sessions of the same dApp.
* Crash: a daemon SIGKILLed while its (remote) signer is signing — after the claim, before the
  completion. On restart the request is re-dispatched from the protocol store, meets its own
  in-flight claim and is not signed again; the same payload in a new request is refused as a replay.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from daemon_process import EXAMPLE_CONFIG, DaemonProcess
from dapp_driver import DAPP_META, CountingDapp, admin_call, pair_with_daemon
from eth_account import Account
from eth_account.messages import encode_defunct

from walletconnect.aio.engine_client import ResponseError
from walletconnect.aio.relay_server import RelayServer

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CHAIN = "eip155:1"
REQUESTS = 1_000
SESSIONS = 5  # the relay holds at most 500 messages per topic: 200 requests + 200 answers each
CONCURRENCY = 100
FIRE_TIMEOUT_S = 180.0


def message(i: int) -> str:
    return "0x" + f"wcproxy replica test, request #{i:05d}".encode().hex()


def audit_requests(data_dir: Path) -> list[dict[str, Any]]:
    lines = (data_dir / "audit.jsonl").read_text(encoding="utf-8").splitlines()
    return [r for r in map(json.loads, lines) if r.get("event") == "request"]


async def fire(
    dapp: CountingDapp, topics: list[str], account: str
) -> dict[tuple[str, int], tuple[str, str]]:
    """Send REQUESTS personal_sign requests concurrently; returns (topic, id) -> (message, signature)."""
    gate = asyncio.Semaphore(CONCURRENCY)
    answers: dict[tuple[str, int], tuple[str, str]] = {}

    async def one(i: int) -> None:
        topic = topics[i % len(topics)]
        async with gate:
            text = message(i)
            signature = await dapp.request(
                topic, CHAIN, "personal_sign", [text, account], timeout_s=FIRE_TIMEOUT_S
            )
            answers[(topic, i)] = (text, signature)

    async with asyncio.timeout(FIRE_TIMEOUT_S):
        await asyncio.gather(*(one(i) for i in range(REQUESTS)))
    return answers


async def run_two_replicas(tmp_path: Path, store: str) -> None:
    dir_a, dir_b = tmp_path / "a", tmp_path / "b"
    async with DaemonProcess(dir_a, "--store", store) as a:
        relay = a.ready["relay"]
        account = a.ready["accounts"][0]
        async with CountingDapp(relay, metadata=DAPP_META) as dapp:
            topics = [await pair_with_daemon(dapp, a.ready, dir_a) for _ in range(SESSIONS)]
            async with DaemonProcess(dir_b, "--store", store, "--relay-url", relay) as b:
                assert b.ready["relay"] == relay
                listed = await admin_call(b.ready, dir_b, "GET", "/sessions")
                assert {s["session"] for s in listed["sessions"]} == set(topics)  # from the store

                answers = await fire(dapp, topics, account)
                await asyncio.sleep(2.0)  # room for a (wrong) second answer to arrive
                assert await b.terminate() == 0, b.tail()
        assert await a.terminate() == 0, a.tail()

    # the dApp: exactly one answer per request id, each a valid signature over its own message
    assert len(answers) == REQUESTS
    assert len(dapp.responses) == REQUESTS, len(dapp.responses)
    assert set(dapp.responses.values()) == {1}, dapp.late_duplicates
    for text, signature in answers.values():
        signable = encode_defunct(primitive=bytes.fromhex(text[2:]))
        assert Account.recover_message(signable, signature=signature).lower() == account

    # the replicas: 1,000 signatures in total, no payload twice, each replica saw every request
    records = {name: audit_requests(d) for name, d in (("a", dir_a), ("b", dir_b))}
    allowed = [r for rs in records.values() for r in rs if r["decision"] == "allow"]
    assert len(allowed) == REQUESTS
    hashes = Counter(r["payload_hash"] for r in allowed)
    assert len(hashes) == REQUESTS, hashes.most_common(3)
    assert {(r["session"], r["request_id"]) for r in allowed} == set(dapp.responses)
    for name, rs in records.items():
        decisions = Counter(r["decision"] for r in rs)
        print(f"replica {name}: {dict(decisions)}")
        assert set(decisions) <= {"allow", "duplicate"}, (name, decisions)
        seen = {(r["session"], r["request_id"]) for r in rs}
        assert seen == set(dapp.responses), (name, len(seen))


async def test_two_replicas_on_one_sqlite_file_sign_each_request_once(tmp_path: Path) -> None:
    await run_two_replicas(tmp_path, f"sqlite:{tmp_path / 'shared.sqlite3'}")


@pytest.mark.redis
async def test_two_replicas_on_one_redis_sign_each_request_once(
    tmp_path: Path, redis_url: str
) -> None:
    import redis.asyncio as aioredis

    url = redis_url.rsplit("/", 1)[0] + "/7"  # a database of its own within the shared server
    client = aioredis.from_url(url)
    try:
        await client.flushdb()
    finally:
        await client.aclose()
    await run_two_replicas(tmp_path, url)


# ---------------------------------------------------------------------------------------- crash

SIGNER_KEY = "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"


@dataclass
class HangingSigner:
    """A web3signer-flavoured fake: signs ``eth_sign`` with SIGNER_KEY, or hangs while ``hang``."""

    url: str = ""
    hang: bool = True
    calls: list[str] = field(default_factory=list)
    called: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def address(self) -> str:
        return str(Account.from_key(SIGNER_KEY).address).lower()

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        assert body["method"] == "eth_sign", body
        _address, data = body["params"]
        self.calls.append(data)
        self.called.set()
        if self.hang:
            await asyncio.sleep(3600)  # the daemon is killed meanwhile
        signable = encode_defunct(primitive=bytes.fromhex(data[2:]))
        signature = Account.from_key(SIGNER_KEY).sign_message(signable).signature
        return web.json_response(
            {"jsonrpc": "2.0", "id": body["id"], "result": "0x" + bytes(signature).hex()}
        )


@asynccontextmanager
async def hanging_signer() -> AsyncIterator[HangingSigner]:
    state = HangingSigner()
    app = web.Application()
    app.router.add_post("/", state.handle)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    state.url = f"http://127.0.0.1:{runner.addresses[0][1]}/"
    try:
        yield state
    finally:
        await runner.cleanup()


def remote_signer_config(tmp_path: Path, signer: HangingSigner) -> Path:
    base = EXAMPLE_CONFIG.parent
    text = EXAMPLE_CONFIG.read_text(encoding="utf-8")
    replacements = {
        'backend = "dev"': (
            f'backend = "remote"\nflavor = "web3signer"\nurl = "{signer.url}"\n'
            f'accounts = ["{signer.address}"]\ntimeout_s = 600\nretries = 0\n#'
        ),
        'envelope = "envelopes/example.json"': f'envelope = "{base / "envelopes/example.json"}"',
        'token_list = "tokens/mainnet.tokenlist.json"': (
            f'token_list = "{base / "tokens/mainnet.tokenlist.json"}"'
        ),
    }
    for old, new in replacements.items():
        assert old in text, f"config/example.toml changed: {old!r} not found"
        text = text.replace(old, new)
    path = tmp_path / "remote-signer.toml"
    path.write_text(text, encoding="utf-8")
    return path


async def test_killed_between_claim_and_complete_never_signs_again(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    async with (
        hanging_signer() as signer,
        RelayServer() as relay,
        CountingDapp(relay.url, metadata=DAPP_META) as dapp,
    ):
        config = remote_signer_config(tmp_path, signer)
        first = DaemonProcess(data_dir, "--relay-url", relay.url, config=config)
        await first.start()
        try:
            topic = await pair_with_daemon(dapp, first.ready, data_dir)
            text = message(1)
            pending = asyncio.create_task(
                dapp.request(topic, CHAIN, "personal_sign", [text, signer.address], timeout_s=60)
            )
            await asyncio.wait_for(signer.called.wait(), 30)  # claimed, now signing
            assert signer.calls == [text]
        finally:
            await first.kill()  # SIGKILL between claim and complete
        assert first.proc is not None
        assert first.proc.returncode == -9

        signer.hang = False
        async with DaemonProcess(data_dir, "--relay-url", relay.url, config=config) as second:
            # the request was persisted before it was handled: the restarted daemon handles it again
            async with asyncio.timeout(30):
                while not _audit_or_empty(data_dir):
                    await asyncio.sleep(0.1)
            retried = audit_requests(data_dir)
            assert [(r["decision"], r["details"]["kind"]) for r in retried] == [
                ("duplicate", "duplicate")
            ], retried
            assert signer.calls == [text]  # no second signature

            # the same payload in a new request is a replay, refused with its layer
            with pytest.raises(ResponseError) as replay:
                await dapp.request(
                    topic, CHAIN, "personal_sign", [text, signer.address], timeout_s=30
                )
            assert replay.value.code == 5010
            assert signer.calls == [text]

            # the daemon and its signer work: a fresh message is signed once
            fresh = message(2)
            signature = await dapp.request(
                topic, CHAIN, "personal_sign", [fresh, signer.address], timeout_s=30
            )
            signable = encode_defunct(primitive=bytes.fromhex(fresh[2:]))
            assert Account.recover_message(signable, signature=signature).lower() == signer.address
            assert signer.calls == [text, fresh]
            assert await second.terminate() == 0, second.tail()
        assert not pending.done()  # the interrupted request was never answered
        pending.cancel()


def _audit_or_empty(data_dir: Path) -> list[dict[str, Any]]:
    try:
        return audit_requests(data_dir)
    except FileNotFoundError:
        return []
