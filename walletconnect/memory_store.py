"""In-memory :class:`~walletconnect.storage.WalletConnectStore` (tests, ``--store memory``); no I/O.

Values are kept as the same JSON text the durable backends store, so the codec is exercised and
callers never share mutable records with the store.
"""

from __future__ import annotations

from collections.abc import Sequence

from walletconnect.storage import (
    Delete,
    RecordKind,
    StoreChange,
    StoredValue,
    StoreSnapshot,
    decode_value,
    encode_value,
    snapshot_from_rows,
)

__all__ = ["MemoryStore"]


class MemoryStore:
    """A dict of ``(namespace, kind, key) -> json text``; shareable between store objects."""

    def __init__(
        self,
        namespace: str = "default",
        *,
        backing: dict[tuple[str, str, str], str] | None = None,
    ) -> None:
        self._namespace = namespace
        self._data: dict[tuple[str, str, str], str] = {} if backing is None else backing
        self._closed = False

    @property
    def backing(self) -> dict[tuple[str, str, str], str]:
        """The underlying dict (pass it to another MemoryStore to simulate a restart)."""
        return self._data

    def _check(self) -> None:
        if self._closed:
            raise RuntimeError("store is closed")

    async def load(self) -> StoreSnapshot:
        """Everything in this namespace."""
        self._check()
        rows = [(k, key, v) for (ns, k, key), v in self._data.items() if ns == self._namespace]
        return snapshot_from_rows(rows)

    async def apply(self, changes: Sequence[StoreChange]) -> None:
        """Apply all changes or none (encoding happens before any write)."""
        self._check()
        staged: list[tuple[tuple[str, str, str], str | None]] = []
        for change in changes:
            slot = (self._namespace, str(change.kind), change.key)
            if isinstance(change, Delete):
                staged.append((slot, None))
            else:
                staged.append((slot, encode_value(change.kind, change.value)))
        for slot, text in staged:
            if text is None:
                self._data.pop(slot, None)
            else:
                self._data[slot] = text

    async def get(self, kind: RecordKind, key: str) -> StoredValue | None:
        """One value or None."""
        self._check()
        text = self._data.get((self._namespace, str(kind), key))
        return None if text is None else decode_value(kind, text)

    async def close(self) -> None:
        """Mark closed (data stays in ``backing``)."""
        self._closed = True
