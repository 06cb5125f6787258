"""Store adapters (I/O): the replay store on SQLite or Redis, and :func:`open_replay_store` to pick one by URL.

The replay store also keeps revocations, the emergency freeze and session bindings (checked in
the claim's atomic step); :func:`watch_events` follows its revoke / freeze / unfreeze events on
any backend (Redis pub/sub, SQLite and memory by polling). Protocol-session stores
(``wc_sqlite.py`` / ``wc_redis.py``) live beside these modules.
"""

from __future__ import annotations

import asyncio

from policy.errors import StoreUnavailableError
from policy.interfaces import ReplayStore
from policy.memory import MemoryReplayStore
from proxy.stores.watch import watch_events

__all__ = ["open_replay_store", "sqlite_path", "store_problem", "watch_events"]

#: How long a health probe waits for the store.
HEALTH_TIMEOUT_S = 2.0


def sqlite_path(url: str) -> str:
    """The file an ``sqlite:PATH`` or ``sqlite:///PATH`` store URL names.

    Raises:
        StoreUnavailableError: the URL has no path.
    """
    rest = url.partition(":")[2]
    path = rest[2:] if rest.startswith("///") else rest
    if not path:
        raise StoreUnavailableError("sqlite store URL needs a path: sqlite:PATH")
    return path


async def open_replay_store(url: str) -> ReplayStore:
    """Open the replay store named by ``url``; close it with ``await store.close()``.

    * ``sqlite:PATH`` (or ``sqlite:///PATH``): embedded file, the default; safe for several
      processes on one host sharing the file;
    * ``redis://...`` / ``rediss://...`` / ``unix://...``: shared by replicas on several hosts;
      an optional ``#prefix=...`` fragment sets the key prefix;
    * ``memory:``: in-process only (tests, demos) — forgets everything on exit.

    Raises:
        StoreUnavailableError: unknown scheme, or the backend cannot be reached / opened.
    """
    scheme = url.partition(":")[0].lower()
    if scheme == "memory":
        return MemoryReplayStore()
    if scheme == "sqlite":
        from proxy.stores.replay_sqlite import SqliteReplayStore

        return await SqliteReplayStore.open(sqlite_path(url))
    if scheme in {"redis", "rediss", "unix"}:
        from proxy.stores.replay_redis import DEFAULT_PREFIX, RedisReplayStore

        base, _hash, fragment = url.partition("#")
        prefix = (
            fragment.removeprefix("prefix=") if fragment.startswith("prefix=") else DEFAULT_PREFIX
        )
        return await RedisReplayStore.open(base, prefix=prefix)
    raise StoreUnavailableError(
        f"unknown replay store URL scheme {scheme!r} (sqlite:, redis://, memory:)"
    )


async def store_problem(store: ReplayStore, timeout_s: float = HEALTH_TIMEOUT_S) -> str | None:
    """Why the store cannot serve claims right now (None when a cheap read succeeds in time).

    A store that refuses everything (e.g. SQLite after a failed fsync, Redis unreachable) makes the
    daemon deny every request; health says so instead of only the logs.
    """
    try:
        await asyncio.wait_for(store.frozen(), timeout_s)
    except StoreUnavailableError as exc:
        return str(exc)
    except TimeoutError:
        return f"no answer within {timeout_s:g}s"
    return None
