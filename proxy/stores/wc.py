"""Open the WalletConnect protocol store (keys, pairings, sessions, history) named by a store URL (I/O)."""

from __future__ import annotations

from walletconnect.memory_store import MemoryStore
from walletconnect.storage import WalletConnectStore

__all__ = ["open_wc_store"]


async def open_wc_store(
    url: str, *, key_prefix: str = "wcproxy:", namespace: str = "default"
) -> WalletConnectStore:
    """``sqlite:PATH`` (the same file as the replay store, its own table), ``redis://…`` or ``memory:``.

    Replicas that share a store share one namespace, hence one relay client identity and the same
    sessions: each of them receives every request and the replay claim decides who answers.
    """
    if url.startswith("sqlite:"):
        from proxy.stores.wc_sqlite import SqliteWalletConnectStore

        return await SqliteWalletConnectStore.open(url.removeprefix("sqlite:"), namespace)
    if url.startswith(("redis://", "rediss://")):
        from proxy.stores.wc_redis import RedisWalletConnectStore

        return RedisWalletConnectStore.from_url(
            url, namespace, prefix=key_prefix.rstrip(":") + ":wc"
        )
    if url == "memory:":
        return MemoryStore()
    raise ValueError(f"unsupported store URL {url!r}")
