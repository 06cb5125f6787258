"""A strict Sign-In with Ethereum (EIP-4361) message parser (pure, no I/O).

The message must match the ABNF exactly: LF line endings, no trailing newline, fields in order,
``Version: 1``, an EIP-55 checksummed address, a nonce of at least 8 alphanumerics, RFC 3339
timestamps, RFC 3986 URIs. Deliberately stricter than the ABNF in three places (all of them
phishing or ambiguity vectors): a ``userinfo@`` part in the domain, an empty statement line and a
Chain ID with leading zeros are refused. Anything else malformed raises
``DecodeError("siwe_malformed")``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from eth_utils.address import is_checksum_address

from policy.errors import DecodeError

__all__ = ["HEADER_SUFFIX", "SiweMessage", "looks_like_siwe", "parse_siwe"]

HEADER_SUFFIX = " wants you to sign in with your Ethereum account:"
_MARKER = "wants you to sign in with your ethereum account"

_SCHEME = r"[A-Za-z][A-Za-z0-9+\-.]*"
_HOST = r"(?:\[[0-9A-Fa-f:.]+\]|(?:[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})+)"
_DOMAIN_RE = re.compile(rf"(?:({_SCHEME})://)?({_HOST}(?::[0-9]{{1,5}})?)\Z")
_URI_RE = re.compile(rf"{_SCHEME}:(?:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{{2}})*\Z")
_STATEMENT_RE = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;= ]+\Z")
_NONCE_RE = re.compile(r"[A-Za-z0-9]{8,}\Z")
_CHAIN_RE = re.compile(r"(?:0|[1-9][0-9]{0,19})\Z")
_REQUEST_ID_RE = re.compile(r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@]|%[0-9A-Fa-f]{2})*\Z")
_DATETIME_RE = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,9})?(?:[Zz]|[+-][0-9]{2}:[0-9]{2})\Z"
)


@dataclass(frozen=True, slots=True)
class SiweMessage:
    """A parsed EIP-4361 message (address lowercase; timestamps as Unix seconds)."""

    scheme: str | None
    domain: str
    address: str
    statement: str | None
    uri: str
    version: str
    chain_id: int
    nonce: str
    issued_at: int
    expiration_time: int | None
    not_before: int | None
    request_id: str | None
    resources: tuple[str, ...]


def looks_like_siwe(text: str) -> bool:
    """True when the text carries the SIWE header phrase anywhere (then it must parse strictly)."""
    return _MARKER in text.lower()


def _bad(detail: str) -> DecodeError:
    return DecodeError("siwe_malformed", detail)


def _timestamp(value: str, field: str) -> int:
    if not _DATETIME_RE.match(value):
        raise _bad(f"{field}: not an RFC 3339 date-time")
    try:
        return int(datetime.fromisoformat(value.upper().replace("Z", "+00:00")).timestamp())
    except (ValueError, OverflowError) as exc:
        raise _bad(f"{field}: {exc}") from None


def parse_siwe(text: str) -> SiweMessage:
    """Parse ``text`` strictly; raise ``DecodeError("siwe_malformed")`` on any deviation."""
    lines = text.split("\n")
    if len(lines) < 9:
        raise _bad("too few lines")
    if not lines[0].endswith(HEADER_SUFFIX):
        raise _bad("first line is not the SIWE header")
    m = _DOMAIN_RE.match(lines[0][: -len(HEADER_SUFFIX)])
    if not m:
        raise _bad("domain is not a valid RFC 3986 authority (userinfo is refused)")
    scheme, domain = m.group(1), m.group(2)
    addr = lines[1]
    if not (len(addr) == 42 and addr.startswith("0x") and is_checksum_address(addr)):
        raise _bad("address must be an EIP-55 checksummed 0x address")
    if lines[2] != "":
        raise _bad("expected an empty line after the address")
    i = 3
    statement = None
    if lines[i] != "":
        statement = lines[i]
        if not _STATEMENT_RE.match(statement):
            raise _bad("statement has characters outside the EIP-4361 set")
        i += 1
    if lines[i] != "":
        raise _bad("expected an empty line before URI")
    i += 1

    def field(prefix: str, required: bool = True) -> str | None:
        nonlocal i
        if i < len(lines) and lines[i].startswith(prefix):
            i += 1
            return lines[i - 1][len(prefix) :]
        if required:
            raise _bad(f"missing {prefix.strip()!r} line")
        return None

    uri = str(field("URI: "))
    if not _URI_RE.match(uri):
        raise _bad("URI is not an RFC 3986 URI")
    version = str(field("Version: "))
    if version != "1":
        raise _bad("Version must be 1")
    chain = str(field("Chain ID: "))
    if not _CHAIN_RE.match(chain):
        raise _bad("Chain ID must be a decimal integer without leading zeros")
    nonce = str(field("Nonce: "))
    if not _NONCE_RE.match(nonce):
        raise _bad("Nonce must be at least 8 alphanumeric characters")
    issued_at = _timestamp(str(field("Issued At: ")), "Issued At")
    exp = field("Expiration Time: ", False)
    nbf = field("Not Before: ", False)
    request_id = field("Request ID: ", False)
    if request_id is not None and not _REQUEST_ID_RE.match(request_id):
        raise _bad("Request ID has characters outside pchar")
    resources: list[str] = []
    if i < len(lines) and lines[i] == "Resources:":
        i += 1
        while i < len(lines) and lines[i].startswith("- "):
            res = lines[i][2:]
            if not _URI_RE.match(res):
                raise _bad(f"resource {len(resources)} is not an RFC 3986 URI")
            resources.append(res)
            i += 1
    if i != len(lines):
        raise _bad(f"unexpected content at line {i + 1}")
    return SiweMessage(
        scheme=scheme,
        domain=domain,
        address=addr.lower(),
        statement=statement,
        uri=uri,
        version=version,
        chain_id=int(chain),
        nonce=nonce,
        issued_at=issued_at,
        expiration_time=_timestamp(exp, "Expiration Time") if exp is not None else None,
        not_before=_timestamp(nbf, "Not Before") if nbf is not None else None,
        request_id=request_id,
        resources=tuple(resources),
    )
