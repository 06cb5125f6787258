"""RelayClient: a websockets connection to a WalletConnect relay driving RelayClientProtocol; does I/O.

* One supervisor task keeps a connection open: each attempt signs a fresh relay-auth JWT
  (``aud`` = the relay base URL, ``sub`` = a per-client random hex, as the SDK), reconnects after
  any loss with exponential backoff and jitter (capped), and on every (re)connect the protocol
  re-subscribes every topic and re-sends un-acknowledged requests with their original ids.
* Close code 3000 (auth) stops reconnecting until the application next calls a command.
* Transport: :class:`~walletconnect.aio.ws_connection.WsConnection` (websockets' sans-I/O
  protocol on an asyncio transport): every flush writes all queued frames in one
  ``transport.write`` and awaits drain only while the transport is paused; inbound frames
  arrive in batches (one protocol pass and one flush of acks per batch).
* Liveness: the connection answers the relay's pings and sends its own every
  ``ping_interval_s``; a missing pong closes the socket, which triggers a reconnect.
* Inbound messages go to ``on_message`` (if given) or to a bounded queue read with
  :meth:`RelayClient.messages`; a full queue stops reading the socket (backpressure; acks of
  already-read pushes are sent before waiting).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import random
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from types import TracebackType
from typing import Any

import structlog
from websockets.exceptions import InvalidHandshake, InvalidURI

from walletconnect.aio.ws_connection import WsClosedError, WsConnection
from walletconnect.errors import ConnectionClosed, RelayError, Timeout
from walletconnect.relay.client import (
    MessageReceived,
    RelayClientProtocol,
    RequestAcknowledged,
    RequestFailed,
    RequestTimedOut,
)
from walletconnect.relay.frames import DEFAULT_LIMITS, SESSION_COMPOSITE_TTL_S, RelayLimits
from walletconnect.relay_auth import ClientIdentity, relay_url

__all__ = ["AUTH_CLOSE_CODE", "DEFAULT_UA", "MessageHandler", "RelayClient"]

log = structlog.get_logger(__name__)

AUTH_CLOSE_CODE = 3000
DEFAULT_UA = "wc-2/py-wcproxy-0.1.0/python/server"

MessageHandler = Callable[[MessageReceived], Awaitable[None] | None]

_CLOSED = object()

#: How long a closing handshake may take before the socket is dropped (close() and server closes).
CLOSE_TIMEOUT_S = 2.0


class RelayClient:
    """Async relay client; use ``async with RelayClient(url, identity=...) as client:``."""

    def __init__(
        self,
        url: str,
        *,
        identity: ClientIdentity | None = None,
        project_id: str | None = None,
        ua: str | None = DEFAULT_UA,
        on_message: MessageHandler | None = None,
        limits: RelayLimits = DEFAULT_LIMITS,
        request_timeout_s: float = 60.0,
        open_timeout_s: float = 15.0,
        ping_interval_s: float | None = 20.0,
        ping_timeout_s: float | None = 20.0,
        backoff_initial_s: float = 0.1,
        backoff_max_s: float = 30.0,
        max_inbound: int = 1_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.base_url = url
        self.identity = identity if identity is not None else ClientIdentity.generate()
        self.project_id = project_id
        self.ua = ua
        self.on_message = on_message
        self.open_timeout_s = open_timeout_s
        self.ping_interval_s = ping_interval_s
        self.ping_timeout_s = ping_timeout_s
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self.limits = limits
        self._clock = clock
        self._jwt_sub = secrets.token_hex(32)
        self.protocol = RelayClientProtocol(
            self.identity.client_id, limits=limits, request_timeout_s=request_timeout_s
        )
        self._inbound: asyncio.Queue[Any] = asyncio.Queue(max_inbound)
        self._waiters: dict[int, asyncio.Future[Any]] = {}
        self._ws: WsConnection | None = None
        self._connected = asyncio.Event()
        self._resume = asyncio.Event()
        self._wakeup = asyncio.Event()
        self._halted = False
        self._closing = False
        self._tasks: list[asyncio.Task[None]] = []
        self.connect_count = 0
        self.last_close_code: int | None = None

    # -- lifecycle ------------------------------------------------------------------------------

    @property
    def client_id(self) -> str:
        """Our did:key (stable for a given identity seed)."""
        return self.identity.client_id

    @property
    def connected(self) -> bool:
        """Whether a socket is open right now."""
        return self._connected.is_set()

    @property
    def halted(self) -> bool:
        """True after a close with code 3000, until the next command."""
        return self._halted

    async def start(self) -> None:
        """Start the connection supervisor and timer (returns at once; see :meth:`wait_connected`)."""
        if self._tasks:
            return
        self._tasks = [
            asyncio.create_task(self._supervise(), name="relay-client"),
            asyncio.create_task(self._run_timer(), name="relay-client-timer"),
        ]

    async def wait_connected(self, timeout_s: float | None = None) -> None:
        """Wait until a connection is open; raises :class:`Timeout`."""
        try:
            await asyncio.wait_for(self._connected.wait(), timeout_s)
        except TimeoutError as exc:
            raise Timeout(f"no relay connection to {self.base_url} within {timeout_s}s") from exc

    async def close(self) -> None:
        """Close the socket, stop the tasks, fail pending calls with :class:`ConnectionClosed`."""
        if self._closing:
            return
        self._closing = True
        ws = self._ws
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        self._ws = None
        if ws is not None:
            await ws.close()
        self._connected.clear()
        for fut in self._waiters.values():
            if not fut.done():
                fut.set_exception(ConnectionClosed("relay client closed"))
        self._waiters.clear()
        while not self._inbound.empty():
            self._inbound.get_nowait()
        self._inbound.put_nowait(_CLOSED)

    async def __aenter__(self) -> RelayClient:
        await self.start()
        try:
            await self.wait_connected(self.open_timeout_s)
        except Timeout:
            await self.close()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- commands -------------------------------------------------------------------------------

    async def subscribe(self, topic: str, *, timeout_s: float | None = None) -> Any:
        """Subscribe to ``topic``; returns the relay's result (a subscription id)."""
        return await self._call(lambda now: self.protocol.subscribe(topic, now=now), timeout_s)

    async def unsubscribe(self, topic: str, *, timeout_s: float | None = None) -> None:
        """Unsubscribe from ``topic`` and forget it (no resubscription)."""
        await self._call(lambda now: self.protocol.unsubscribe(topic, now=now), timeout_s)

    async def publish(
        self,
        topic: str,
        message: str,
        ttl: int,
        tag: int,
        prompt: bool = False,
        *,
        timeout_s: float | None = None,
        attestation: str | None = None,
        **extra: Any,
    ) -> None:
        """Publish ``message`` and wait for the relay's ack (:class:`RelayError` / :class:`Timeout`)."""
        await self._call(
            lambda now: self.protocol.publish(
                topic, message, ttl, tag, prompt, now=now, attestation=attestation, **extra
            ),
            timeout_s,
        )

    def publish_nowait(
        self,
        topic: str,
        message: str,
        ttl: int,
        tag: int,
        prompt: bool = False,
        *,
        attestation: str | None = None,
        **extra: Any,
    ) -> asyncio.Future[Any]:
        """Queue a publish without waiting for its ack; returns the ack's future.

        The frame goes out, in order with every other request, at the next :meth:`flush`;
        the future fails with :class:`RelayError`, :class:`Timeout` (the protocol's request
        timeout) or :class:`ConnectionClosed`. This is how a busy client keeps many publishes in
        flight instead of paying one relay round trip each.
        """
        return self._submit(
            lambda now: self.protocol.publish(
                topic, message, ttl, tag, prompt, now=now, attestation=attestation, **extra
            )
        )

    async def flush(self) -> None:
        """Write every queued frame to the socket (no-op while disconnected)."""
        await self._flush()

    async def propose_session(
        self,
        pairing_topic: str,
        session_proposal: str,
        *,
        timeout_s: float | None = None,
        attestation: str | None = None,
        ttl: int = SESSION_COMPOSITE_TTL_S,
        correlation_id: Any = None,
        **extra: Any,
    ) -> None:
        """``wc_proposeSession`` (dApp role)."""
        await self._call(
            lambda now: self.protocol.propose_session(
                pairing_topic,
                session_proposal,
                now=now,
                attestation=attestation,
                ttl=ttl,
                correlation_id=correlation_id,
                **extra,
            ),
            timeout_s,
        )

    async def approve_session(
        self,
        session_topic: str,
        pairing_topic: str,
        session_proposal_response: str,
        session_settlement_request: str,
        *,
        timeout_s: float | None = None,
        ttl: int = SESSION_COMPOSITE_TTL_S,
        correlation_id: Any = None,
        **extra: Any,
    ) -> None:
        """``wc_approveSession`` (wallet role)."""
        await self._call(
            lambda now: self.protocol.approve_session(
                session_topic,
                pairing_topic,
                session_proposal_response,
                session_settlement_request,
                now=now,
                ttl=ttl,
                correlation_id=correlation_id,
                **extra,
            ),
            timeout_s,
        )

    async def messages(self) -> AsyncIterator[MessageReceived]:
        """Inbound messages in arrival order (unused when ``on_message`` is set); ends on close."""
        while True:
            item = await self._inbound.get()
            if item is _CLOSED:
                self._inbound.put_nowait(_CLOSED)
                return
            yield item

    def take_messages_nowait(self, limit: int = 256) -> list[MessageReceived]:
        """Inbound messages already queued (at most ``limit``), without waiting.

        Lets a reader handle a burst as one batch (one store flush) instead of one by one.
        """
        taken: list[MessageReceived] = []
        while len(taken) < limit and not self._inbound.empty():
            item = self._inbound.get_nowait()
            if item is _CLOSED:
                self._inbound.put_nowait(_CLOSED)
                break
            taken.append(item)
        return taken

    async def next_message(self, timeout_s: float | None = None) -> MessageReceived:
        """The next inbound message; raises :class:`Timeout` or :class:`ConnectionClosed`."""
        try:
            item = await asyncio.wait_for(self._inbound.get(), timeout_s)
        except TimeoutError as exc:
            raise Timeout(f"no relay message within {timeout_s}s") from exc
        if item is _CLOSED:
            self._inbound.put_nowait(_CLOSED)
            raise ConnectionClosed("relay client closed")
        assert isinstance(item, MessageReceived)
        return item

    def _submit(self, command: Callable[[float], int]) -> asyncio.Future[Any]:
        """Queue a request frame (in call order) and return the future of its answer."""
        if self._closing:
            raise ConnectionClosed("relay client closed")
        if self._halted:
            self._halted = False
            self._resume.set()
        ident = command(self._clock())
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiters[ident] = fut
        fut.add_done_callback(lambda done: self._forget(ident, done))
        self._wakeup.set()
        return fut

    def _forget(self, ident: int, fut: asyncio.Future[Any]) -> None:
        if self._waiters.get(ident) is fut:
            del self._waiters[ident]

    async def _call(self, command: Callable[[float], int], timeout_s: float | None) -> Any:
        fut = self._submit(command)
        await self._flush()
        try:
            return await asyncio.wait_for(asyncio.shield(fut), timeout_s)
        except TimeoutError as exc:
            raise Timeout(f"relay request not acknowledged within {timeout_s}s") from exc
        finally:
            if not fut.done():
                fut.cancel()

    # -- connection supervisor -----------------------------------------------------------------

    def _stopping(self) -> bool:
        return self._closing

    def _backoff(self, failures: int) -> float:
        ceiling = min(self.backoff_max_s, self.backoff_initial_s * 2 ** max(failures - 1, 0))
        return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not crypto

    def _connect_url(self) -> str:
        jwt = self.identity.sign_jwt(aud=self.base_url, iat=int(self._clock()), sub=self._jwt_sub)
        return relay_url(self.base_url, auth=jwt, project_id=self.project_id, ua=self.ua)

    async def _supervise(self) -> None:
        failures = 0
        while not self._closing:
            if self._halted:
                log.warning("relay_halted_after_auth_close", url=self.base_url)
                self._resume.clear()
                await self._resume.wait()
            try:
                ws = await WsConnection.open(
                    self._connect_url(),
                    open_timeout_s=self.open_timeout_s,
                    ping_interval_s=self.ping_interval_s,
                    ping_timeout_s=self.ping_timeout_s,
                    max_size=self.limits.max_frame_bytes,
                    close_timeout_s=CLOSE_TIMEOUT_S,
                )
            except (OSError, TimeoutError, InvalidHandshake, InvalidURI) as exc:
                failures += 1
                delay = self._backoff(failures)
                log.info(
                    "relay_connect_failed", error=type(exc).__name__, retry_in_s=round(delay, 3)
                )
                await asyncio.sleep(delay)
                continue
            failures = 0
            await self._serve(ws)
            if self._stopping():
                return
            self.last_close_code = ws.close_code
            if ws.close_code == AUTH_CLOSE_CODE:
                log.warning("relay_auth_closed", reason=ws.close_reason)
                self._halted = True
                continue
            delay = self._backoff(1)
            log.info(
                "relay_disconnected",
                code=ws.close_code,
                reason=ws.close_reason,
                retry_in_s=round(delay, 3),
            )
            await asyncio.sleep(delay)

    async def _serve(self, ws: WsConnection) -> None:
        self._ws = ws
        self.connect_count += 1
        self.protocol.connection_made(self._clock())
        self._connected.set()
        log.debug("relay_connected", url=self.base_url, attempt=self.connect_count)
        try:
            await self._flush()
            receive_frame = self.protocol.receive_frame
            while texts := await ws.receive_texts():
                now = self._clock()
                for text in texts:
                    receive_frame(text, now)
                await self._flush()
                await self._dispatch()
        finally:
            self._connected.clear()
            self._ws = None
            self.protocol.connection_lost()
            if ws.is_open and not self._closing:
                ws.abort()  # left by an error in a handler (close() closes it cleanly itself)

    async def _flush(self) -> None:
        frames = self.protocol.frames_to_send()
        ws = self._ws
        if ws is None or not frames:
            return
        try:
            ws.send_texts(frames)
        except WsClosedError:
            return
        if ws.writing_paused:
            await ws.drain()

    async def _dispatch(self) -> None:
        for event in self.protocol.events_received():
            if isinstance(event, MessageReceived):
                if self.on_message is not None:
                    result = self.on_message(event)
                    if inspect.isawaitable(result):
                        await result
                elif self._inbound.full():
                    await self._inbound.put(event)
                else:
                    self._inbound.put_nowait(event)
                continue
            fut = self._waiters.pop(event.id, None)
            if fut is None or fut.done():
                continue
            if isinstance(event, RequestAcknowledged):
                fut.set_result(event.result)
            elif isinstance(event, RequestFailed):
                fut.set_exception(
                    RelayError(event.error.message, code=event.error.code, data=event.error.data)
                )
            elif isinstance(event, RequestTimedOut):
                fut.set_exception(Timeout(f"relay request {event.id} ({event.method}) timed out"))

    async def _run_timer(self) -> None:
        while True:
            deadline = self.protocol.next_deadline()
            delay = None if deadline is None else max(deadline - self._clock(), 0.0)
            self._wakeup.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), delay)
            self.protocol.expire(self._clock())
            await self._dispatch()
