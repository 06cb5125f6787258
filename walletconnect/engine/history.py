"""JSON-RPC history: duplicate inbound detection, stored answers, outbound response matching; pure.

Keyed on ``(topic, JSON-RPC id)``, never on envelope bytes: a peer (or a relay redelivering after
a re-subscribe) may send the same request again, possibly re-encrypted with a fresh IV. An
inbound request is handled once; a duplicate of an answered one gets the *stored* response text
re-sent (idempotent), a duplicate of one still in progress or of one that needs no reply is
dropped. A duplicate is recognised by the *content*: each inbound record keeps a canonical hash
of the decrypted method and params (:func:`content_hash`), so the same id carrying other content
is reported as :attr:`InboundStatus.REUSED` (a replay of the id), never as a duplicate. Every
mutation is reported to ``sink`` as a store change.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any

from walletconnect.engine.records import HistoryRecord, history_key
from walletconnect.storage import Delete, Put, RecordKind, StoreChange

__all__ = ["Inbound", "InboundStatus", "JsonRpcHistory", "content_hash"]


class InboundStatus(Enum):
    """What :meth:`JsonRpcHistory.receive_request` found."""

    NEW = "new"  # first sighting: handle it
    IN_PROGRESS = "in_progress"  # seen, not answered yet: drop the duplicate
    ANSWERED = "answered"  # seen and answered: re-send the stored response
    NO_REPLY = "no_reply"  # seen, and no reply is due (delete, event): drop
    REUSED = "reused"  # the id was seen with other content: a replay of the id, not a duplicate


def content_hash(method: str, params: Any) -> str:
    """Hex sha256 of canonical JSON ``[method, params]`` (sorted keys, no whitespace).

    Independent of the envelope bytes (IV) and of key order or spacing in the sender's JSON.
    Returns ``""`` for a value JSON cannot encode (then only the id is compared).
    """
    try:
        text = json.dumps(
            [method, params], sort_keys=True, separators=(",", ":"), ensure_ascii=False
        )
    except (TypeError, ValueError, RecursionError):
        return ""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True, slots=True)
class Inbound:
    """Result of :meth:`JsonRpcHistory.receive_request`."""

    status: InboundStatus
    record: HistoryRecord


class JsonRpcHistory:
    """History records by ``topic:id`` with change reporting."""

    def __init__(self, sink: Callable[[StoreChange], None]) -> None:
        self._records: dict[str, HistoryRecord] = {}
        self._sink = sink
        # A lower bound of every record's expiry (None: recompute). ``expire`` runs on every
        # message, so it must not scan a history of thousands of records each time.
        self._floor: float | None = None

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[HistoryRecord]:
        return iter(list(self._records.values()))

    def restore(self, records: dict[str, HistoryRecord]) -> None:
        """Load records from a snapshot (no changes reported)."""
        self._records = dict(records)
        self._floor = None

    def get(self, topic: str, rpc_id: int) -> HistoryRecord | None:
        """The record for ``(topic, id)``."""
        return self._records.get(history_key(topic, rpc_id))

    def _put(self, record: HistoryRecord) -> None:
        self._records[record.key] = record
        if self._floor is not None and record.expiry < self._floor:
            self._floor = record.expiry
        self._sink(Put(RecordKind.HISTORY, record.key, record))

    def receive_request(
        self,
        topic: str,
        rpc_id: int,
        method: str,
        expiry: int,
        *,
        digest: str = "",
        now: float = 0.0,
    ) -> Inbound:
        """Register an inbound request; tells whether it is new, a duplicate or a reused id.

        ``digest`` is the request's :func:`content_hash`; when both it and the stored one are
        known and differ, the status is REUSED and the stored record is left untouched.
        """
        known = self.get(topic, rpc_id)
        if known is not None and known.direction == "in":
            if digest and known.content_hash and digest != known.content_hash:
                return Inbound(InboundStatus.REUSED, known)
            if known.response is not None:
                return Inbound(InboundStatus.ANSWERED, known)
            if known.answered:
                return Inbound(InboundStatus.NO_REPLY, known)
            return Inbound(InboundStatus.IN_PROGRESS, known)
        record = HistoryRecord(
            topic, rpc_id, method, "in", expiry, content_hash=digest, first_seen=now
        )
        self._put(record)
        return Inbound(InboundStatus.NEW, record)

    def answer(
        self, topic: str, rpc_id: int, response: str | None, *, tag: int = 0, ttl: int = 0
    ) -> HistoryRecord:
        """Mark an inbound request answered with exact ``response`` text (None: no reply due)."""
        record = self.get(topic, rpc_id)
        if record is None or record.direction != "in":
            raise KeyError(history_key(topic, rpc_id))
        record = replace(
            record, answered=True, response=response, response_tag=tag, response_ttl=ttl
        )
        self._put(record)
        return record

    def send_request(self, topic: str, rpc_id: int, method: str, expiry: int) -> HistoryRecord:
        """Register one of our requests, awaiting a response."""
        record = HistoryRecord(topic, rpc_id, method, "out", expiry)
        self._put(record)
        return record

    def receive_response(self, topic: str, rpc_id: int) -> HistoryRecord | None:
        """Match a response to an outstanding request of ours; None if unknown or already resolved."""
        record = self.get(topic, rpc_id)
        if record is None or record.direction != "out" or record.answered:
            return None
        record = replace(record, answered=True)
        self._put(record)
        return record

    def outstanding(self, topic: str | None = None) -> list[HistoryRecord]:
        """Our requests still awaiting a response (optionally on one topic)."""
        return [
            r
            for r in self._records.values()
            if r.direction == "out" and not r.answered and (topic is None or r.topic == topic)
        ]

    def drop_topic(self, topic: str) -> None:
        """Forget every record of ``topic`` (its key is gone; duplicates can't decrypt anyway)."""
        for key in [k for k, r in self._records.items() if r.topic == topic]:
            del self._records[key]
            self._sink(Delete(RecordKind.HISTORY, key))

    def expire(self, now: float) -> list[HistoryRecord]:
        """Remove records whose expiry passed; returns them."""
        if now < self._lower_bound():
            return []
        gone = [r for r in self._records.values() if r.expiry <= now]
        for record in gone:
            del self._records[record.key]
            self._sink(Delete(RecordKind.HISTORY, record.key))
        self._floor = None
        return gone

    def next_deadline(self) -> float | None:
        """The earliest record expiry (possibly earlier after deletions: ``expire`` then corrects it)."""
        floor = self._lower_bound()
        return None if floor == math.inf else floor

    def _lower_bound(self) -> float:
        if self._floor is None:
            self._floor = min((r.expiry for r in self._records.values()), default=math.inf)
        return self._floor
