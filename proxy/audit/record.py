"""Canonical audit records: fields, masking, canonical JSON and the chain hash (pure).

One record is one JSON object on one line::

    {"v": 1, "seq": 41, "time": "2025-01-01T00:00:00.000000Z", "event": "request",
     "decision_id": "…", "decision": "deny", "reasons": ["value_cap_exceeded"], "session": "…",
     "dapp": "https://app.example", "method": "eth_sendTransaction", "action_class": "native.transfer",
     "chain": "eip155:1", "destinations": ["0x…"], "usd_value": "150.00", "replay_layer": null,
     "latency_us": 412, "signer": "dev", "request_id": 17, "payload_hash": "0x…",
     "envelope_id": "…", "details": {…}, "masked": [], "prev_hash": "<64 hex>", "hash": "<64 hex>"}

``hash = sha256(canonical_json(record without "hash"))`` where canonical JSON is UTF-8, keys sorted,
no whitespace, ASCII-escaped; ``prev_hash`` is the previous record's ``hash`` (:data:`GENESIS_HASH` for
``seq`` 0). Editing, removing, inserting or reordering any line breaks the chain; a truncated tail is
caught by comparing with the chain head kept outside the log (:class:`ChainHead`: count + last hash).

The audit log is not the debug log: it never carries decrypted payloads in full. ``details`` is
masked (known secret field names -> ``"***"``, recorded in ``masked``) and long strings are cut.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from proxy.logs import REDACTED, SECRET_FIELDS

__all__ = [
    "AUDIT_VERSION",
    "GENESIS_HASH",
    "MAX_DETAIL_CHARS",
    "AuditEntry",
    "ChainHead",
    "build_record",
    "canonical_json",
    "chain_line",
    "format_time",
    "mask_secrets",
    "record_hash",
]

AUDIT_VERSION = 1
#: ``prev_hash`` of the first record.
GENESIS_HASH = "0" * 64
#: Strings in ``details`` longer than this are cut (the audit log never holds whole payloads).
MAX_DETAIL_CHARS = 512
_MAX_DEPTH = 6


@dataclass(frozen=True, slots=True)
class ChainHead:
    """Where a chain ends: how many records it has and the last record's hash."""

    count: int = 0
    hash: str = GENESIS_HASH


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """What a caller records; the log adds ``v``, ``seq``, ``time``, ``masked``, ``prev_hash`` and ``hash``.

    ``event`` says what happened (``request`` for a signing request and its decision; others such as
    ``session_approved``, ``session_rejected``, ``revocation``, ``emergency_stop``, ``startup``).
    ``decision`` is ``allow`` / ``deny`` / ``error`` for requests. ``usd_value`` is a Decimal rendered as
    a string. ``latency_us`` is the time from receipt to answer. ``decision_id`` ties the record to the
    JSON-RPC answer and metrics; the log fills a unique one when empty.
    """

    event: str = "request"
    decision_id: str = ""
    decision: str | None = None
    reasons: tuple[str, ...] = ()
    session: str | None = None
    dapp: str | None = None
    method: str | None = None
    action_class: str | None = None
    chain: str | None = None
    destinations: tuple[str, ...] = ()
    usd_value: Decimal | str | None = None
    replay_layer: str | None = None
    latency_us: int | None = None
    signer: str | None = None
    request_id: int | None = None
    payload_hash: str | None = None
    envelope_id: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)


def canonical_json(value: Any) -> bytes:
    """Canonical JSON: sorted keys, no whitespace, ASCII only (what the chain hash covers)."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
    ).encode("ascii")


def record_hash(record: Mapping[str, Any]) -> str:
    """sha256 hex over the canonical JSON of ``record`` without its ``hash`` key."""
    body = {key: value for key, value in record.items() if key != "hash"}
    return hashlib.sha256(canonical_json(body)).hexdigest()


def format_time(now: float) -> str:
    """Unix seconds -> ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (UTC)."""
    # isoformat is about twice as fast as strftime and gives the same digits ("+00:00" -> "Z")
    return datetime.fromtimestamp(now, tz=UTC).isoformat(timespec="microseconds")[:-6] + "Z"


def _plain(value: Any, path: str, masked: list[str], depth: int) -> Any:
    if depth > _MAX_DEPTH:
        return "…"
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            name = str(key)
            sub = f"{path}.{name}" if path else name
            if name.lower() in SECRET_FIELDS:
                out[name] = REDACTED
                masked.append(sub)
            else:
                out[name] = _plain(item, sub, masked, depth + 1)
        return out
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        return [_plain(item, f"{path}[{i}]", masked, depth + 1) for i, item in enumerate(items)]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return value if abs(value) < 2**53 else str(value)  # keep JSON numbers exact everywhere
    if isinstance(value, bytes):
        value = "0x" + value.hex()
    text = str(value)
    if len(text) > MAX_DETAIL_CHARS:
        return text[:MAX_DETAIL_CHARS] + f"…(+{len(text) - MAX_DETAIL_CHARS} chars)"
    return text


def mask_secrets(details: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Return ``details`` as plain JSON data with secret fields masked, and the masked key paths.

    Floats and other non-JSON scalars become strings (the hash must be reproducible byte for byte).
    """
    masked: list[str] = []
    plain = _plain(details, "", masked, 0)
    return plain, sorted(masked)


def build_record(
    entry: AuditEntry, *, seq: int, prev_hash: str, now: float, decision_id: str = ""
) -> dict[str, Any]:
    """Build the chained record for ``entry`` at position ``seq`` after ``prev_hash`` (pure).

    ``decision_id`` is used when the entry has none.
    """
    details, masked = mask_secrets(entry.details)
    record = _record(entry, seq, prev_hash, now, decision_id, details, masked)
    record["hash"] = record_hash(record)
    return record


def _record(
    entry: AuditEntry,
    seq: int,
    prev_hash: str,
    now: float,
    decision_id: str,
    details: Any,
    masked: list[str],
) -> dict[str, Any]:
    return {
        "v": AUDIT_VERSION,
        "seq": seq,
        "time": format_time(now),
        "event": entry.event,
        "decision_id": entry.decision_id or decision_id,
        "decision": entry.decision,
        "reasons": list(entry.reasons),
        "session": entry.session,
        "dapp": _plain(entry.dapp, "dapp", masked, 0),
        "method": entry.method,
        "action_class": entry.action_class,
        "chain": entry.chain,
        "destinations": sorted(entry.destinations),
        "usd_value": None if entry.usd_value is None else str(entry.usd_value),
        "replay_layer": entry.replay_layer,
        "latency_us": entry.latency_us,
        "signer": entry.signer,
        "request_id": entry.request_id,
        "payload_hash": entry.payload_hash,
        "envelope_id": entry.envelope_id,
        "details": details,
        "masked": masked,
        "prev_hash": prev_hash,
    }


#: Where ``"hash"`` goes in a record's canonical JSON: just before the last top-level key after it
#: in sorted order (``latency_us``; only ``details`` may hold nested keys, and it sorts earlier).
_AFTER_HASH = b',"latency_us":'


def chain_line(
    entry: AuditEntry, *, seq: int, prev_hash: str, now: float, decision_id: str = ""
) -> tuple[dict[str, Any], bytes]:
    """:func:`build_record` and the record's canonical JSON line (with ``\\n``), encoding it once.

    The hash covers the canonical JSON without ``hash``; the line is that JSON with ``"hash"``
    spliced in at its sorted place, i.e. exactly ``canonical_json(record) + b"\\n"``.
    """
    details, masked = mask_secrets(entry.details)
    record = _record(entry, seq, prev_hash, now, decision_id, details, masked)
    body = canonical_json(record)
    digest = hashlib.sha256(body).hexdigest()
    record["hash"] = digest
    cut = body.rfind(_AFTER_HASH)
    line = body[:cut] + b',"hash":"' + digest.encode("ascii") + b'"' + body[cut:] + b"\n"
    return record, line
