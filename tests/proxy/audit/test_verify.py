from __future__ import annotations

import json

import pytest

from proxy.audit.record import GENESIS_HASH, AuditEntry, ChainHead, build_record, canonical_json
from proxy.audit.verify import verify_chain


def make_chain(n: int) -> tuple[list[str], ChainHead]:
    lines, prev = [], GENESIS_HASH
    for seq in range(n):
        record = build_record(
            AuditEntry(decision_id=f"d{seq}", decision="allow", method="personal_sign"),
            seq=seq,
            prev_hash=prev,
            now=1_700_000_000 + seq,
        )
        prev = record["hash"]
        lines.append(canonical_json(record).decode() + "\n")
    return lines, ChainHead(n, prev)


def test_intact_chain_verifies_with_and_without_head() -> None:
    lines, head = make_chain(5)
    assert verify_chain(lines).ok
    result = verify_chain(lines, head)
    assert result.ok
    assert result.count == 5
    assert result.head == head
    assert verify_chain([], ChainHead()).ok


def edit(line: str, **changes: object) -> str:
    record = json.loads(line)
    record.update(changes)
    return json.dumps(record) + "\n"


def test_edited_line() -> None:
    lines, head = make_chain(5)
    lines[2] = edit(lines[2], decision="deny")
    result = verify_chain(lines, head)
    assert not result.ok
    assert result.line == 3
    assert "edited" in (result.reason or "")


def test_edited_line_with_recomputed_hash_breaks_the_next_link() -> None:
    from proxy.audit.record import record_hash

    lines, head = make_chain(5)
    record = json.loads(lines[2])
    record["decision"] = "deny"
    record["hash"] = record_hash(record)
    lines[2] = json.dumps(record) + "\n"
    result = verify_chain(lines, head)
    assert (result.ok, result.line) == (False, 4)


def test_rewritten_chain_is_caught_by_the_external_head() -> None:
    _, head = make_chain(5)
    # a fully recomputed chain of the same length whose last record says something else
    forged_lines, _ = make_chain(4)
    rec = build_record(
        AuditEntry(decision="deny"), seq=4, prev_hash=json.loads(forged_lines[-1])["hash"], now=0
    )
    forged_lines.append(canonical_json(rec).decode() + "\n")
    assert verify_chain(forged_lines).ok  # links alone cannot tell
    result = verify_chain(forged_lines, head)
    assert (result.ok, result.line) == (False, 5)
    assert "external chain head" in (result.reason or "")


def test_removed_line() -> None:
    lines, head = make_chain(5)
    del lines[2]
    result = verify_chain(lines, head)
    assert (result.ok, result.line) == (False, 3)
    assert "removed" in (result.reason or "")


def test_removed_first_line() -> None:
    lines, head = make_chain(3)
    result = verify_chain(lines[1:], head)
    assert (result.ok, result.line) == (False, 1)
    assert "genesis" in (result.reason or "")


def test_reordered_lines() -> None:
    lines, head = make_chain(5)
    lines[1], lines[2] = lines[2], lines[1]
    result = verify_chain(lines, head)
    assert (result.ok, result.line) == (False, 2)


def test_truncated_tail_needs_the_head() -> None:
    lines, head = make_chain(5)
    assert verify_chain(lines[:3]).ok  # without the external head a cut tail is invisible
    result = verify_chain(lines[:3], head)
    assert (result.ok, result.line) == (False, 4)
    assert "truncated" in (result.reason or "")


def test_records_after_the_head_are_unanchored() -> None:
    lines, _ = make_chain(5)
    _, head3 = make_chain(3)
    result = verify_chain(lines, head3)
    assert result.ok
    assert result.unanchored == 2


@pytest.mark.parametrize(
    ("bad", "needle"),
    [
        ("not json\n", "not JSON"),
        ("[" * 100_000 + "\n", "not JSON"),
        ("[1]\n", "object"),
        ('{"a": 1}\n', "missing"),
        ("\n", "empty"),
    ],
)
def test_garbage_lines(bad: str, needle: str) -> None:
    lines, _ = make_chain(3)
    lines.insert(1, bad)
    result = verify_chain(lines)
    assert (result.ok, result.line) == (False, 2)
    assert needle in (result.reason or "")


def test_torn_last_line() -> None:
    lines, _ = make_chain(3)
    lines[-1] = lines[-1][:-10]
    result = verify_chain(lines)
    assert (result.ok, result.line) == (False, 3)


def test_depth_guard_ignores_brackets_inside_strings() -> None:
    from proxy.audit.verify import MAX_DEPTH, json_too_deep

    assert json_too_deep("[" * (MAX_DEPTH + 1))
    assert not json_too_deep(json.dumps({"a": "[" * 500, "b": ['\\"[[[' * 100]}))
    assert not json_too_deep("[" * MAX_DEPTH + "]" * MAX_DEPTH)
