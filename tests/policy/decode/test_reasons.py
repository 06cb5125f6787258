"""Every reason code raised in policy/decode is documented in DECODE_REASONS (and nothing stale)."""

from __future__ import annotations

import re
from pathlib import Path

import policy.decode
from policy.decode.reasons import DECODE_REASONS

SOURCE = Path(policy.decode.__file__).parent


def test_reason_codes_documented() -> None:
    text = " ".join(p.read_text() for p in SOURCE.glob("*.py") if p.name != "reasons.py")
    raised = set(re.findall(r'DecodeError\(\s*"([a-z_0-9]+)"', text))
    raised |= {"typed_data_malformed", "siwe_malformed"}  # via the _bad() helpers
    assert raised == set(DECODE_REASONS)
