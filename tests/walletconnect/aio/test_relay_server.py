"""RelayServer on loopback: JWT auth (close 3000), anonymous mode, frame log, pings configured."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from walletconnect.aio.relay_server import RelayServer
from walletconnect.relay_auth import ClientIdentity, relay_url

T1 = "a1" * 32


async def _close_code(url: str) -> tuple[int | None, str | None]:
    async with connect(url, proxy=None, open_timeout=5) as ws:
        with pytest.raises(ConnectionClosed):
            await ws.recv()
        return ws.close_code, ws.close_reason


def _signed_url(base: str, identity: ClientIdentity, iat: int | None = None) -> str:
    jwt = identity.sign_jwt(aud=base, iat=int(time.time()) if iat is None else iat, sub="00" * 32)
    return relay_url(base, auth=jwt, project_id="0" * 32)


async def test_missing_jwt_closes_with_3000() -> None:
    async with RelayServer() as server:
        assert await _close_code(server.url + "/?projectId=x") == (3000, "MissingJwt")
        assert server.auth_rejections == 1


async def test_invalid_or_expired_jwt_closes_with_3000() -> None:
    async with RelayServer() as server:
        assert await _close_code(server.url + "/?auth=not.a.jwt") == (3000, "InvalidJwt")
        expired = _signed_url(server.url, ClientIdentity.generate(), iat=1_000_000)
        assert await _close_code(expired) == (3000, "InvalidJwt")
        assert server.connections_accepted == 0


async def test_valid_jwt_names_the_client_in_subscription_ids() -> None:
    identity = ClientIdentity.generate()
    async with (
        RelayServer() as server,
        connect(_signed_url(server.url, identity), proxy=None) as ws,
    ):
        await ws.send(
            json.dumps(
                {"id": 1, "jsonrpc": "2.0", "method": "irn_subscribe", "params": {"topic": T1}}
            )
        )
        reply = json.loads(await ws.recv())
        assert reply["result"] == hashlib.sha256((T1 + identity.client_id).encode()).hexdigest()


async def test_no_auth_mode_accepts_anonymous_clients_and_logs_frames(tmp_path: Path) -> None:
    log_file = tmp_path / "frames.jsonl"
    async with RelayServer(require_auth=False, frame_log=log_file) as server:
        async with connect(server.url, proxy=None) as ws:
            await ws.send("garbage")
            reply = json.loads(await ws.recv())
            assert reply["error"]["data"] == "Serialization"
        assert server.connections_accepted == 1
    lines = [json.loads(line) for line in log_file.read_text().splitlines()]
    assert (lines[0]["dir"], lines[0]["frame"]) == ("in", "garbage")
    assert lines[1]["dir"] == "out"
    assert lines[1]["client_id"] is None


async def test_server_pings_its_clients() -> None:
    async with (
        RelayServer(require_auth=False, ping_interval_s=0.1, ping_timeout_s=5) as server,
        connect(server.url, proxy=None, ping_interval=None) as ws,
    ):
        await asyncio.sleep(0.35)
        (peer,) = server._peers.values()
        assert peer.conn.latency > 0  # set only when a keepalive ping was answered
        assert ws.state.name == "OPEN"


async def test_connection_limit_closes_extra_sockets_with_1013() -> None:
    async with (
        RelayServer(require_auth=False, max_connections=1) as server,
        connect(server.url, proxy=None) as first,
    ):
        assert await _close_code(server.url) == (1013, "too many connections")
        await first.send(
            json.dumps(
                {"id": 1, "jsonrpc": "2.0", "method": "irn_subscribe", "params": {"topic": T1}}
            )
        )
        assert "result" in json.loads(await first.recv())
