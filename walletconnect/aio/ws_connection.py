"""WsConnection: a thin asyncio WebSocket client transport around websockets' sans-I/O protocol; does I/O.

Why not ``websockets.asyncio``: its connection writes (and drains) every frame separately and runs an
assembler with a future per inbound frame. Here every batch of outbound text frames is serialised
and handed to the transport in ONE ``transport.write``, and inbound frames are parsed in
``data_received`` and handed to the consumer in batches (one wake-up per read, not per frame).

Usage::

    conn = await WsConnection.open("wss://relay.example/?auth=...", open_timeout_s=15)
    conn.send_texts(["frame 1", "frame 2"])   # one write
    await conn.drain()                        # waits only while the transport is paused
    async for texts in conn:                  # lists of complete text messages, until closed
        ...
    await conn.close(1000)
    conn.close_code, conn.close_reason        # as websockets: 1006 when no close frame arrived

Behaviour (what ``websockets.asyncio.client.connect`` did for the relay client):

* ``open`` resolves, connects (TLS for ``wss://`` with :func:`ssl.create_default_context` and SNI),
  sends the upgrade request and waits for the 101, all within ``open_timeout_s``. It raises
  :class:`OSError` (DNS, refused, reset, TLS), :class:`TimeoutError`,
  :class:`websockets.exceptions.InvalidURI` or :class:`websockets.exceptions.InvalidHandshake`
  (HTTP status other than 101, bad upgrade headers, garbage, EOF during the handshake). No
  compression, no subprotocols, no HTTP proxy.
* Inbound: text messages (fragmented TEXT + CONT frames assembled by size, checked against
  ``max_size`` by the protocol, which fails the connection with 1009 when exceeded) are queued
  as ``str``; binary messages are dropped; invalid UTF-8 fails the connection with 1007. Pongs and
  close echoes the protocol produces are written at once. When ``max_queue`` messages wait for
  the consumer, reading is paused until the consumer takes them.
* Keepalive: a ping every ``ping_interval_s`` (timer callbacks, no task); no matching pong within
  ``ping_timeout_s`` fails the connection with 1011 and drops the socket.
* Flow control: the transport's write buffer limits are ``write_limit`` (high) and a quarter of it
  (low); :meth:`drain` waits while writing is paused.
* Closing: :meth:`close` sends a close frame and waits up to ``close_timeout_s`` for the server to
  end the TCP connection, then aborts it. After any close, queued texts can still be taken and
  :meth:`receive_texts` then returns ``[]``.
"""

from __future__ import annotations

import asyncio
import os
import ssl
from collections.abc import AsyncIterator, Sequence
from typing import cast

from websockets.client import ClientProtocol
from websockets.exceptions import InvalidState
from websockets.frames import CloseCode, Frame, Opcode
from websockets.http11 import USER_AGENT, Request, Response
from websockets.protocol import State
from websockets.uri import parse_uri

__all__ = ["WsClosedError", "WsConnection"]

_OPEN = State.OPEN
_CLOSED = State.CLOSED
_TEXT = Opcode.TEXT
_CONT = Opcode.CONT
_BINARY = Opcode.BINARY
_PONG = Opcode.PONG


class WsClosedError(ConnectionError):
    """Raised by :meth:`WsConnection.send_texts` when the connection is not open."""


class WsConnection(asyncio.Protocol):
    """One client WebSocket connection (an :class:`asyncio.Protocol`); create it with :meth:`open`."""

    def __init__(
        self,
        protocol: ClientProtocol,
        *,
        ping_interval_s: float | None,
        ping_timeout_s: float | None,
        close_timeout_s: float,
        max_queue: int,
        write_limit: int,
        user_agent: str | None,
    ) -> None:
        self._protocol = protocol
        self._ping_interval_s = ping_interval_s
        self._ping_timeout_s = ping_timeout_s
        self._close_timeout_s = close_timeout_s
        self._max_queue = max_queue
        self._write_limit = write_limit
        self._user_agent = user_agent
        self._loop = asyncio.get_running_loop()
        self._transport: asyncio.Transport | None = None
        self._handshake: asyncio.Future[None] = self._loop.create_future()
        self._closed: asyncio.Future[None] = self._loop.create_future()
        self._texts: list[str] = []
        self._text_waiter: asyncio.Future[None] | None = None
        self._reading_paused = False
        self._writing_paused = False
        self._drain_waiters: list[asyncio.Future[None]] = []
        self._fragments: list[bytes] | None = None  # parts of a fragmented text message
        self._skipping_binary = False  # inside a fragmented binary message
        self._ping_payload: bytes | None = None
        self._ping_sent_at = 0.0
        self._ping_handle: asyncio.TimerHandle | None = None
        self._pong_deadline: asyncio.TimerHandle | None = None
        self._abort_handle: asyncio.TimerHandle | None = None
        self.latency_s: float | None = None
        """Round-trip time of the last answered keepalive ping."""

    # -- opening --------------------------------------------------------------------------------

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        open_timeout_s: float | None = 10.0,
        max_size: int | None = 1024 * 1024,
        ping_interval_s: float | None = 20.0,
        ping_timeout_s: float | None = 20.0,
        close_timeout_s: float = 10.0,
        max_queue: int = 256,
        write_limit: int = 64 * 1024,
        ssl_context: ssl.SSLContext | None = None,
        user_agent: str | None = USER_AGENT,
    ) -> WsConnection:
        """Connect to ``url`` (``ws://`` or ``wss://``) and complete the opening handshake.

        ``ssl_context`` overrides the default TLS context for ``wss://`` (tests use a private CA).
        Raises :class:`OSError`, :class:`TimeoutError`, ``InvalidURI`` or ``InvalidHandshake``.
        """
        uri = parse_uri(url)
        loop = asyncio.get_running_loop()
        protocol = ClientProtocol(uri, max_size=max_size)
        conn: WsConnection | None = None

        def factory() -> WsConnection:
            nonlocal conn
            conn = cls(
                protocol,
                ping_interval_s=ping_interval_s,
                ping_timeout_s=ping_timeout_s,
                close_timeout_s=close_timeout_s,
                max_queue=max_queue,
                write_limit=write_limit,
                user_agent=user_agent,
            )
            return conn

        tls: ssl.SSLContext | None = None
        if uri.secure:
            tls = ssl_context if ssl_context is not None else ssl.create_default_context()
        try:
            async with asyncio.timeout(open_timeout_s):
                await loop.create_connection(
                    factory,
                    uri.host,
                    uri.port,
                    ssl=tls,
                    server_hostname=uri.host if tls is not None else None,
                )
                assert conn is not None
                await asyncio.shield(conn._handshake)
        except BaseException:
            if conn is not None:
                conn._abort()
            raise
        conn._start_keepalive()
        return conn

    # -- public API -----------------------------------------------------------------------------

    @property
    def state(self) -> State:
        """The protocol state (CONNECTING, OPEN, CLOSING, CLOSED)."""
        return self._protocol.state

    @property
    def is_open(self) -> bool:
        """Whether texts may be sent."""
        return self._protocol.state is _OPEN

    @property
    def close_code(self) -> int | None:
        """The peer's close code once closed (1006 without a close frame); None while open."""
        return self._protocol.close_code

    @property
    def close_reason(self) -> str | None:
        """The peer's close reason once closed ("" without a close frame); None while open."""
        return self._protocol.close_reason

    @property
    def reading_paused(self) -> bool:
        """Whether reading is paused because ``max_queue`` messages wait for the consumer."""
        return self._reading_paused

    @property
    def writing_paused(self) -> bool:
        """Whether the transport's write buffer is above its high-water mark."""
        return self._writing_paused

    def send_texts(self, texts: Sequence[str]) -> None:
        """Send each text as one TEXT frame, all in a single ``transport.write``.

        Raises :class:`WsClosedError` when the connection is not open. Does not wait; call
        :meth:`drain` to respect flow control.
        """
        protocol = self._protocol
        if protocol.state is not _OPEN:
            raise WsClosedError(f"websocket is {protocol.state.name.lower()}")
        for text in texts:
            protocol.send_text(text.encode())
        self._write_out()

    async def drain(self) -> None:
        """Wait while writing is paused (returns at once otherwise, or once the connection is lost)."""
        if not self._writing_paused or self._closed.done():
            return
        waiter = self._loop.create_future()
        self._drain_waiters.append(waiter)
        try:
            await waiter
        finally:
            self._drain_waiters.remove(waiter)

    def take_texts(self) -> list[str]:
        """Every text message received and not yet taken (possibly none), without waiting."""
        texts = self._texts
        if not texts:
            return []
        self._texts = []
        if self._reading_paused and self._transport is not None:
            self._reading_paused = False
            self._transport.resume_reading()
        return texts

    async def receive_texts(self) -> list[str]:
        """Wait for text messages and take them all; ``[]`` once closed and every text was taken.

        One consumer at a time (a second concurrent caller is not woken).
        """
        while not self._texts:
            if self._closed.done():
                return []
            waiter = self._loop.create_future()
            self._text_waiter = waiter
            try:
                await waiter
            finally:
                self._text_waiter = None
        return self.take_texts()

    async def __aiter__(self) -> AsyncIterator[list[str]]:
        """Batches of text messages (each non-empty) until the connection is closed."""
        while texts := await self.receive_texts():
            yield texts

    async def close(self, code: int = CloseCode.NORMAL_CLOSURE, reason: str = "") -> None:
        """Start the closing handshake (if open) and wait until the TCP connection is gone.

        After ``close_timeout_s`` without the server ending the connection, the socket is aborted.
        """
        if self._protocol.state is _OPEN:
            self._protocol.send_close(code, reason)
            self._write_out()
        if self._transport is not None and not self._closed.done():
            self._arm_abort()
        await self.wait_closed()

    async def wait_closed(self) -> None:
        """Wait until the TCP connection is closed."""
        await asyncio.shield(self._closed)

    def abort(self) -> None:
        """Drop the TCP connection at once (no closing handshake)."""
        self._abort()

    # -- asyncio.Protocol callbacks -------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport = cast(asyncio.Transport, transport)
        self._transport = transport
        transport.set_write_buffer_limits(self._write_limit, self._write_limit // 4)
        request = self._protocol.connect()
        if self._user_agent is not None:
            request.headers["User-Agent"] = self._user_agent
        self._protocol.send_request(request)
        self._write_out()

    def data_received(self, data: bytes) -> None:
        protocol = self._protocol
        protocol.receive_data(data)
        events = protocol.events_received()
        self._write_out()  # pongs, close echoes, EOF after a failed handshake
        if not self._handshake.done():
            self._check_handshake()
        if events:
            self._process(events)
        if protocol.close_expected():
            self._arm_abort()

    def eof_received(self) -> bool | None:
        self._protocol.receive_eof()
        events = self._protocol.events_received()
        self._write_out()
        if not self._handshake.done():
            self._check_handshake()
        if events:
            self._process(events)
        return None  # let the transport close itself

    def connection_lost(self, exc: Exception | None) -> None:
        self._protocol.receive_eof()  # idempotent; guarantees state CLOSED
        self._transport = None
        for handle in (self._ping_handle, self._pong_deadline, self._abort_handle):
            if handle is not None:
                handle.cancel()
        self._ping_handle = self._pong_deadline = self._abort_handle = None
        if not self._handshake.done():
            failure = self._protocol.handshake_exc
            if failure is None:
                failure = ConnectionResetError("connection lost during the opening handshake")
            self._handshake.set_exception(failure)
            self._handshake.exception()  # retrieved by open(); avoid "never retrieved" noise
        if not self._closed.done():
            self._closed.set_result(None)
        self._wake_reader()
        for waiter in self._drain_waiters:
            if not waiter.done():
                waiter.set_result(None)

    def pause_writing(self) -> None:
        self._writing_paused = True

    def resume_writing(self) -> None:
        self._writing_paused = False
        for waiter in self._drain_waiters:
            if not waiter.done():
                waiter.set_result(None)

    # -- internals ------------------------------------------------------------------------------

    def _write_out(self) -> None:
        """Write what the protocol queued: one ``write`` for the bytes, then EOF if asked."""
        chunks = self._protocol.data_to_send()
        transport = self._transport
        if not chunks or transport is None:
            return
        eof = False
        if not chunks[-1]:  # SEND_EOF only ever comes last
            chunks.pop()
            eof = True
        if chunks:
            transport.write(chunks[0] if len(chunks) == 1 else b"".join(chunks))
        if eof:
            if transport.can_write_eof():
                try:
                    transport.write_eof()
                except Exception:  # noqa: BLE001 - uvloop may raise RuntimeError; the socket is going anyway
                    transport.close()
            else:
                transport.close()

    def _check_handshake(self) -> None:
        protocol = self._protocol
        if protocol.handshake_exc is not None:
            self._handshake.set_exception(protocol.handshake_exc)
            self._handshake.exception()
            self._arm_abort()
        elif protocol.state is not State.CONNECTING:
            self._handshake.set_result(None)

    def _process(self, events: list[Request | Response | Frame]) -> None:
        texts = self._texts
        before = len(texts)
        for frame in events:
            if not isinstance(frame, Frame):
                continue  # the handshake response
            opcode = frame.opcode
            if opcode is _TEXT:
                if frame.fin:
                    if not self._add_text(texts, frame.data):
                        break
                else:
                    self._fragments = [bytes(frame.data)]
            elif opcode is _CONT:
                if self._skipping_binary:
                    self._skipping_binary = not frame.fin
                elif self._fragments is not None:
                    self._fragments.append(bytes(frame.data))
                    if frame.fin:
                        whole = b"".join(self._fragments)
                        self._fragments = None
                        if not self._add_text(texts, whole):
                            break
            elif opcode is _BINARY:
                self._skipping_binary = not frame.fin
            elif opcode is _PONG:
                self._pong_received(bytes(frame.data))
        if len(texts) > before:
            self._wake_reader()
            if (
                len(texts) >= self._max_queue
                and not self._reading_paused
                and self._transport is not None
            ):
                self._reading_paused = True
                self._transport.pause_reading()

    def _add_text(self, texts: list[str], data: bytes | bytearray | memoryview) -> bool:
        try:
            texts.append(str(data, "utf-8"))
        except UnicodeDecodeError as exc:
            self._fail(CloseCode.INVALID_DATA, f"{exc.reason} at position {exc.start}")
            return False
        return True

    def _wake_reader(self) -> None:
        waiter = self._text_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _fail(self, code: int, reason: str) -> None:
        """Fail the connection: close frame (if open), then expect the server to hang up."""
        if self._protocol.state is _CLOSED:
            return
        self._protocol.fail(code, reason)
        self._write_out()
        self._arm_abort()

    def _arm_abort(self) -> None:
        if self._abort_handle is None and self._transport is not None:
            self._abort_handle = self._loop.call_later(self._close_timeout_s, self._abort)

    def _abort(self) -> None:
        if self._transport is not None:
            self._transport.abort()

    # -- keepalive ------------------------------------------------------------------------------

    def _start_keepalive(self) -> None:
        if self._ping_interval_s is not None and self._transport is not None:
            self._ping_handle = self._loop.call_later(self._ping_interval_s, self._send_ping)

    def _send_ping(self) -> None:
        self._ping_handle = None
        if self._protocol.state is not _OPEN or self._transport is None:
            return
        payload = os.urandom(4)
        self._ping_payload = payload
        self._ping_sent_at = self._loop.time()
        try:
            self._protocol.send_ping(payload)
        except InvalidState:  # pragma: no cover - checked above
            return
        self._write_out()
        if self._ping_timeout_s is not None:
            self._pong_deadline = self._loop.call_later(self._ping_timeout_s, self._pong_missing)
        else:
            self._start_keepalive()

    def _pong_received(self, data: bytes) -> None:
        if self._ping_payload is None or data != self._ping_payload:
            return  # unsolicited pong
        self._ping_payload = None
        latency = self._loop.time() - self._ping_sent_at
        self.latency_s = latency
        if self._pong_deadline is not None:
            self._pong_deadline.cancel()
            self._pong_deadline = None
            if self._ping_interval_s is not None and self._transport is not None:
                delay = max(self._ping_interval_s - latency, 0.0)
                self._ping_handle = self._loop.call_later(delay, self._send_ping)

    def _pong_missing(self) -> None:
        self._pong_deadline = None
        self._fail(CloseCode.INTERNAL_ERROR, "keepalive ping timeout")
        # The peer is unresponsive: hang up ourselves once the close frame is out (the abort
        # timer armed by _fail covers a write buffer that never drains).
        if self._transport is not None:
            self._transport.close()
