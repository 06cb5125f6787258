"""walletconnect.relay_auth against relay-auth-jwt.json, plus JWT verification failure modes."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from vectors import load

from walletconnect.errors import InvalidKeyError, RelayAuthError
from walletconnect.relay_auth import (
    ClientIdentity,
    JwtClaims,
    b58decode,
    b58encode,
    decode_did_key,
    encode_did_key,
    relay_url,
    subscription_id,
    verify_jwt,
)

CASES: dict[str, dict[str, Any]] = {c["name"]: c for c in load("relay-auth-jwt")["cases"]}
FIXED = CASES["fixed_seed"]
IN, OUT = FIXED["inputs"], FIXED["outputs"]
IDENT = ClientIdentity.from_seed(bytes.fromhex(IN["ed25519_seed_hex"]))
NOW = IN["iat"] + 10


def test_identity_vector() -> None:
    assert IDENT.public_key.hex() == OUT["ed25519_public_key_hex"]
    assert (IDENT.seed + IDENT.public_key).hex() == OUT["secret_key_hex_seed_then_public"]
    assert IDENT.client_id == OUT["did_key"]
    assert IDENT.client_id.startswith("did:key:z6Mk")
    assert b58decode(IDENT.client_id.split(":")[2][1:]).hex() == OUT["multicodec_bytes_hex"]
    assert decode_did_key(OUT["did_key"]).hex() == OUT["decode_iss_public_key_hex"]


def test_jwt_vector_byte_for_byte() -> None:
    jwt = IDENT.sign_jwt(aud=IN["aud"], iat=IN["iat"], sub=IN["sub"], ttl=IN["ttl"])
    assert jwt == OUT["jwt"]
    header, payload, sig = jwt.split(".")
    assert f"{header}.{payload}" == OUT["jwt_signing_input_ascii"]
    pad = lambda s: s + "=" * (-len(s) % 4)  # noqa: E731
    assert base64.urlsafe_b64decode(pad(header)).decode() == OUT["jwt_header_json"]
    assert base64.urlsafe_b64decode(pad(payload)).decode() == OUT["jwt_payload_json"]
    assert base64.urlsafe_b64decode(pad(sig)).hex() == OUT["jwt_signature_hex"]
    assert IDENT.sign_jwt(aud=IN["aud"], iat=IN["iat"], sub=IN["sub"]) == OUT["jwt"]  # default ttl


def test_verify_vector_jwt() -> None:
    claims = verify_jwt(OUT["jwt"], now=NOW, aud=IN["aud"])
    assert OUT["verifyJWT"] is True
    assert claims == JwtClaims(**OUT["decoded_payload"])
    assert claims.client_id == OUT["did_key"]


def test_subscription_id_vector() -> None:
    case = CASES["subscription_id"]
    got = subscription_id(case["inputs"]["topic"], case["inputs"]["client_id"])
    assert got == case["outputs"]["subscription_id_hex"]


def test_relay_url_vector() -> None:
    case = CASES["relay_ws_url_query"]
    inp, out = case["inputs"], case["outputs"]
    url = relay_url(
        inp["relay_url"],
        auth=inp["auth"],
        project_id=inp["projectId"],
        ua=inp["ua_fixed_for_query_vector"],
        use_on_close_event=inp["useOnCloseEvent"],
    )
    assert url == f"{inp['relay_url']}?{out['query_string_with_fixed_ua']}"
    assert url == out["formatRelayRpcUrl_on_generator_machine"]


def test_relay_url_keeps_existing_query_and_omits_none() -> None:
    url = relay_url("ws://127.0.0.1:1/?x=a b&auth=old", auth="t/k", project_id=None)
    assert url == "ws://127.0.0.1:1/?x=a+b&auth=t%2Fk&useOnCloseEvent=true"
    url = relay_url("wss://r", auth="j", project_id="p", use_on_close_event=False, bundle_id="b.c")
    assert url == "wss://r?auth=j&bundleId=b.c&projectId=p"


def test_generated_identity_is_fresh_and_repr_hides_seed() -> None:
    a, b = ClientIdentity.generate(), ClientIdentity.generate()
    assert a.client_id != b.client_id
    assert a.seed.hex() not in repr(a)
    with pytest.raises(InvalidKeyError):
        ClientIdentity.from_seed(bytes(31))
    with pytest.raises(InvalidKeyError):
        encode_did_key(bytes(31))


# --- did:key failures ------------------------------------------------------------------------

GOOD_Z = OUT["did_key"].split(":")[2]
BAD_DIDS = [
    ("not-did", f"dud:key:{GOOD_Z}", "not a did"),
    ("too-many-parts", f"did:key:{GOOD_Z}:x", "not a did"),
    ("method", f"did:web:{GOOD_Z}", "did method"),
    ("multibase", f"did:key:{GOOD_Z[1:]}", "base58btc"),
    ("base58-char", "did:key:z6Mk0OIl", "base58 character"),
    ("codec", "did:key:z" + b58encode(b"\xe7\x01" + bytes(32)), "ed25519-pub"),
    ("short-key", "did:key:z" + b58encode(b"\xed\x01" + bytes(31)), "32 bytes"),
    ("long", "did:key:z" + "1" * 200, "too long"),
]


@pytest.mark.parametrize(
    ("did", "reason"), [(d, r) for _, d, r in BAD_DIDS], ids=[n for n, _, _ in BAD_DIDS]
)
def test_decode_did_key_errors(did: str, reason: str) -> None:
    with pytest.raises(RelayAuthError, match=reason):
        decode_did_key(did)


# --- JWT failures ----------------------------------------------------------------------------


def _b64(obj: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


def _forge(header: Any, payload: Any, ident: ClientIdentity = IDENT) -> str:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    signing = f"{_b64(header)}.{_b64(payload)}"
    sig = Ed25519PrivateKey.from_private_bytes(ident.seed).sign(signing.encode())
    return signing + "." + base64.urlsafe_b64encode(sig).rstrip(b"=").decode()


PAYLOAD = dict(OUT["decoded_payload"])
HDR = {"alg": "EdDSA", "typ": "JWT"}
H, P, S = OUT["jwt"].split(".")
OTHER = ClientIdentity.from_seed(bytes(range(32)))

BAD_JWTS = [
    ("two-parts", f"{H}.{P}", "3 parts"),
    ("padding", f"{H}.{P}=.{S}", "unpadded"),
    ("bad-b64", f"{H}.{P}!.{S}", "base64url"),
    ("not-json", f"{H}.{_b64('x')[:-2]}.{S}", "not JSON|base64url"),
    ("payload-array", _forge(HDR, [1]), "JSON objects"),
    ("alg-none", _forge({"alg": "none", "typ": "JWT"}, PAYLOAD), "alg"),
    ("typ", _forge({"alg": "EdDSA", "typ": "JWS"}, PAYLOAD), "typ"),
    ("missing-sub", _forge(HDR, {k: v for k, v in PAYLOAD.items() if k != "sub"}), "'sub'"),
    ("iat-string", _forge(HDR, {**PAYLOAD, "iat": "1"}), "'iat'"),
    ("exp-bool", _forge(HDR, {**PAYLOAD, "exp": True}), "'exp'"),
    ("bad-iss", _forge(HDR, {**PAYLOAD, "iss": "did:key:zzz"}), "base58|ed25519"),
    ("wrong-signer", _forge(HDR, PAYLOAD, OTHER), "signature does not verify"),
    ("tampered-sig", f"{H}.{P}.{S[:-2]}AA", "signature does not verify"),
    ("short-sig", f"{H}.{P}.{S[:20]}", "64 bytes"),
    ("non-ascii", f"{H}.{P}.{S}é", "non-ASCII"),
    ("too-long", f"{H}.{P}.{S}" + "A" * 5000, "too long"),
]


@pytest.mark.parametrize(
    ("token", "reason"), [(t, r) for _, t, r in BAD_JWTS], ids=[n for n, _, _ in BAD_JWTS]
)
def test_verify_jwt_errors(token: str, reason: str) -> None:
    with pytest.raises(RelayAuthError, match=reason):
        verify_jwt(token, now=NOW)


def test_verify_jwt_time_and_audience() -> None:
    with pytest.raises(RelayAuthError, match="expired"):
        verify_jwt(OUT["jwt"], now=PAYLOAD["exp"])
    assert verify_jwt(OUT["jwt"], now=PAYLOAD["exp"] - 1).exp == PAYLOAD["exp"]
    with pytest.raises(RelayAuthError, match="future"):
        verify_jwt(OUT["jwt"], now=PAYLOAD["iat"] - 301)
    assert verify_jwt(OUT["jwt"], now=PAYLOAD["iat"] - 300).iat == PAYLOAD["iat"]
    with pytest.raises(RelayAuthError, match="audience"):
        verify_jwt(OUT["jwt"], now=NOW, aud="ws://127.0.0.1:1")
    backwards = IDENT.sign_jwt(aud="a", iat=NOW, sub="s", ttl=-5)
    with pytest.raises(RelayAuthError, match=r"expired|iat after exp"):
        verify_jwt(backwards, now=NOW - 10)


@given(st.binary(min_size=0, max_size=40))
def test_base58_round_trip(data: bytes) -> None:
    assert b58decode(b58encode(data)) == data


@given(st.binary(min_size=32, max_size=32), st.text(max_size=30), st.integers(0, 2**40))
def test_sign_verify_round_trip(seed: bytes, aud: str, iat: int) -> None:
    ident = ClientIdentity.from_seed(seed)
    assert decode_did_key(ident.client_id) == ident.public_key
    claims = verify_jwt(ident.sign_jwt(aud=aud, iat=iat, sub="s"), now=iat, aud=aud)
    assert claims.iss == ident.client_id
    assert claims.exp == iat + 86400


@given(st.text(max_size=300))
def test_verify_arbitrary_text_raises_only_relay_auth_error(text: str) -> None:
    with pytest.raises(RelayAuthError):
        verify_jwt(text, now=NOW)


@given(st.text(max_size=100))
def test_decode_arbitrary_did_raises_only_relay_auth_error(text: str) -> None:
    try:
        key = decode_did_key(text)
    except RelayAuthError:
        return
    assert len(key) == 32
