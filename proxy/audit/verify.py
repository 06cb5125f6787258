"""Verify an audit hash chain line by line, optionally against its external head (pure).

Detects: an edited line (its hash no longer matches its content), a removed, inserted or reordered line
(``seq`` / ``prev_hash`` no longer link), a log that does not start at the genesis, garbage lines, and,
given the external :class:`~proxy.audit.record.ChainHead`, a truncated tail (fewer records than the
head counts) or a rewritten chain (the record at the head's position has another hash). Records after
the head (the head lags the file after a crash between write and head update) are reported as
``unanchored``: valid links, but not vouched for by the external head.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from proxy.audit.record import GENESIS_HASH, ChainHead, record_hash

__all__ = ["MAX_DEPTH", "MAX_LINE_BYTES", "VerifyResult", "json_too_deep", "verify_chain"]

#: A line longer than this is not a record we wrote.
MAX_LINE_BYTES = 256 * 1024
#: Records nest a few levels; deeper JSON is refused before parsing (deep nesting can exhaust the
#: C stack inside ``json.loads`` when the recursion limit has been raised).
MAX_DEPTH = 64


def json_too_deep(text: str) -> bool:
    """True when ``text`` (JSON) nests arrays/objects deeper than :data:`MAX_DEPTH` (strings ignored)."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return False  # cheap common case: cannot nest deeper than the bracket count
    depth = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return True
        elif char in "]}":
            depth -= 1
    return False


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """Outcome of :func:`verify_chain`.

    ``ok``: the chain verifies. ``count``: records read that link correctly (before the first bad line).
    ``last_hash``: hash of the last good record. ``line``: 1-based first bad line, None when ok.
    ``reason``: why, None when ok. ``unanchored``: good records after the external head.
    """

    ok: bool
    count: int
    last_hash: str
    line: int | None = None
    reason: str | None = None
    unanchored: int = 0

    @property
    def head(self) -> ChainHead:
        """The chain head of the verified prefix."""
        return ChainHead(self.count, self.last_hash)


def _fail(count: int, last: str, line: int, reason: str) -> VerifyResult:
    return VerifyResult(False, count, last, line, reason)


def verify_chain(lines: Iterable[str | bytes], head: ChainHead | None = None) -> VerifyResult:
    """Verify the records in ``lines`` (one JSON object each; a final empty line is allowed)."""
    count = 0
    last = GENESIS_HASH
    pending_blank: int | None = None
    hashes_at: dict[int, str] = {}
    for number, raw in enumerate(lines, start=1):
        text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
        if pending_blank is not None:
            return _fail(count, last, pending_blank, "empty line inside the log")
        if text in ("", "\n"):
            pending_blank = number
            continue
        if len(text) > MAX_LINE_BYTES:
            return _fail(count, last, number, "line too long to be a record")
        if not text.endswith("\n"):
            return _fail(count, last, number, "incomplete last line (no newline): torn write")
        if json_too_deep(text):
            return _fail(count, last, number, "not JSON: nested too deeply")
        try:
            record = json.loads(text)
        except (ValueError, RecursionError):
            return _fail(count, last, number, "not JSON")
        if not isinstance(record, dict):
            return _fail(count, last, number, "not a JSON object")
        stated = record.get("hash")
        seq = record.get("seq")
        prev = record.get("prev_hash")
        if not isinstance(stated, str) or not isinstance(seq, int) or not isinstance(prev, str):
            return _fail(count, last, number, "missing seq, prev_hash or hash")
        try:
            actual = record_hash(record)
        except (ValueError, RecursionError):
            return _fail(count, last, number, "not canonical JSON data")
        if actual != stated:
            return _fail(count, last, number, "edited: the hash does not match the line's content")
        if prev != last or seq != count:
            if count == 0:
                why = "the log does not start at the genesis record (lines removed from the start)"
            else:
                why = (
                    f"does not link to line {number - 1} (seq {seq}, expected {count}): "
                    "a line was removed, inserted or reordered"
                )
            return _fail(count, last, number, why)
        count += 1
        last = stated
        if head is not None and count == head.count:
            hashes_at[count] = stated
    if head is None:
        return VerifyResult(True, count, last)
    if count < head.count:
        return _fail(
            count,
            last,
            count + 1,
            f"truncated: the external head counts {head.count} records, the log has {count}",
        )
    if head.count > 0 and hashes_at.get(head.count) != head.hash:
        return _fail(
            count,
            last,
            head.count,
            "record does not match the external chain head (the chain was rewritten)",
        )
    return VerifyResult(True, count, last, unanchored=count - head.count)
