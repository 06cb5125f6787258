"""What a WalletConnect client must keep across restarts, and the store Protocol; pure, no I/O.

The Sign engines never touch a store. They record every state change as a :data:`StoreChange`
(``Put`` / ``Delete`` of one record) and can restore from a :class:`StoreSnapshot`. The asyncio
clients persist those changes through a :class:`WalletConnectStore` *before* sending anything
that depends on them (persist, then publish), so a killed client never answers a request twice.

Kinds of records (:class:`RecordKind`) and their keys:

========================  ==========================  ==========================================
kind                      key                         value
========================  ==========================  ==========================================
``client_seed``           ``client_ed25519_seed``     32-byte Ed25519 seed (relay identity)
``sym_key``               topic                       32-byte ChaCha20-Poly1305 key
``private_key``           X25519 public key (hex)     32-byte X25519 private key
``pairing``               topic                       :class:`PairingRecord`
``session``               topic                       :class:`SessionRecord`
``proposal``              proposal id (decimal)       :class:`ProposalRecord`
``history``               ``topic:id``                :class:`HistoryRecord` (incl. our answers)
``pending_request``       ``topic:id``                :class:`PendingRequest`
========================  ==========================  ==========================================

The store API is **async** (SQLite runs in a worker thread, Redis is natively async); each backend
persists values as the JSON text produced by :func:`encode_value`. Backends live outside this
package (``proxy/stores``); :mod:`walletconnect.memory_store` is the in-memory reference.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from walletconnect.engine.records import (
    HistoryRecord,
    PairingRecord,
    PendingRequest,
    ProposalRecord,
    RecordError,
    SessionRecord,
)
from walletconnect.errors import WalletConnectError

__all__ = [
    "CLIENT_SEED_KEY",
    "Delete",
    "Put",
    "RecordKind",
    "StoreChange",
    "StoreError",
    "StoreSnapshot",
    "StoredValue",
    "WalletConnectStore",
    "apply_changes",
    "coalesce_changes",
    "decode_value",
    "encode_value",
    "snapshot_from_rows",
]


class StoreError(WalletConnectError):
    """A store backend failed (I/O, connection, corrupt data); backends raise only this."""


CLIENT_SEED_KEY = "client_ed25519_seed"
"""The one key of kind ``client_seed`` (the SDK keychain's name for it)."""


class RecordKind(StrEnum):
    """The kinds of records a client keeps."""

    CLIENT_SEED = "client_seed"
    SYM_KEY = "sym_key"
    PRIVATE_KEY = "private_key"
    PAIRING = "pairing"
    SESSION = "session"
    PROPOSAL = "proposal"
    HISTORY = "history"
    PENDING_REQUEST = "pending_request"


StoredValue = (
    bytes | PairingRecord | SessionRecord | ProposalRecord | HistoryRecord | PendingRequest
)
"""Anything a store holds: raw key bytes or one record."""

_RECORD_TYPES: dict[RecordKind, type[Any]] = {
    RecordKind.PAIRING: PairingRecord,
    RecordKind.SESSION: SessionRecord,
    RecordKind.PROPOSAL: ProposalRecord,
    RecordKind.HISTORY: HistoryRecord,
    RecordKind.PENDING_REQUEST: PendingRequest,
}
_BYTES_KINDS = frozenset({RecordKind.CLIENT_SEED, RecordKind.SYM_KEY, RecordKind.PRIVATE_KEY})
MAX_VALUE_CHARS = 4 * 1024 * 1024
"""Refuse to decode stored values larger than this (a store is trusted, but bounded anyway)."""


@dataclass(frozen=True, slots=True)
class Put:
    """Create or replace the record ``(kind, key)``."""

    kind: RecordKind
    key: str
    value: StoredValue


@dataclass(frozen=True, slots=True)
class Delete:
    """Remove the record ``(kind, key)`` (no error if absent)."""

    kind: RecordKind
    key: str


StoreChange = Put | Delete
"""One state change, in the order the engine made it."""


@dataclass(slots=True)
class StoreSnapshot:
    """Everything a client keeps, as plain records (what ``load`` returns, what engines restore)."""

    client_seed: bytes | None = None
    sym_keys: dict[str, bytes] = field(default_factory=dict)
    private_keys: dict[str, bytes] = field(default_factory=dict)
    pairings: dict[str, PairingRecord] = field(default_factory=dict)
    sessions: dict[str, SessionRecord] = field(default_factory=dict)
    proposals: dict[int, ProposalRecord] = field(default_factory=dict)
    history: dict[str, HistoryRecord] = field(default_factory=dict)
    pending_requests: dict[str, PendingRequest] = field(default_factory=dict)


def encode_value(kind: RecordKind, value: StoredValue) -> str:
    """The JSON text a backend stores for ``value`` (bytes as hex, records via ``to_dict``)."""
    if kind in _BYTES_KINDS:
        if not isinstance(value, bytes):
            raise TypeError(f"{kind} holds bytes, got {type(value).__name__}")
        return json.dumps(value.hex())
    expected = _RECORD_TYPES[kind]
    if not isinstance(value, expected):
        raise TypeError(f"{kind} holds {expected.__name__}, got {type(value).__name__}")
    return json.dumps(value.to_dict(), separators=(",", ":"), sort_keys=True)


def decode_value(kind: RecordKind, text: str) -> StoredValue:
    """Inverse of :func:`encode_value`; raises :class:`RecordError` on corrupt data."""
    if len(text) > MAX_VALUE_CHARS:
        raise RecordError(f"{kind}: stored value too large")
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise RecordError(f"{kind}: not JSON") from exc
    if kind in _BYTES_KINDS:
        if not isinstance(data, str):
            raise RecordError(f"{kind}: expected hex")
        try:
            return bytes.fromhex(data)
        except ValueError as exc:
            raise RecordError(f"{kind}: bad hex") from exc
    result: StoredValue = _RECORD_TYPES[kind].from_dict(data)
    return result


def coalesce_changes(changes: Iterable[StoreChange]) -> list[StoreChange]:
    """The last change per record, for a backend that applies ``changes`` in one transaction.

    A record put and then deleted (or put twice) in one batch is written once; the result
    leaves the store in the same state as applying every change in order.
    """
    last: dict[tuple[RecordKind, str], StoreChange] = {}
    for change in changes:
        key = (change.kind, change.key)
        last.pop(key, None)  # keep the order of each record's last change
        last[key] = change
    return list(last.values())


def apply_changes(snapshot: StoreSnapshot, changes: Iterable[StoreChange]) -> None:
    """Apply ``changes`` in order to ``snapshot`` in place."""
    for change in changes:
        _apply_one(snapshot, change)


def _target(snapshot: StoreSnapshot, kind: RecordKind) -> dict[Any, Any]:
    targets: dict[RecordKind, dict[Any, Any]] = {
        RecordKind.SYM_KEY: snapshot.sym_keys,
        RecordKind.PRIVATE_KEY: snapshot.private_keys,
        RecordKind.PAIRING: snapshot.pairings,
        RecordKind.SESSION: snapshot.sessions,
        RecordKind.PROPOSAL: snapshot.proposals,
        RecordKind.HISTORY: snapshot.history,
        RecordKind.PENDING_REQUEST: snapshot.pending_requests,
    }
    return targets[kind]


def _apply_one(snapshot: StoreSnapshot, change: StoreChange) -> None:
    if change.kind is RecordKind.CLIENT_SEED:
        snapshot.client_seed = change.value if isinstance(change, Put) else None  # type: ignore[assignment]
        return
    target = _target(snapshot, change.kind)
    key: Any = int(change.key) if change.kind is RecordKind.PROPOSAL else change.key
    if isinstance(change, Put):
        target[key] = change.value
    else:
        target.pop(key, None)


def snapshot_from_rows(rows: Iterable[tuple[str, str, str]]) -> StoreSnapshot:
    """Build a snapshot from stored ``(kind, key, json_text)`` rows (what backends keep).

    Rows of an unknown kind are skipped (a newer writer); corrupt rows raise :class:`RecordError`.
    """
    snapshot = StoreSnapshot()
    for kind_text, key, text in rows:
        try:
            kind = RecordKind(kind_text)
        except ValueError:
            continue
        _apply_one(snapshot, Put(kind, key, decode_value(kind, text)))
    return snapshot


@runtime_checkable
class WalletConnectStore(Protocol):
    """Durable home of a client's keys and records (see the module docstring for the kinds).

    Contract (``tests/walletconnect/storage_contract.py`` checks every backend):

    * ``apply`` is atomic: after it returns, all of ``changes`` are durable, in order; if it
      raises, none is. Durable means it survives the process being killed; a backend may leave
      request bookkeeping alone (only ``history`` / ``pending_request`` records) to be synced to
      the disk with its next other write, so a power cut may forget the last moments of it.
      Concurrent ``apply`` calls are serialised. A value of the wrong type raises ``TypeError``
      before anything is written; backend failures raise StoreError.
    * ``load`` returns everything stored under this store's namespace, as fresh objects.
    * ``get`` returns one value or None.
    * Different namespaces in the same backend never see each other's records.
    """

    async def load(self) -> StoreSnapshot:
        """Everything stored, as a snapshot."""
        ...

    async def apply(self, changes: Sequence[StoreChange]) -> None:
        """Persist ``changes`` atomically and in order."""
        ...

    async def get(self, kind: RecordKind, key: str) -> StoredValue | None:
        """One value, or None when absent."""
        ...

    async def close(self) -> None:
        """Release connections / threads; the store is unusable afterwards."""
        ...
