"""WalletConnect client state in Redis (redis-py asyncio), for replicas sharing state; does I/O.

Implements :class:`walletconnect.storage.WalletConnectStore`: one Redis hash per namespace,
``<prefix>:<namespace>`` with fields ``<kind>|<key>`` holding the JSON text of
:func:`walletconnect.storage.encode_value`. ``apply`` runs as one MULTI/EXEC transaction (atomic
and ordered); redis-py errors become :class:`StoreError`.
"""

from __future__ import annotations

from collections.abc import Sequence

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from walletconnect.storage import (
    Delete,
    RecordKind,
    StoreChange,
    StoredValue,
    StoreError,
    StoreSnapshot,
    coalesce_changes,
    decode_value,
    encode_value,
    snapshot_from_rows,
)

__all__ = ["DEFAULT_PREFIX", "RedisWalletConnectStore"]

DEFAULT_PREFIX = "wcproxy:wc"


class RedisWalletConnectStore:
    """A WalletConnectStore on Redis; ``namespace`` separates clients sharing a server."""

    def __init__(
        self, client: aioredis.Redis, namespace: str = "default", *, prefix: str = DEFAULT_PREFIX
    ) -> None:
        self._client = client
        self.namespace = namespace
        self._key = f"{prefix}:{namespace}"

    @classmethod
    def from_url(
        cls, url: str, namespace: str = "default", *, prefix: str = DEFAULT_PREFIX
    ) -> RedisWalletConnectStore:
        """A store on a new client for ``url`` (``redis://host:port/db``)."""
        return cls(aioredis.Redis.from_url(url, decode_responses=True), namespace, prefix=prefix)

    async def load(self) -> StoreSnapshot:
        """Everything in this namespace."""
        try:
            raw = await self._client.hgetall(self._key)
        except RedisError as exc:
            raise StoreError(f"redis: {exc}") from exc
        rows: list[tuple[str, str, str]] = []
        for field, value in raw.items():
            kind, _, key = _text(field).partition("|")
            rows.append((kind, key, _text(value)))
        return snapshot_from_rows(rows)

    async def apply(self, changes: Sequence[StoreChange]) -> None:
        """All changes in one MULTI/EXEC (encoded before it starts)."""
        if not changes:
            return
        ops: list[tuple[str, str | None]] = []
        for change in coalesce_changes(changes):
            field = f"{change.kind}|{change.key}"
            if isinstance(change, Delete):
                ops.append((field, None))
            else:
                ops.append((field, encode_value(change.kind, change.value)))
        try:
            async with self._client.pipeline(transaction=True) as pipe:
                for field, text in ops:
                    if text is None:
                        pipe.hdel(self._key, field)
                    else:
                        pipe.hset(self._key, field, text)
                await pipe.execute()
        except RedisError as exc:
            raise StoreError(f"redis: {exc}") from exc

    async def get(self, kind: RecordKind, key: str) -> StoredValue | None:
        """One value or None."""
        try:
            text = await self._client.hget(self._key, f"{kind}|{key}")
        except RedisError as exc:
            raise StoreError(f"redis: {exc}") from exc
        return None if text is None else decode_value(kind, _text(text))

    async def close(self) -> None:
        """Close the client connection pool."""
        await self._client.aclose()


def _text(value: str | bytes) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else value
