from __future__ import annotations

import hashlib
import json
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from proxy.audit.record import (
    GENESIS_HASH,
    MAX_DETAIL_CHARS,
    AuditEntry,
    build_record,
    canonical_json,
    chain_line,
    format_time,
    mask_secrets,
    record_hash,
)


def test_record_hash_covers_every_field_including_prev_hash() -> None:
    entry = AuditEntry(
        decision_id="d1",
        decision="deny",
        reasons=("value_cap_exceeded",),
        method="eth_sendTransaction",
        usd_value=Decimal("150.5"),
        destinations=("0xb", "0xa"),
        latency_us=412,
    )
    record = build_record(entry, seq=0, prev_hash=GENESIS_HASH, now=1_700_000_000.25)
    body = {k: v for k, v in record.items() if k != "hash"}
    assert record["hash"] == hashlib.sha256(canonical_json(body)).hexdigest()
    assert record["usd_value"] == "150.5"
    assert record["destinations"] == ["0xa", "0xb"]
    assert record["time"] == "2023-11-14T22:13:20.250000Z"
    other = build_record(entry, seq=0, prev_hash="1" * 64, now=1_700_000_000.25)
    assert other["hash"] != record["hash"]
    edited = dict(record, decision="allow")
    assert record_hash(edited) != record["hash"]


def test_canonical_json_is_sorted_and_compact() -> None:
    assert canonical_json({"b": 1, "a": [1, "é"]}) == b'{"a":[1,"\\u00e9"],"b":1}'


def test_masking_records_what_it_masked_and_cuts_long_values() -> None:
    details = {
        "token": "s3cret",
        "nested": {"private_key": "0xabc", "ok": 1, "Password": "p"},
        "payload": "x" * 5000,
        "big": 2**200,
        "ratio": 0.5,
        "raw": b"\x01\x02",
    }
    plain, masked = mask_secrets(details)
    assert sorted(masked) == ["nested.Password", "nested.private_key", "token"]
    text = json.dumps(plain)
    assert "s3cret" not in text
    assert "0xabc" not in text
    assert len(plain["payload"]) < MAX_DETAIL_CHARS + 40
    assert plain["big"] == str(2**200)
    assert plain["ratio"] == "0.5"
    assert plain["raw"] == "0x0102"
    record = build_record(AuditEntry(details=details), seq=0, prev_hash=GENESIS_HASH, now=0)
    assert record["masked"] == masked
    assert "s3cret" not in json.dumps(record)


def test_format_time_is_utc() -> None:
    assert format_time(0) == "1970-01-01T00:00:00.000000Z"


_json_scalars = st.none() | st.booleans() | st.integers(-(2**60), 2**60) | st.text(max_size=20)
_details = st.recursive(
    _json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(["latency_us", "hash", "a", 'x","latency_us":', "zz", "masked"])
            | st.text(max_size=8),
            inner,
            max_size=4,
        )
    ),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None)
@given(
    details=st.dictionaries(st.text(max_size=12), _details, max_size=4),
    dapp=st.none() | st.text(max_size=30),
    reasons=st.lists(st.text(max_size=10), max_size=3),
    latency=st.none() | st.integers(0, 10**9),
    seq=st.integers(0, 10**6),
)
def test_chain_line_is_the_canonical_json_of_the_built_record(
    details: dict[str, object],
    dapp: str | None,
    reasons: list[str],
    latency: int | None,
    seq: int,
) -> None:
    entry = AuditEntry(
        decision_id="d",
        dapp=dapp,
        reasons=tuple(reasons),
        latency_us=latency,
        details=details,
    )
    record, line = chain_line(entry, seq=seq, prev_hash="ab" * 32, now=1_700_000_000.25)
    assert record == build_record(entry, seq=seq, prev_hash="ab" * 32, now=1_700_000_000.25)
    assert line == canonical_json(record) + b"\n"
    assert record_hash(json.loads(line)) == record["hash"]
