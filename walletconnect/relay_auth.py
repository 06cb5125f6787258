"""Relay client identity: Ed25519 seed, did:key client id, relay-auth JWT sign/verify, relay URL; pure.

As ``@walletconnect/relay-auth`` 1.1.0 and core 2.25 (reference §1.1-1.3, vectors:
``relay-auth-jwt.json``): client id = ``did:key:z`` + base58btc(``0xed 0x01`` + pubkey); JWT header
``{"alg":"EdDSA","typ":"JWT"}``, payload keys ``iss, sub, aud, iat, exp`` in that order, each part
base64url without padding, signature = Ed25519 over ``<header>.<payload>``. Time comes in as ``iat``
/ ``now``; nothing here reads a clock.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from walletconnect.errors import InvalidKeyError, RelayAuthError
from walletconnect.uri import locale_sort_key, urlsearchparams_encode, urlsearchparams_parse

__all__ = [
    "DID_KEY_PREFIX",
    "JWT_HEADER",
    "MAX_JWT_LENGTH",
    "ClientIdentity",
    "JwtClaims",
    "b58decode",
    "b58encode",
    "decode_did_key",
    "encode_did_key",
    "relay_url",
    "subscription_id",
    "verify_jwt",
]

DID_KEY_PREFIX = "did:key:"
MULTICODEC_ED25519_HEADER = b"\xed\x01"
JWT_HEADER = {"alg": "EdDSA", "typ": "JWT"}
MAX_JWT_LENGTH = 4096
"""Longest token :func:`verify_jwt` looks at (real ones are ~400 characters)."""
MAX_DID_LENGTH = 128
DEFAULT_JWT_TTL_S = 86400
DEFAULT_IAT_SKEW_S = 300

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {c: i for i, c in enumerate(_B58)}


def b58encode(data: bytes) -> str:
    """Base58btc (Bitcoin alphabet); leading zero bytes become ``1``."""
    n = int.from_bytes(data, "big")
    out: list[str] = []
    while n:
        n, rem = divmod(n, 58)
        out.append(_B58[rem])
    zeros = len(data) - len(data.lstrip(b"\0"))
    return "1" * zeros + "".join(reversed(out))


def b58decode(text: str) -> bytes:
    """Inverse of :func:`b58encode`; RelayAuthError on a character outside the alphabet."""
    n = 0
    for ch in text:
        digit = _B58_INDEX.get(ch)
        if digit is None:
            raise RelayAuthError(f"invalid base58 character {ch!r}")
        n = n * 58 + digit
    zeros = len(text) - len(text.lstrip("1"))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big") if n else b""
    return b"\0" * zeros + body


def encode_did_key(public_key: bytes) -> str:
    """``did:key:z…`` for a 32-byte Ed25519 public key (``encodeIss``)."""
    if len(public_key) != 32:
        raise InvalidKeyError("Ed25519 public key must be 32 bytes")
    return DID_KEY_PREFIX + "z" + b58encode(MULTICODEC_ED25519_HEADER + public_key)


def decode_did_key(did: str) -> bytes:
    """The 32-byte Ed25519 public key in a ``did:key:z6Mk…`` client id (``decodeIss``)."""
    if not isinstance(did, str):
        raise RelayAuthError("did:key must be text")
    if len(did) > MAX_DID_LENGTH:
        raise RelayAuthError(f"did:key too long: {len(did)} > {MAX_DID_LENGTH}")
    parts = did.split(":")
    if len(parts) != 3 or parts[0] != "did":
        raise RelayAuthError("issuer is not a did (expected did:key:z…)")
    if parts[1] != "key":
        raise RelayAuthError(f"unsupported did method {parts[1]!r} (expected key)")
    if not parts[2].startswith("z"):
        raise RelayAuthError("did:key multibase must be base58btc ('z')")
    raw = b58decode(parts[2][1:])
    if raw[:2] != MULTICODEC_ED25519_HEADER:
        raise RelayAuthError("did:key multicodec is not ed25519-pub (0xed01)")
    if len(raw) != 34:
        raise RelayAuthError(f"did:key Ed25519 key must be 32 bytes, got {len(raw) - 2}")
    return raw[2:]


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str, what: str) -> bytes:
    if "=" in text or "+" in text or "/" in text:
        raise RelayAuthError(f"JWT {what} is not unpadded base64url")
    std = text.replace("-", "+").replace("_", "/")
    try:
        return base64.b64decode(std + "=" * (-len(std) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise RelayAuthError(f"JWT {what} is not base64url") from exc


def _json(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


@dataclass(frozen=True, slots=True)
class JwtClaims:
    """Verified relay-auth claims; ``iss`` is the client id (did:key)."""

    iss: str
    sub: str
    aud: str
    iat: int
    exp: int

    @property
    def client_id(self) -> str:
        """Alias of ``iss``."""
        return self.iss


@dataclass(frozen=True, slots=True)
class ClientIdentity:
    """A relay client identity: the 32-byte Ed25519 seed (persist it for a stable client id)."""

    seed: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.seed, bytes) or len(self.seed) != 32:
            raise InvalidKeyError("Ed25519 seed must be 32 bytes")

    @classmethod
    def from_seed(cls, seed: bytes) -> ClientIdentity:
        """The identity for a stored seed (``client_ed25519_seed``)."""
        return cls(bytes(seed))

    @classmethod
    def generate(cls) -> ClientIdentity:
        """A fresh identity from ``os.urandom``."""
        return cls(os.urandom(32))

    @property
    def _key(self) -> Ed25519PrivateKey:
        return Ed25519PrivateKey.from_private_bytes(self.seed)

    @property
    def public_key(self) -> bytes:
        """The 32-byte Ed25519 public key."""
        return self._key.public_key().public_bytes_raw()

    @property
    def client_id(self) -> str:
        """``did:key:z6Mk…`` — the JWT ``iss`` and the subscription-id salt."""
        return encode_did_key(self.public_key)

    def sign_jwt(self, *, aud: str, iat: int, sub: str, ttl: int = DEFAULT_JWT_TTL_S) -> str:
        """The relay-auth JWT, byte-identical to the SDK's ``signJWT(sub, aud, ttl, keyPair, iat)``."""
        payload = {"iss": self.client_id, "sub": sub, "aud": aud, "iat": iat, "exp": iat + ttl}
        signing_input = _b64url(_json(JWT_HEADER)) + "." + _b64url(_json(payload))
        signature = self._key.sign(signing_input.encode("ascii"))
        return signing_input + "." + _b64url(signature)

    def __repr__(self) -> str:
        return f"ClientIdentity(client_id={self.client_id!r}, seed=<redacted>)"


def _claim(payload: dict[str, Any], name: str, kind: type) -> Any:
    value = payload.get(name)
    if isinstance(value, bool) or not isinstance(value, kind):
        raise RelayAuthError(f"JWT claim {name!r} missing or not {kind.__name__}")
    return value


def verify_jwt(
    token: str,
    *,
    now: int,
    aud: str | None = None,
    max_iat_skew_s: int = DEFAULT_IAT_SKEW_S,
    max_length: int = MAX_JWT_LENGTH,
) -> JwtClaims:
    """Check a relay-auth JWT (for our local relay): shape, alg, EdDSA signature by ``iss``,
    ``exp > now``, ``iat <= now + max_iat_skew_s``, ``iat <= exp``, and ``aud`` if given.

    Raises only RelayAuthError, with a precise reason.
    """
    if not isinstance(token, str):
        raise RelayAuthError("JWT must be text")
    if len(token) > max_length:
        raise RelayAuthError(f"JWT too long: {len(token)} > {max_length}")
    if not token.isascii():
        raise RelayAuthError("JWT contains non-ASCII characters")
    parts = token.split(".")
    if len(parts) != 3:
        raise RelayAuthError(f"JWT must have 3 parts, got {len(parts)}")
    try:
        header = json.loads(_b64url_decode(parts[0], "header"))
        payload = json.loads(_b64url_decode(parts[1], "payload"))
    except (ValueError, RecursionError) as exc:  # JSONDecodeError / UnicodeDecodeError
        raise RelayAuthError("JWT header or payload is not JSON") from exc
    if not isinstance(header, dict) or not isinstance(payload, dict):
        raise RelayAuthError("JWT header and payload must be JSON objects")
    if header.get("alg") != "EdDSA":
        raise RelayAuthError(f"unsupported JWT alg {header.get('alg')!r} (expected EdDSA)")
    if header.get("typ", "JWT") != "JWT":
        raise RelayAuthError(f"unexpected JWT typ {header.get('typ')!r}")
    iss = _claim(payload, "iss", str)
    claims = JwtClaims(
        iss=iss,
        sub=_claim(payload, "sub", str),
        aud=_claim(payload, "aud", str),
        iat=_claim(payload, "iat", int),
        exp=_claim(payload, "exp", int),
    )
    signature = _b64url_decode(parts[2], "signature")
    if len(signature) != 64:
        raise RelayAuthError(f"JWT signature must be 64 bytes, got {len(signature)}")
    public_key = Ed25519PublicKey.from_public_bytes(decode_did_key(iss))
    try:
        public_key.verify(signature, f"{parts[0]}.{parts[1]}".encode("ascii"))
    except InvalidSignature as exc:
        raise RelayAuthError("JWT signature does not verify against iss") from exc
    if claims.exp <= now:
        raise RelayAuthError(f"JWT expired at {claims.exp} (now {now})")
    if claims.iat > now + max_iat_skew_s:
        raise RelayAuthError(f"JWT issued in the future ({claims.iat} > now {now} + skew)")
    if claims.iat > claims.exp:
        raise RelayAuthError("JWT iat after exp")
    if aud is not None and claims.aud != aud:
        raise RelayAuthError(f"JWT audience {claims.aud!r} is not {aud!r}")
    return claims


def subscription_id(topic: str, client_id: str) -> str:
    """``getSubscriptionId``: sha256 hex of utf8(topic + client_id) (computed by the client)."""
    return hashlib.sha256((topic + client_id).encode("utf-8")).hexdigest()


def relay_url(
    base_url: str,
    *,
    auth: str,
    project_id: str | None,
    ua: str | None = None,
    use_on_close_event: bool = True,
    bundle_id: str | None = None,
    package_name: str | None = None,
) -> str:
    """``formatRelayRpcUrl``: keep ``base_url``'s query, then set our keys sorted by name.

    Like the SDK: only the text between the first and second ``?`` counts as the existing query,
    an existing key is overwritten in place, and a None / falsy option is omitted.
    """
    pieces = base_url.split("?")
    existing = urlsearchparams_parse(pieces[1]) if len(pieces) > 1 else []
    new = {
        "auth": auth,
        "ua": ua,
        "projectId": project_id,
        "useOnCloseEvent": "true" if use_on_close_event else None,
        "packageName": package_name or None,
        "bundleId": bundle_id or None,
    }
    pairs = list(existing)
    for key in sorted(new, key=locale_sort_key):
        value = new[key]
        if value is None:
            continue
        idx = next((i for i, (k, _) in enumerate(pairs) if k == key), None)
        if idx is None:
            pairs.append((key, value))
        else:  # URLSearchParams.set: replace the first, drop the rest
            pairs[idx] = (key, value)
            pairs = [p for i, p in enumerate(pairs) if i <= idx or p[0] != key]
    return pieces[0] + "?" + urlsearchparams_encode(pairs)
