"""Open the WalletConnect protocol store (keys, pairings, sessions, history) named by a store URL (I/O)."""

from __future__ import annotations

import os

from policy.interfaces import ReplayStore
from proxy.stores import sqlite_path
from walletconnect.memory_store import MemoryStore
from walletconnect.storage import WalletConnectStore

__all__ = ["open_wc_store"]


async def open_wc_store(
    url: str,
    *,
    key_prefix: str = "wcproxy:",
    namespace: str = "default",
    replay_store: ReplayStore | None = None,
) -> WalletConnectStore:
    """``sqlite:PATH`` (the same file as the replay store, its own table), ``redis://…`` or ``memory:``.

    Replicas that share a store share one namespace, hence one relay client identity and the same
    sessions: each of them receives every request and the replay claim decides who answers.
    With ``replay_store`` an SQLite replay store on the same file, both share its connection, so
    engine flushes and replay claims are group-committed together.
    """
    if url.startswith("sqlite:"):
        from proxy.stores.replay_sqlite import SqliteReplayStore
        from proxy.stores.wc_sqlite import SqliteWalletConnectStore

        path = sqlite_path(url)
        shared = (
            replay_store.batcher
            if isinstance(replay_store, SqliteReplayStore) and _same_path(replay_store.path, path)
            else None
        )
        return await SqliteWalletConnectStore.open(path, namespace, batcher=shared)
    if url.startswith(("redis://", "rediss://")):
        from proxy.stores.wc_redis import RedisWalletConnectStore

        return RedisWalletConnectStore.from_url(
            url, namespace, prefix=key_prefix.rstrip(":") + ":wc"
        )
    if url == "memory:":
        return MemoryStore()
    raise ValueError(f"unsupported store URL {url!r}")


def _same_path(a: str, b: str) -> bool:
    """Whether two store paths name the same file (string comparison after making them absolute)."""
    return os.path.abspath(a) == os.path.abspath(b)
