"""WsConnection (and RelayClient on it) against our RelayServer and a scripted sans-I/O server, loopback only.

Covers: one ``transport.write`` per batch of frames, fragmented inbound text, 1009 on oversized
messages, 1007 on invalid UTF-8, binary messages ignored, answering server pings, our keepalive
(pong missing -> closed -> RelayClient reconnects), close codes (3000 halts RelayClient), refused
handshakes retried with backoff, pause_reading for a slow consumer, clean close, wss://.
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from websockets.exceptions import InvalidStatus, InvalidURI
from websockets.frames import Close, CloseCode, Frame, Opcode
from websockets.http11 import Request
from websockets.protocol import State
from websockets.server import ServerProtocol

from walletconnect.aio.relay_client import RelayClient
from walletconnect.aio.relay_server import RelayServer
from walletconnect.aio.ws_connection import WsClosedError, WsConnection
from walletconnect.relay.frames import RelayLimits

T1 = "c3" * 32


class FakePeer:
    """Server side of one accepted connection: records the client's frames, sends what a test says."""

    def __init__(
        self, proto: ServerProtocol, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.proto = proto
        self.reader = reader
        self.writer = writer
        self.frames: list[Frame] = []
        self.answer_pings = True
        self.closed = asyncio.Event()

    def flush(self) -> None:
        for chunk in self.proto.data_to_send():
            if chunk:
                self.writer.write(chunk)
            elif not self.writer.is_closing():
                self.writer.close()

    def send_frames(self, *frames: Frame) -> None:
        for frame in frames:
            self.proto.send_frame(frame)
        self.flush()

    def close_frames(self) -> list[Close]:
        return [Close.parse(f.data) for f in self.frames if f.opcode is Opcode.CLOSE]

    async def run(self) -> None:
        try:
            while data := await self.reader.read(65536):
                if not self.answer_pings:
                    continue  # a dead peer: reads, never answers
                self.proto.receive_data(data)
                for event in self.proto.events_received():
                    assert isinstance(event, Frame)
                    self.frames.append(event)
                self.flush()
        except ConnectionError:
            pass
        finally:
            self.proto.receive_eof()
            self.flush()
            self.writer.close()
            self.closed.set()


class FakeServer:
    """A tiny scripted WebSocket server (websockets' sans-I/O ServerProtocol on asyncio streams)."""

    def __init__(self, *, status: int = 101, ssl_context: ssl.SSLContext | None = None) -> None:
        self.status = status
        self.ssl_context = ssl_context
        self.attempts: list[float] = []
        self.peers: asyncio.Queue[FakePeer] = asyncio.Queue()
        self.on_connect: list[Any] = []
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        scheme = "wss" if self.ssl_context is not None else "ws"
        host = "localhost" if self.ssl_context is not None else "127.0.0.1"
        return f"{scheme}://{host}:{port}/?auth=x"

    async def __aenter__(self) -> FakeServer:
        self._server = await asyncio.start_server(
            self._handle, "127.0.0.1", 0, ssl=self.ssl_context
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._serve(reader, writer)
        finally:
            self._tasks.discard(task)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.attempts.append(asyncio.get_running_loop().time())
        proto = ServerProtocol(max_size=None)
        request: Request | None = None
        while request is None:
            data = await reader.read(65536)
            if not data:
                writer.close()
                return
            proto.receive_data(data)
            for event in proto.events_received():
                if isinstance(event, Request):
                    request = event
        if self.status == 101:
            response = proto.accept(request)
        else:
            response = proto.reject(self.status, "refused by test\n")
        proto.send_response(response)
        peer = FakePeer(proto, reader, writer)
        peer.flush()
        if self.status != 101:
            writer.close()  # the rejection was flushed (with EOF) above
            return
        for action in self.on_connect:
            action(peer)
        self.peers.put_nowait(peer)
        await peer.run()

    async def next_peer(self) -> FakePeer:
        async with asyncio.timeout(5):
            return await self.peers.get()


class CountingTransport:
    """Wraps a transport and records every ``write``."""

    def __init__(self, inner: asyncio.Transport) -> None:
        self.inner = inner
        self.writes: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))
        self.inner.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def count_writes(conn: WsConnection) -> CountingTransport:
    counting = CountingTransport(conn._transport)  # type: ignore[arg-type]
    conn._transport = counting  # type: ignore[assignment]
    return counting


async def wait_until(predicate: Any, timeout_s: float = 5.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not predicate():
            await asyncio.sleep(0.01)


async def receive_n(conn: WsConnection, n: int, timeout_s: float = 5.0) -> list[str]:
    got: list[str] = []
    async with asyncio.timeout(timeout_s):
        while len(got) < n:
            batch = await conn.receive_texts()
            assert batch, "connection closed early"
            got.extend(batch)
    return got


@pytest.fixture
async def fake() -> AsyncIterator[FakeServer]:
    async with FakeServer() as server:
        yield server


# -- writes ------------------------------------------------------------------------------------


async def test_send_texts_is_one_write_and_frames_arrive_in_order(fake: FakeServer) -> None:
    conn = await WsConnection.open(fake.url, open_timeout_s=5)
    peer = await fake.next_peer()
    counting = count_writes(conn)
    texts = [f"frame-{i}-" + "x" * (i % 50) for i in range(200)]
    conn.send_texts(texts)
    assert len(counting.writes) == 1
    await wait_until(lambda: len(peer.frames) >= 200)
    assert [bytes(f.data).decode() for f in peer.frames] == texts
    assert all(f.opcode is Opcode.TEXT and f.fin for f in peer.frames)
    await conn.close()


async def test_relay_client_flush_writes_every_queued_publish_at_once() -> None:
    async with (
        RelayServer() as server,
        fast_client(server.url) as a,
        fast_client(server.url) as b,
    ):
        await b.subscribe(T1, timeout_s=5)
        assert a._ws is not None
        counting = count_writes(a._ws)
        acks = [a.publish_nowait(T1, f"m{i}", 300, 1) for i in range(100)]
        await a.flush()
        assert len(counting.writes) == 1
        async with asyncio.timeout(10):
            assert await asyncio.gather(*acks) == [True] * 100
            got = [(await b.next_message()).message for _ in range(100)]
        assert got == [f"m{i}" for i in range(100)]


# -- inbound -----------------------------------------------------------------------------------


async def test_fragmented_text_is_assembled_and_binary_ignored(fake: FakeServer) -> None:
    conn = await WsConnection.open(fake.url, open_timeout_s=5)
    peer = await fake.next_peer()
    peer.send_frames(
        Frame(Opcode.BINARY, b"\x00\x01", fin=False),
        Frame(Opcode.CONT, b"\x02", fin=True),
        Frame(Opcode.TEXT, "hé".encode(), fin=False),
        Frame(Opcode.PING, b"mid"),  # control frames may interleave with fragments
        Frame(Opcode.CONT, b"llo ", fin=False),
        Frame(Opcode.CONT, "wörld".encode(), fin=True),
        Frame(Opcode.BINARY, b"bin"),
        Frame(Opcode.TEXT, b"next"),
    )
    assert await receive_n(conn, 2) == ["héllo wörld", "next"]
    await wait_until(lambda: any(f.opcode is Opcode.PONG for f in peer.frames))
    assert [bytes(f.data) for f in peer.frames if f.opcode is Opcode.PONG] == [b"mid"]
    assert conn.is_open
    await conn.close()
    assert conn.close_code == 1000


@pytest.mark.parametrize("fragmented", [False, True], ids=["single-frame", "fragments"])
async def test_oversized_message_closes_1009(fake: FakeServer, fragmented: bool) -> None:
    conn = await WsConnection.open(fake.url, open_timeout_s=5, max_size=1000, close_timeout_s=2)
    peer = await fake.next_peer()
    peer.send_frames(Frame(Opcode.TEXT, b"ok"))
    if fragmented:
        peer.send_frames(
            *(
                Frame(Opcode.TEXT if i == 0 else Opcode.CONT, b"y" * 300, fin=False)
                for i in range(4)
            )
        )
    else:
        peer.send_frames(Frame(Opcode.TEXT, b"y" * 1001))
    async with asyncio.timeout(5):
        await conn.wait_closed()
    assert await conn.receive_texts() == ["ok"]  # what arrived before is still delivered
    assert await conn.receive_texts() == []
    assert [c.code for c in peer.close_frames()] == [CloseCode.MESSAGE_TOO_BIG]
    assert conn.close_code == 1006  # as websockets: our failure, no close frame read back


async def test_invalid_utf8_closes_1007(fake: FakeServer) -> None:
    conn = await WsConnection.open(fake.url, open_timeout_s=5, close_timeout_s=2)
    peer = await fake.next_peer()
    peer.send_frames(Frame(Opcode.TEXT, b"\xff\xfe"), Frame(Opcode.TEXT, b"after"))
    async with asyncio.timeout(5):
        await conn.wait_closed()
    assert await conn.receive_texts() == []
    assert [c.code for c in peer.close_frames()] == [CloseCode.INVALID_DATA]


async def test_slow_consumer_pauses_reading_then_resumes(fake: FakeServer) -> None:
    conn = await WsConnection.open(fake.url, open_timeout_s=5, max_queue=10)
    peer = await fake.next_peer()
    peer.send_frames(*(Frame(Opcode.TEXT, f"t{i}".encode()) for i in range(10)))
    await wait_until(lambda: conn.reading_paused)
    peer.send_frames(*(Frame(Opcode.TEXT, f"t{i}".encode()) for i in range(10, 30)))
    await asyncio.sleep(0.1)
    assert conn.take_texts() == [f"t{i}" for i in range(10)]  # nothing more read while paused
    assert not conn.reading_paused
    assert await receive_n(conn, 20) == [f"t{i}" for i in range(10, 30)]
    await conn.close()


async def test_relay_client_slow_reader_pauses_socket_and_loses_nothing() -> None:
    n = 1500
    limits = RelayLimits(max_messages_per_topic=n, max_unacked_per_connection=n)
    async with (
        RelayServer(limits=limits) as server,
        fast_client(server.url) as a,
        fast_client(server.url, max_inbound=5) as b,
    ):
        await b.subscribe(T1, timeout_s=5)
        acks = [a.publish_nowait(T1, f"p{i}", 300, 1) for i in range(n)]
        await a.flush()
        async with asyncio.timeout(20):
            await asyncio.gather(*acks)
        await wait_until(lambda: b._ws is not None and b._ws.reading_paused, 10)
        got: list[str] = []
        async with asyncio.timeout(20):
            while len(got) < n:
                got.append((await b.next_message()).message)
        assert got == [f"p{i}" for i in range(n)]
        assert b._ws is not None
        assert not b._ws.reading_paused


# -- pings -------------------------------------------------------------------------------------


async def test_server_ping_is_answered_and_our_keepalive_gets_pongs(fake: FakeServer) -> None:
    conn = await WsConnection.open(
        fake.url, open_timeout_s=5, ping_interval_s=0.05, ping_timeout_s=1
    )
    peer = await fake.next_peer()
    peer.proto.send_ping(b"srv1")
    peer.flush()
    await wait_until(lambda: any(f.opcode is Opcode.PONG for f in peer.frames))
    assert [bytes(f.data) for f in peer.frames if f.opcode is Opcode.PONG] == [b"srv1"]
    await wait_until(lambda: sum(f.opcode is Opcode.PING for f in peer.frames) >= 3)
    assert conn.is_open
    assert conn.latency_s is not None
    assert conn.latency_s < 1
    await conn.close()


async def test_missing_pong_fails_connection(fake: FakeServer) -> None:
    fake.on_connect.append(lambda peer: setattr(peer, "answer_pings", False))
    conn = await WsConnection.open(
        fake.url, open_timeout_s=5, ping_interval_s=0.05, ping_timeout_s=0.1
    )
    async with asyncio.timeout(3):
        await conn.wait_closed()
    assert conn.close_code == 1006
    assert await conn.receive_texts() == []
    with pytest.raises(WsClosedError):
        conn.send_texts(["late"])


async def test_relay_client_reconnects_after_missing_pong(fake: FakeServer) -> None:
    fake.on_connect.append(lambda peer: setattr(peer, "answer_pings", False))
    client = fast_client(fake.url, ping_interval_s=0.05, ping_timeout_s=0.1)
    await client.start()
    try:
        await wait_until(lambda: client.connect_count >= 3, 10)
        assert client.last_close_code == 1006
        assert not client.halted
    finally:
        await client.close()


# -- close codes -------------------------------------------------------------------------------


async def test_server_close_code_and_reason_are_reported(fake: FakeServer) -> None:
    conn = await WsConnection.open(fake.url, open_timeout_s=5)
    peer = await fake.next_peer()
    peer.proto.send_close(3000, "InvalidJwt")
    peer.flush()
    async with asyncio.timeout(5):
        await conn.wait_closed()
    assert (conn.close_code, conn.close_reason) == (3000, "InvalidJwt")
    await wait_until(lambda: bool(peer.close_frames()))
    assert [c.code for c in peer.close_frames()] == [3000]  # echoed


async def test_relay_client_halts_on_3000_from_any_server(fake: FakeServer) -> None:
    def reject(peer: FakePeer) -> None:
        peer.proto.send_close(3000, "InvalidJwt")
        peer.flush()

    fake.on_connect.append(reject)
    client = fast_client(fake.url)
    await client.start()
    try:
        await wait_until(lambda: client.halted)
        assert client.last_close_code == 3000
        await asyncio.sleep(0.4)
        assert len(fake.attempts) == 1
    finally:
        await client.close()


async def test_close_is_clean_and_relay_client_close_sends_1000(fake: FakeServer) -> None:
    client = fast_client(fake.url)
    await client.start()
    await client.wait_connected(5)
    peer = await fake.next_peer()
    async with asyncio.timeout(5):
        await client.close()
        await peer.closed.wait()
    assert [c.code for c in peer.close_frames()] == [1000]
    assert not client.connected


# -- opening -----------------------------------------------------------------------------------


async def test_refused_handshake_raises_invalid_status() -> None:
    async with FakeServer(status=403) as server:
        with pytest.raises(InvalidStatus) as info:
            await WsConnection.open(server.url, open_timeout_s=5)
        assert info.value.response.status_code == 403


async def test_relay_client_retries_refused_handshake_with_backoff() -> None:
    async with FakeServer(status=403) as server:
        client = RelayClient(
            server.url, backoff_initial_s=0.05, backoff_max_s=0.2, open_timeout_s=5
        )
        await client.start()
        try:
            await wait_until(lambda: len(server.attempts) >= 4)
            gaps = [b - a for a, b in zip(server.attempts, server.attempts[1:], strict=False)]
            assert all(gap >= 0.02 for gap in gaps)  # backoff, not a storm
            assert not client.connected
            server.status = 101
            await client.wait_connected(5)
            assert client.connect_count == 1
        finally:
            await client.close()


async def test_open_errors() -> None:
    with pytest.raises(InvalidURI):
        await WsConnection.open("http://127.0.0.1/", open_timeout_s=1)
    probe = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = probe.sockets[0].getsockname()[1]
    probe.close()
    await probe.wait_closed()
    with pytest.raises(ConnectionRefusedError):
        await WsConnection.open(f"ws://127.0.0.1:{port}/", open_timeout_s=2)


async def test_silent_server_times_out_and_is_dropped() -> None:
    readers: list[asyncio.StreamReader] = []
    writers: list[asyncio.StreamWriter] = []

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        readers.append(reader)
        writers.append(writer)

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    try:
        port = server.sockets[0].getsockname()[1]
        with pytest.raises(TimeoutError):
            await WsConnection.open(f"ws://127.0.0.1:{port}/", open_timeout_s=0.3)
        async with asyncio.timeout(2):
            request = await readers[
                0
            ].read()  # the upgrade request, then EOF: the socket was dropped
        assert request.startswith(b"GET / HTTP/1.1\r\n")
        assert b"Upgrade: websocket" in request
    finally:
        for writer in writers:
            writer.close()
        server.close()
        await server.wait_closed()


# -- TLS ---------------------------------------------------------------------------------------


def _self_signed(tmp: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


async def test_wss_round_trip_and_close(tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert, key)
    client_ctx = ssl.create_default_context(cafile=str(cert))
    async with FakeServer(ssl_context=server_ctx) as server:
        with pytest.raises(ssl.SSLError):  # the default context does not trust our private cert
            await WsConnection.open(server.url, open_timeout_s=5)
        conn = await WsConnection.open(server.url, open_timeout_s=5, ssl_context=client_ctx)
        peer = await server.next_peer()
        conn.send_texts(["over tls", "twice"])
        peer.send_frames(Frame(Opcode.TEXT, b"back"))
        assert await receive_n(conn, 1) == ["back"]
        await wait_until(lambda: len(peer.frames) >= 2)
        assert [bytes(f.data) for f in peer.frames] == [b"over tls", b"twice"]
        async with asyncio.timeout(5):
            await conn.close()
        assert conn.state is State.CLOSED
        assert conn.close_code == 1000


def fast_client(url: str, **kwargs: Any) -> RelayClient:
    return RelayClient(url, backoff_initial_s=0.05, backoff_max_s=0.2, open_timeout_s=5, **kwargs)
