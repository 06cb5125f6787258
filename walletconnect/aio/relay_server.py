"""RelayServer: a local WalletConnect relay, a websockets asyncio server around RelayServerProtocol; does I/O.

Usage (tests, demo, bench)::

    async with RelayServer(host="127.0.0.1", port=0) as server:
        url = server.url            # ws://127.0.0.1:PORT

Connections must carry the SDK's relay-auth JWT in the ``auth`` query parameter (verified with
:func:`walletconnect.relay_auth.verify_jwt`; any ``projectId`` is accepted, ``aud`` is not checked
because clients may name this host differently). A missing or invalid JWT closes the socket with
code 3000 (reason ``MissingJwt`` / ``InvalidJwt``), which the SDK treats as "do not auto-reconnect".
``require_auth=False`` admits anonymous clients (a valid JWT still names the client).
The server pings every ``ping_interval_s`` (20 s; the Node SDK drops sockets idle for 35 s).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import IO, Any
from urllib.parse import parse_qs, urlsplit

import structlog
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from walletconnect.errors import RelayAuthError
from walletconnect.relay.frames import DEFAULT_LIMITS, RelayLimits
from walletconnect.relay.server import ConnId, FrameLogRecord, RelayServerProtocol
from walletconnect.relay_auth import verify_jwt

__all__ = ["AUTH_CLOSE_CODE", "RelayServer"]

log = structlog.get_logger(__name__)

AUTH_CLOSE_CODE = 3000
"""WebSocket close code for auth failures (the SDK does not auto-reconnect after it)."""

_TRY_AGAIN_LATER = 1013  # slow reader or too many connections


class _Peer:
    __slots__ = ("conn", "outbox", "writer")

    def __init__(self, conn: ServerConnection, max_queue: int) -> None:
        self.conn = conn
        self.outbox: asyncio.Queue[str] = asyncio.Queue(max_queue)
        self.writer: asyncio.Task[None] | None = None


class RelayServer:
    """Local relay server. ``start()`` / ``stop()`` or ``async with``; ``url`` once started.

    ``frame_log`` appends every frame as a JSON line to a file; ``on_frame`` receives each
    :class:`~walletconnect.relay.server.FrameLogRecord` (tests). Memory is bounded by ``limits``
    (see :class:`~walletconnect.relay.frames.RelayLimits`), ``max_connections`` sockets (more are
    closed with 1013) and ``max_outbox`` queued frames per socket (a slower reader is closed, 1013).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        require_auth: bool = True,
        limits: RelayLimits = DEFAULT_LIMITS,
        ping_interval_s: float | None = 20.0,
        ping_timeout_s: float | None = 20.0,
        frame_log: str | Path | None = None,
        on_frame: Callable[[FrameLogRecord], None] | None = None,
        max_outbox: int = 10_000,
        max_connections: int = 1_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.host = host
        self.port = port
        self.require_auth = require_auth
        self.limits = limits
        self.ping_interval_s = ping_interval_s
        self.ping_timeout_s = ping_timeout_s
        self.frame_log_path = Path(frame_log) if frame_log is not None else None
        self.max_outbox = max_outbox
        self.max_connections = max_connections
        self._clock = clock
        self._log_file: IO[str] | None = None
        self._on_frame = on_frame
        self.protocol = RelayServerProtocol(limits=limits, frame_log=self._write_frame_log)
        self._server: Server | None = None
        self._peers: dict[ConnId, _Peer] = {}
        self._ids = itertools.count(1)
        self._timer: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[None]] = set()
        self.connections_accepted = 0
        self.auth_rejections = 0

    # -- lifecycle ------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """``ws://HOST:PORT`` of the listening socket (after :meth:`start`)."""
        if self._server is None:
            raise RuntimeError("RelayServer is not started")
        sockname = next(iter(self._server.sockets)).getsockname()
        host = f"[{sockname[0]}]" if ":" in sockname[0] else sockname[0]
        return f"ws://{host}:{sockname[1]}"

    async def start(self) -> None:
        """Listen; returns once the socket is bound."""
        if self.frame_log_path is not None:
            self._log_file = self.frame_log_path.open("a", encoding="utf-8")
        self._server = await serve(
            self._handle,
            self.host,
            self.port,
            ping_interval=self.ping_interval_s,
            ping_timeout=self.ping_timeout_s,
            max_size=self.limits.max_frame_bytes,
            compression=None,
        )
        self._timer = asyncio.create_task(self._run_timer(), name="relay-server-timer")
        log.info("relay_listening", url=self.url, auth=self.require_auth)

    async def stop(self) -> None:
        """Close every connection (1001) and stop listening."""
        if self._timer is not None:
            self._timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._timer
            self._timer = None
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    async def __aenter__(self) -> RelayServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def drop_connections(self, *, abort: bool = True, code: int = 1001) -> int:
        """Cut every client connection (tests: ``abort`` = TCP reset, else a close frame); returns how many."""
        peers = list(self._peers.values())
        for peer in peers:
            if abort:
                peer.conn.transport.abort()
            else:
                await peer.conn.close(code, "going away")
        return len(peers)

    # -- connections ----------------------------------------------------------------------------

    def _authenticate(self, conn: ServerConnection) -> tuple[str | None, str | None]:
        """(client_id, rejection tag); rejection is None when the connection may proceed."""
        path = conn.request.path if conn.request is not None else ""
        tokens = parse_qs(urlsplit(path).query).get("auth", [])
        if not tokens:
            return None, ("MissingJwt" if self.require_auth else None)
        try:
            claims = verify_jwt(tokens[0], now=int(self._clock()))
        except RelayAuthError as exc:
            log.warning("relay_auth_rejected", reason=str(exc), required=self.require_auth)
            return None, ("InvalidJwt" if self.require_auth else None)
        return claims.client_id, None

    async def _handle(self, conn: ServerConnection) -> None:
        client_id, rejection = self._authenticate(conn)
        if rejection is not None:
            self.auth_rejections += 1
            await conn.close(AUTH_CLOSE_CODE, rejection)
            return
        if len(self._peers) >= self.max_connections:
            log.warning("relay_connection_limit", limit=self.max_connections)
            await conn.close(_TRY_AGAIN_LATER, "too many connections")
            return
        conn_id = next(self._ids)
        self.connections_accepted += 1
        peer = _Peer(conn, self.max_outbox)
        peer.writer = asyncio.create_task(self._write(peer), name=f"relay-writer-{conn_id}")
        self._peers[conn_id] = peer
        self.protocol.connect(conn_id, client_id, self._clock())
        log.debug("relay_client_connected", conn=conn_id, client_id=client_id)
        try:
            async for message in conn:
                if isinstance(message, bytes):
                    await conn.close(1003, "text frames only")
                    break
                self.protocol.receive_frame(conn_id, message, self._clock())
                self._flush()
        except ConnectionClosed:
            pass
        finally:
            self.protocol.disconnect(conn_id)
            self._peers.pop(conn_id, None)
            peer.writer.cancel()
            log.debug("relay_client_disconnected", conn=conn_id, code=conn.close_code)

    async def _write(self, peer: _Peer) -> None:
        with contextlib.suppress(ConnectionClosed):
            while True:
                await peer.conn.send(await peer.outbox.get())

    def _flush(self) -> None:
        for conn_id, text in self.protocol.frames_to_send():
            peer = self._peers.get(conn_id)
            if peer is None:
                continue
            try:
                peer.outbox.put_nowait(text)
            except asyncio.QueueFull:
                log.warning("relay_slow_consumer", conn=conn_id)
                task = asyncio.create_task(peer.conn.close(_TRY_AGAIN_LATER, "slow consumer"))
                self._background.add(task)
                task.add_done_callback(self._background.discard)

    async def _run_timer(self) -> None:
        while True:
            deadline = self.protocol.next_deadline()
            delay = 1.0 if deadline is None else min(max(deadline - self._clock(), 0.0), 1.0)
            await asyncio.sleep(delay)
            self.protocol.expire(self._clock())
            self._flush()

    def _write_frame_log(self, record: FrameLogRecord) -> None:
        if self._on_frame is not None:
            self._on_frame(record)
        if self._log_file is None:
            return
        entry: dict[str, Any] = {
            "at_ms": int(record.at * 1000),
            "conn": record.conn_id,
            "client_id": record.client_id,
            "dir": record.direction,
            "frame": record.frame,
        }
        self._log_file.write(json.dumps(entry) + "\n")
        self._log_file.flush()
