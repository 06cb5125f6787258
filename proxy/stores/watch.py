"""Follow a replay store's event log (revoke / freeze / unfreeze) by polling ``events_since`` (I/O: sleeps).

Used for the in-memory store (which must stay free of asyncio) and for SQLite (another process on
the same file logs its events in the shared table). The Redis store pushes events over pub/sub
instead (``RedisReplayStore.watch``); :func:`watch_events` picks the right way for any store.

Polling is bounded (at most ``MAX_EVENTS`` per read, one read per ``interval_s``) and stops when
the consuming task is cancelled or the generator is closed. A store fault is logged and retried
after ``interval_s``: the watch is an accelerator only — every claim checks the store itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any, Protocol

import structlog

from policy.errors import StoreUnavailableError

__all__ = ["DEFAULT_POLL_S", "EventLog", "poll_events", "watch_events"]

log = structlog.get_logger(__name__)

#: Default polling period (seconds) of :func:`poll_events`.
DEFAULT_POLL_S = 0.2


class EventLog(Protocol):
    """Anything with the replay store's ``events_since`` (every backend has it)."""

    async def events_since(self, cursor: int | None) -> tuple[list[dict[str, Any]], int]:
        """Events after ``cursor`` and the new cursor."""
        ...


async def poll_events(
    store: EventLog, *, cursor: int | None = None, interval_s: float = DEFAULT_POLL_S
) -> AsyncIterator[dict[str, Any]]:
    """Yield the store's events after ``cursor`` (None: from now on), polling every ``interval_s``."""
    if interval_s <= 0:
        raise ValueError("interval_s must be positive")
    while cursor is None:
        try:
            _events, cursor = await store.events_since(None)
        except StoreUnavailableError as exc:
            log.warning("store_watch_error", error=str(exc))
            await asyncio.sleep(interval_s)
    while True:
        try:
            events, cursor = await store.events_since(cursor)
        except StoreUnavailableError as exc:
            log.warning("store_watch_error", error=str(exc))
            events = []
        for event in events:
            yield event
        if not events:
            await asyncio.sleep(interval_s)


def watch_events(
    store: EventLog, *, cursor: int | None = None, interval_s: float = DEFAULT_POLL_S
) -> AsyncIterator[dict[str, Any]]:
    """The store's events as they happen: its own ``watch`` (Redis pub/sub, SQLite poller) if it has
    one, else :func:`poll_events` (the in-memory store)."""
    own = getattr(store, "watch", None)
    if callable(own):
        watched: AsyncIterator[dict[str, Any]] = own(cursor=cursor)
        return watched
    return poll_events(store, cursor=cursor, interval_s=interval_s)
