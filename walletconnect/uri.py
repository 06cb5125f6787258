"""wc: pairing URIs: strict parse and SDK-identical format, plus URLSearchParams encoding; pure.

``wc:<topic>@2?expiryTimestamp=<s>&methods=<m1,m2>&relay-protocol=irn&symKey=<64 hex>`` with keys
sorted as JS ``localeCompare`` does and values encoded as ``URLSearchParams`` does (space -> ``+``,
everything but ``*-._`` and alphanumerics percent-encoded). :func:`format_uri` equals the SDK's
``formatUri`` (vectors: ``pairing-uri.json``). :func:`parse_uri` accepts what the SDK's ``parseUri``
accepts in practice (``wc:``, ``wc://``, a base64-encoded URI) but is strict where the SDK is lax:
v2 only, 64-hex topic and symKey, a relay protocol, an integer expiry; every failure is a
:class:`~walletconnect.errors.UriError` whose ``part`` names the bad piece.
"""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass

from walletconnect.crypto import hash_key
from walletconnect.errors import UriError

__all__ = [
    "MAX_URI_LENGTH",
    "PairingUri",
    "format_uri",
    "locale_sort_key",
    "parse_uri",
    "urlsearchparams_encode",
    "urlsearchparams_parse",
]

MAX_URI_LENGTH = 4096
"""Longest pairing URI (or base64 of one) :func:`parse_uri` accepts; real ones are ~200 chars."""

_HEX64 = re.compile(r"[0-9a-f]{64}")
_DIGITS = re.compile(r"[0-9]{1,15}")
_KNOWN = frozenset({"symKey", "expiryTimestamp", "methods", "relay-protocol", "relay-data"})
_FORM_SAFE = frozenset(b"*-._0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
# ICU root collation order of ASCII space, punctuation and symbols (what V8's localeCompare uses).
_ASCII_ORDER = " _-,;:!?.'\"()[]{}@*/\\&#%`^+<=>|~$"
_AFTER_QUOTE = 2 * _ASCII_ORDER.index('"') + 1
_AFTER_TILDE = 2 * _ASCII_ORDER.index("~") + 1
_AFTER_DOLLAR = 2 * _ASCII_ORDER.index("$") + 1

_Weight = tuple[int, float, int]
SortKey = tuple[tuple[_Weight, ...], tuple[int, ...], tuple[int, ...]]


def _primary(ch: str) -> _Weight:
    cat = unicodedata.category(ch)
    if ch in _ASCII_ORDER:
        return (0, 2 * _ASCII_ORDER.index(ch), 0)
    if cat == "Zs":
        return (0, 0, ord(ch))
    if cat[0] == "P":
        return (0, _AFTER_QUOTE, ord(ch))
    if cat == "Sc":
        return (0, _AFTER_DOLLAR, ord(ch))
    if cat[0] == "S":
        return (0, _AFTER_TILDE, ord(ch))
    if cat[0] == "N":
        return (1, unicodedata.numeric(ch, 0.0), ord(ch))
    if cat[0] == "L":
        return (2, ord(ch), 0)
    return (3, ord(ch), 0)


def locale_sort_key(key: str) -> SortKey:
    """Approximates JS ``a.localeCompare(b)`` (ICU root collation) for sorting query keys.

    Primary level: whitespace < punctuation < symbols < currency < digits < letters, letters
    compared case- and accent-insensitively; then accents; then case (lowercase first). Control
    characters are ignored. Exact for ASCII (checked against node); close for the rest.
    """
    primary: list[_Weight] = []
    secondary: list[int] = []
    tertiary: list[int] = []
    for ch in unicodedata.normalize("NFD", key):
        cat = unicodedata.category(ch)
        if cat in ("Cc", "Cf"):
            continue
        if cat == "Mn":
            if secondary:
                secondary[-1] = ord(ch)
            else:
                primary.append((-1, ord(ch), 0))
            continue
        folded = ch.casefold()
        for base in folded:
            primary.append(_primary(base))
            secondary.append(0)
        tertiary.append(2 if folded != ch.lower() else 1 if ch.isupper() else 0)
    return tuple(primary), tuple(secondary), tuple(tertiary)


def _form_encode(text: str) -> str:
    out: list[str] = []
    for byte in text.encode("utf-8"):
        if byte in _FORM_SAFE:
            out.append(chr(byte))
        elif byte == 0x20:
            out.append("+")
        else:
            out.append(f"%{byte:02X}")
    return "".join(out)


def urlsearchparams_encode(pairs: Iterable[tuple[str, str]]) -> str:
    """``new URLSearchParams(pairs).toString()`` (application/x-www-form-urlencoded)."""
    return "&".join(f"{_form_encode(k)}={_form_encode(v)}" for k, v in pairs)


def urlsearchparams_parse(query: str) -> list[tuple[str, str]]:
    """``[...new URLSearchParams(query)]``: a leading ``?`` is dropped, ``+`` is space."""
    query = query.removeprefix("?")
    pairs: list[tuple[str, str]] = []
    for part in query.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        pairs.append(
            (
                urllib.parse.unquote_plus(name, errors="replace"),
                urllib.parse.unquote_plus(value, errors="replace"),
            )
        )
    return pairs


@dataclass(frozen=True, slots=True)
class PairingUri:
    """A parsed v2 pairing URI. ``extra`` keeps unknown query parameters (re-emitted, sorted)."""

    topic: str
    sym_key: bytes
    version: int = 2
    relay_protocol: str = "irn"
    relay_data: str | None = None
    expiry_timestamp: int | None = None
    methods: tuple[str, ...] = ()
    extra: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.topic, str) or not _HEX64.fullmatch(self.topic):
            raise UriError("topic", "must be 64 lowercase hex characters")
        if self.version != 2:
            raise UriError("version", f"unsupported version {self.version!r} (only 2)")
        if not isinstance(self.sym_key, bytes) or len(self.sym_key) != 32:
            raise UriError("symKey", "must be 32 bytes")
        if not self.relay_protocol:
            raise UriError("relay-protocol", "missing")
        if self.expiry_timestamp is not None and not (0 <= self.expiry_timestamp < 10**15):
            raise UriError("expiryTimestamp", "out of range")
        for method in self.methods:
            if not method or "," in method:
                raise UriError("methods", f"bad method name {method!r}")
        for key, _ in self.extra:
            if not key or key in _KNOWN:
                raise UriError(key or "query", "extra parameter with a reserved or empty name")
        if self.relay_data == "":
            object.__setattr__(self, "relay_data", None)  # the SDK drops falsy relay options
        object.__setattr__(self, "methods", tuple(self.methods))
        extra = sorted(self.extra, key=lambda kv: locale_sort_key(kv[0]))
        object.__setattr__(self, "extra", tuple(extra))

    @property
    def sym_key_hex(self) -> str:
        """The sym key as 64 lowercase hex characters, as in the URI."""
        return self.sym_key.hex()

    @property
    def topic_matches_sym_key(self) -> bool:
        """Whether ``topic == sha256(symKey)``, as the SDK generates it (the SDK never checks)."""
        return hash_key(self.sym_key) == self.topic

    def __repr__(self) -> str:
        return (
            f"PairingUri(topic={self.topic!r}, version={self.version}, "
            f"relay_protocol={self.relay_protocol!r}, expiry_timestamp={self.expiry_timestamp!r}, "
            f"methods={self.methods!r}, sym_key=<redacted>)"
        )


def format_uri(uri: PairingUri) -> str:
    """The SDK's ``formatUri``: ``wc:<topic>@<version>?<sorted URLSearchParams>``."""
    params: list[tuple[str, str]] = [("relay-protocol", uri.relay_protocol)]
    if uri.relay_data:
        params.append(("relay-data", uri.relay_data))
    params.append(("symKey", uri.sym_key_hex))
    if uri.expiry_timestamp is not None:
        params.append(("expiryTimestamp", str(uri.expiry_timestamp)))
    if uri.methods:
        params.append(("methods", ",".join(uri.methods)))
    params.extend(uri.extra)
    params.sort(key=lambda kv: locale_sort_key(kv[0]))
    return f"wc:{uri.topic}@{uri.version}?{urlsearchparams_encode(params)}"


def _maybe_base64(text: str) -> str:
    """The SDK accepts a base64-encoded URI (no ``wc:`` in the text)."""
    body = text.strip().rstrip("=")
    try:
        raw = base64.b64decode(body + "=" * (-len(body) % 4), validate=True)
        decoded = raw.decode("utf-8")
    except (binascii.Error, ValueError) as exc:
        raise UriError("scheme", "not a wc: URI (nor base64 of one)") from exc
    if not decoded.startswith("wc:"):
        raise UriError("scheme", "not a wc: URI (nor base64 of one)")
    return decoded


def _int(part: str, value: str) -> int:
    if not _DIGITS.fullmatch(value):
        raise UriError(part, f"not a non-negative integer: {value[:32]!r}")
    return int(value)


def parse_uri(uri: str, *, now: int | None = None, max_length: int = MAX_URI_LENGTH) -> PairingUri:
    """Parse and validate a pairing URI; raises only :class:`UriError` (``.part`` says where).

    ``now`` (unix seconds), if given, rejects an ``expiryTimestamp`` in the past, as ``pair()`` does.
    """
    if not isinstance(uri, str):
        raise UriError("uri", f"must be text, got {type(uri).__name__}")
    if len(uri) > max_length:
        raise UriError("uri", f"too long: {len(uri)} > {max_length} characters")
    text = uri.strip()
    if not text.startswith("wc:"):
        text = _maybe_base64(text)
    rest = text[3:]
    rest = rest.removeprefix("//")
    path, sep, query = rest.partition("?")
    if not sep:
        raise UriError("query", "missing '?' and parameters")
    topic, at, version_text = path.partition("@")
    if not _HEX64.fullmatch(topic):
        raise UriError("topic", "must be 64 lowercase hex characters")
    if not at:
        raise UriError("version", "missing '@<version>'")
    version = _int("version", version_text)
    if version == 1:
        raise UriError("version", "WalletConnect v1 URIs are not supported (v1 is shut down)")
    if version != 2:
        raise UriError("version", f"unsupported version {version}")

    params: dict[str, str] = {}
    extra: list[tuple[str, str]] = []
    for key, value in urlsearchparams_parse(query):
        if key in params or any(k == key for k, _ in extra):
            raise UriError(key, "duplicate parameter")
        if key in _KNOWN:
            params[key] = value
        else:
            extra.append((key, value))

    sym_key_hex = params.get("symKey")
    if sym_key_hex is None:
        raise UriError("symKey", "missing")
    if not _HEX64.fullmatch(sym_key_hex):
        raise UriError("symKey", "must be 64 lowercase hex characters")
    relay_protocol = params.get("relay-protocol")
    if not relay_protocol:
        raise UriError("relay-protocol", "missing")
    expiry = params.get("expiryTimestamp")
    expiry_timestamp = _int("expiryTimestamp", expiry) if expiry is not None else None
    if expiry_timestamp is not None and now is not None and expiry_timestamp < now:
        raise UriError("expiryTimestamp", f"expired at {expiry_timestamp} (now {now})")
    methods: tuple[str, ...] = ()
    if "methods" in params:
        methods = tuple(params["methods"].split(","))
        if not all(methods):
            raise UriError("methods", "empty method name")
    return PairingUri(
        topic=topic,
        sym_key=bytes.fromhex(sym_key_hex),
        version=version,
        relay_protocol=relay_protocol,
        relay_data=params.get("relay-data") or None,
        expiry_timestamp=expiry_timestamp,
        methods=methods,
        extra=tuple(extra),
    )
