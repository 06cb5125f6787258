"""Strict EIP-4361 parsing: valid layouts parse to the right fields; every deviation is siwe_malformed."""

from __future__ import annotations

import pytest
from builders import ALICE, req, siwe_text

from policy.actions import ActionClass
from policy.decode import decode
from policy.decode.siwe import parse_siwe
from policy.errors import DecodeError


def test_full_message_fields() -> None:
    m = parse_siwe(
        siwe_text(
            scheme="https",
            domain="app.example.com:8443",
            statement=None,
            not_before="2025-12-31T23:00:00.123+01:00",
            request_id="req-1%20x",
            resources=["ipfs://bafy", "https://example.com/a?b=c#d"],
        )
    )
    assert (m.scheme, m.domain, m.address) == ("https", "app.example.com:8443", ALICE)
    assert m.statement is None
    assert m.chain_id == 1
    assert m.issued_at == 1767225600
    assert m.not_before == 1767218400
    assert m.request_id == "req-1%20x"
    assert m.resources == ("ipfs://bafy", "https://example.com/a?b=c#d")


def _lower_address(t: str) -> str:
    lines = t.split("\n")
    lines[1] = lines[1].lower()
    return "\n".join(lines)


MALFORMED = {
    "crlf": lambda: siwe_text().replace("\n", "\r\n"),
    "trailing_newline": lambda: siwe_text() + "\n",
    "lowercase_address": lambda: _lower_address(siwe_text()),
    "version_2": lambda: siwe_text().replace("Version: 1", "Version: 2"),
    "short_nonce": lambda: siwe_text(nonce="abc123"),
    "nonce_symbols": lambda: siwe_text(nonce="abcd-1234"),
    "bad_issued_at": lambda: siwe_text(issued_at="yesterday"),
    "impossible_date": lambda: siwe_text(issued_at="2026-02-30T00:00:00Z"),
    "userinfo_domain": lambda: siwe_text(domain="app.example.com@evil.example"),
    "statement_newline_shape": lambda: siwe_text(statement="two\nlines"),
    "statement_bad_char": lambda: siwe_text(statement='say "hi"'),
    "uri_spaces": lambda: siwe_text(uri="https://a b"),
    "chain_leading_zero": lambda: siwe_text().replace("Chain ID: 1", "Chain ID: 01"),
    "fields_out_of_order": lambda: siwe_text().replace(
        "Version: 1\nChain ID: 1", "Chain ID: 1\nVersion: 1"
    ),
    "missing_nonce": lambda: siwe_text().replace("Nonce: 32891756abcdefgh\n", ""),
    "junk_after": lambda: siwe_text() + "\nHello",
    "prefixed_header": lambda: "Hi!\n" + siwe_text(),
    "bad_resource": lambda: siwe_text(resources=["not a uri"]),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed(case: str) -> None:
    with pytest.raises(DecodeError) as exc:
        decode(req("personal_sign", [MALFORMED[case](), ALICE]))
    assert exc.value.reason == "siwe_malformed"


def test_header_phrase_anywhere_forces_siwe_parsing() -> None:
    text = "please: evil.example wants you to sign in with your Ethereum account: ok?"
    with pytest.raises(DecodeError) as exc:
        decode(req("personal_sign", [text, ALICE]))
    assert exc.value.reason == "siwe_malformed"


def test_hex_encoded_siwe_is_parsed() -> None:
    action = decode(req("personal_sign", ["0x" + siwe_text().encode().hex(), ALICE]))
    assert action.action_class is ActionClass.SIWE_LOGIN
