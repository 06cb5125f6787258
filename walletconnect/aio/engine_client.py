"""EngineClient: the asyncio driver shared by WalletClient and DappClient; does I/O (relay, store).

It owns one :class:`~walletconnect.aio.relay_client.RelayClient` and one store and runs three
tasks around a sans-I/O engine:

* reader: relay messages -> ``engine.receive_message`` -> flush (a burst of queued messages is
  received as one batch, so it costs one store write);
* timer: sleeps until ``engine.next_deadline()`` -> ``engine.expire(now)`` -> flush;
* sender: executes relay commands in order. Publishes are pipelined: each frame is written in
  order and its relay ack awaited in the background (at most ``MAX_PUBLISHES_IN_FLIGHT``), so
  a busy client is not throttled to one relay round trip per answer; other commands wait for
  their ack before the next command runs.

A *flush* takes the engine's pending store changes, outgoing messages and events together (one
synchronous step), persists the changes, then queues the messages and dispatches the events. So
nothing leaves before the state it depends on is durable: a killed client never answers twice.
Flushes are serialised, and a flush waiting behind another one takes everything the engine
produced meanwhile: concurrent answers share one store transaction (group commit), and the
engine is never locked while the store writes.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from types import TracebackType
from typing import Any, Self

import structlog

from walletconnect.aio.relay_client import RelayClient
from walletconnect.engine.commands import (
    ApproveSession,
    ProposeSession,
    Publish,
    Subscribe,
    Unsubscribe,
)
from walletconnect.engine.core import EngineCore
from walletconnect.engine.events import EngineEvent, ResponseReceived
from walletconnect.errors import ConnectionClosed, Timeout, WalletConnectError
from walletconnect.memory_store import MemoryStore
from walletconnect.relay_auth import ClientIdentity
from walletconnect.storage import WalletConnectStore

__all__ = ["EngineClient", "ResponseError"]

log = structlog.get_logger(__name__)

_STOP: Any = object()

#: Publishes whose relay ack is still awaited, per client, before the sender waits.
MAX_PUBLISHES_IN_FLIGHT = 512
#: Inbound messages received into the engine before one flush.
MAX_READ_BATCH = 256


class ResponseError(WalletConnectError):
    """The peer answered our request with a JSON-RPC error (``code``, ``message``, ``data``)."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(f"peer error {code}: {message}")
        self.code = code
        self.message = message
        self.data = data


class EngineClient:
    """Base driver: relay + store + engine tasks. Use ``async with`` or ``start()`` / ``close()``."""

    engine: EngineCore

    def __init__(
        self,
        engine: EngineCore,
        relay_url: str,
        *,
        store: WalletConnectStore | None = None,
        project_id: str | None = None,
        clock: Callable[[], float] = time.time,
        relay_options: dict[str, Any] | None = None,
    ) -> None:
        self.engine = engine
        self.relay_url = relay_url
        self.store: WalletConnectStore = store if store is not None else MemoryStore()
        self.project_id = project_id
        self.clock = clock
        self._relay_options = dict(relay_options or {})
        self.relay: RelayClient | None = None
        self._lock = asyncio.Lock()
        self._flush_lock = asyncio.Lock()
        self._publishes = asyncio.Semaphore(MAX_PUBLISHES_IN_FLIGHT)
        self._commands: asyncio.Queue[Any] = asyncio.Queue()
        self._events: asyncio.Queue[EngineEvent] = asyncio.Queue()
        self._waiters: dict[tuple[str, int], asyncio.Future[ResponseReceived]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._background: set[asyncio.Task[Any]] = set()
        self._wakeup = asyncio.Event()
        self._closed = False

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Restore from the store, connect, resubscribe every known topic, start the tasks."""
        snapshot = await self.store.load()
        self.engine.restore(snapshot)
        seed = self.engine.client_seed  # created (and queued for persistence) on first start
        await self.store.apply(self.engine.changes_to_persist())
        self.relay = RelayClient(
            self.relay_url,
            identity=ClientIdentity.from_seed(seed),
            project_id=self.project_id,
            clock=self.clock,
            **self._relay_options,
        )
        await self.relay.start()
        await self.relay.wait_connected(self.relay.open_timeout_s)
        self.engine.expire(self.clock())
        topics = self.engine.topics()
        if topics:
            await asyncio.gather(*(self.relay.subscribe(t) for t in topics))
        self._tasks = [
            asyncio.create_task(self._read(), name="wc-reader"),
            asyncio.create_task(self._send(), name="wc-sender"),
            asyncio.create_task(self._timer(), name="wc-timer"),
        ]
        await self.flush()
        await self._resume()

    async def _resume(self) -> None:
        """Hook for roles: re-dispatch work restored from the store."""

    async def close(self) -> None:
        """Stop the tasks and the relay connection, persist what is left, close the store."""
        if self._closed:
            return
        self._closed = True
        tasks = [*self._tasks, *self._background]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=5.0)
        with contextlib.suppress(Exception):
            await self.store.apply(self.engine.changes_to_persist())
        if self.relay is not None:
            await self.relay.close()
        for fut in self._waiters.values():
            if not fut.done():
                fut.set_exception(ConnectionClosed("client closed"))
        await self.store.close()
        self._events.put_nowait(_STOP)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # ------------------------------------------------------------------ events

    async def events(self) -> AsyncIterator[EngineEvent]:
        """Every engine event, in order, until the client closes."""
        while True:
            event = await self._events.get()
            if event is _STOP:
                self._events.put_nowait(_STOP)
                return
            yield event

    async def next_event(
        self, kind: type[Any] | tuple[type[Any], ...] = object, timeout_s: float = 30.0
    ) -> Any:
        """The next event of ``kind`` (others are skipped); raises :class:`Timeout`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            remaining = deadline - loop.time()
            try:
                event = await asyncio.wait_for(self._events.get(), max(remaining, 0))
            except TimeoutError as exc:
                raise Timeout(f"no {kind} event within {timeout_s}s") from exc
            if event is _STOP:
                self._events.put_nowait(_STOP)
                raise ConnectionClosed("client closed")
            if isinstance(event, kind):
                return event

    # ------------------------------------------------------------------ plumbing

    async def flush(self) -> None:
        """Persist engine changes, then queue its commands and dispatch its events."""
        async with self._flush_lock:
            # One synchronous step: the messages taken are exactly those whose changes are taken.
            changes = self.engine.changes_to_persist()
            commands = self.engine.messages_to_send()
            events = self.engine.events_received()
            if changes:
                await self.store.apply(changes)
            for cmd in commands:
                self._commands.put_nowait(cmd)
        self._wakeup.set()
        for event in events:
            self._on_event(event)

    def _on_event(self, event: EngineEvent) -> None:
        if isinstance(event, ResponseReceived):
            fut = self._waiters.pop((event.topic, event.id), None)
            if fut is not None and not fut.done():
                fut.set_result(event)
        self._events.put_nowait(event)
        self.handle_event(event)

    def handle_event(self, event: EngineEvent) -> None:
        """Hook for roles (e.g. call the application's callbacks)."""

    def spawn(self, coro: Any) -> None:
        """Run ``coro`` in the background, tied to this client's lifetime."""
        task = asyncio.create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def expect_response(self, topic: str, rpc_id: int) -> asyncio.Future[ResponseReceived]:
        """A future resolved when the peer answers ``rpc_id`` on ``topic``."""
        fut: asyncio.Future[ResponseReceived] = asyncio.get_running_loop().create_future()
        self._waiters[(topic, rpc_id)] = fut
        return fut

    async def wait_response(
        self, fut: asyncio.Future[ResponseReceived], timeout_s: float | None
    ) -> Any:
        """The result of a response future; raises ResponseError / Timeout."""
        try:
            resp = await asyncio.wait_for(fut, timeout_s)
        except TimeoutError as exc:
            raise Timeout(f"no response within {timeout_s}s") from exc
        if resp.error is not None:
            code = resp.error.get("code")
            message = resp.error.get("message")
            raise ResponseError(
                code if isinstance(code, int) else 0,
                message if isinstance(message, str) else "",
                resp.error.get("data"),
            )
        return resp.result

    async def _read(self) -> None:
        assert self.relay is not None
        async for first in self.relay.messages():
            batch = [first, *self.relay.take_messages_nowait(MAX_READ_BATCH - 1)]
            now = self.clock()
            async with self._lock:
                for msg in batch:
                    self.engine.receive_message(
                        msg.topic,
                        msg.message,
                        msg.published_at / 1000,
                        now,
                        attestation=msg.attestation,
                    )
            await self.flush()

    async def _timer(self) -> None:
        while not self._closed:
            deadline = self.engine.next_deadline()
            delay = None if deadline is None else max(deadline - self.clock(), 0.0) + 0.01
            self._wakeup.clear()
            # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancellation
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._wakeup.wait()
            async with self._lock:
                self.engine.expire(self.clock())
            await self.flush()

    async def _send(self) -> None:
        while True:
            batch = [await self._commands.get()]
            while len(batch) < MAX_READ_BATCH and not self._commands.empty():
                batch.append(self._commands.get_nowait())
            for cmd in batch:
                if isinstance(cmd, Publish):
                    await self._publish(cmd)
                    continue
                try:
                    await self._execute(cmd)
                except WalletConnectError as exc:  # relay refusal, timeout, closed, pending limit
                    log.warning(
                        "wc.relay_command_failed", command=type(cmd).__name__, error=str(exc)
                    )
                finally:
                    self._commands.task_done()
            # The frames of the batch's publishes, in order (a command's own call flushed earlier ones).
            if self.relay is not None:
                await self.relay.flush()

    async def _publish(self, cmd: Publish) -> None:
        """Queue one publish frame; its ack is awaited in the background (bounded in number)."""
        relay = self.relay
        assert relay is not None
        if self._publishes.locked():
            await relay.flush()  # the acks we wait for may be of frames not written yet
        await self._publishes.acquire()
        extra: dict[str, Any] = dict(cmd.tvf)
        if cmd.correlation_id is not None:
            extra["correlationId"] = cmd.correlation_id
        try:
            ack = relay.publish_nowait(
                cmd.topic, cmd.message, cmd.ttl_s, cmd.tag, cmd.prompt, **extra
            )
        except WalletConnectError as exc:  # closed, or the relay client's pending limit
            log.warning("wc.relay_command_failed", command="Publish", error=str(exc))
            self._publishes.release()
            self._commands.task_done()
            return
        ack.add_done_callback(self._acked)  # a callback, not a task per publish

    def _acked(self, ack: asyncio.Future[Any]) -> None:
        self._publishes.release()
        self._commands.task_done()
        if ack.cancelled():
            return
        exc = ack.exception()
        if exc is not None:
            log.warning("wc.relay_command_failed", command="Publish", error=str(exc))

    async def _execute(
        self, cmd: Subscribe | Unsubscribe | ProposeSession | ApproveSession
    ) -> None:
        relay = self.relay
        assert relay is not None
        if isinstance(cmd, Subscribe):
            await relay.subscribe(cmd.topic)
        elif isinstance(cmd, Unsubscribe):
            if cmd.topic in relay.protocol.topics:
                await relay.unsubscribe(cmd.topic)
        elif isinstance(cmd, ProposeSession):
            await relay.propose_session(
                cmd.pairing_topic,
                cmd.session_proposal,
                ttl=cmd.ttl_s,
                correlation_id=cmd.correlation_id,
            )
        else:
            assert isinstance(cmd, ApproveSession)
            extra: dict[str, Any] = {
                "approvedChains": list(cmd.approved_chains),
                "approvedMethods": list(cmd.approved_methods),
                "approvedEvents": list(cmd.approved_events),
            }
            if cmd.session_properties is not None:
                extra["sessionProperties"] = cmd.session_properties
            if cmd.scoped_properties is not None:
                extra["scopedProperties"] = cmd.scoped_properties
            await relay.approve_session(
                cmd.session_topic,
                cmd.pairing_topic,
                cmd.session_proposal_response,
                cmd.session_settlement_request,
                ttl=cmd.ttl_s,
                correlation_id=cmd.correlation_id,
                **extra,
            )

    async def drained(self, timeout_s: float = 10.0) -> None:
        """Wait until every queued relay command was executed (tests, graceful shutdown)."""
        try:
            await asyncio.wait_for(self._commands.join(), timeout_s)
        except TimeoutError as exc:
            raise Timeout("relay commands not drained") from exc

    # ------------------------------------------------------------------ shared verbs

    async def ping(self, topic: str, *, timeout_s: float | None = 30.0) -> None:
        """wc_sessionPing / wc_pairingPing and wait for the ``true`` answer."""
        async with self._lock:
            rpc_id = self.engine.ping(topic, self.clock())
            fut = self.expect_response(topic, rpc_id)
        await self.flush()
        await self.wait_response(fut, timeout_s)

    async def extend(self, topic: str, *, timeout_s: float | None = 30.0) -> None:
        """wc_sessionExtend (our expiry moves to now + 7 days) and wait for the ack."""
        async with self._lock:
            rpc_id = self.engine.extend(topic, self.clock())
            fut = self.expect_response(topic, rpc_id)
        await self.flush()
        await self.wait_response(fut, timeout_s)

    async def disconnect(self, topic: str) -> None:
        """wc_sessionDelete / wc_pairingDelete (USER_DISCONNECTED), then forget the topic."""
        async with self._lock:
            self.engine.disconnect(topic, self.clock())
        await self.flush()
