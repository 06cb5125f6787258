"""Audit timestamps: UTC, microseconds, the same text the format has always had."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from proxy.audit.record import format_time


@given(st.floats(min_value=0, max_value=32503680000, allow_nan=False))  # 1970 .. year 3000
def test_format_time_is_the_strftime_text(now: float) -> None:
    expected = datetime.fromtimestamp(now, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert format_time(now) == expected


def test_a_known_time() -> None:
    assert format_time(1_700_000_000.25) == "2023-11-14T22:13:20.250000Z"
