"""walletconnect.envelope against envelope-type{0,1,2}.json and session-handshake.json, plus fuzzing."""

from __future__ import annotations

import base64
import contextlib
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from vectors import load

from walletconnect.crypto import derive_sym_key, generate_keypair, hash_key
from walletconnect.envelope import (
    MAX_ENVELOPE_BYTES,
    Envelope,
    EnvelopeType,
    decode_base64,
    open_envelope,
    open_sealed,
    parse_envelope,
    seal,
    seal_type1,
    seal_type2,
    serialize_envelope,
    type1_sym_key,
)
from walletconnect.errors import DecryptionError, EnvelopeError, InvalidKeyError

T0: list[dict[str, Any]] = load("envelope-type0")["cases"]
T1: list[dict[str, Any]] = load("envelope-type1")["cases"]
T2: list[dict[str, Any]] = load("envelope-type2")["cases"]
HS: dict[str, Any] = load("session-handshake")
T0_SEAL = [c for c in T0 if "iv_hex" in c["inputs"]]
KEY = bytes.fromhex(T0[0]["inputs"]["sym_key_hex"])


def encode_json(obj: Any) -> str:
    """The SDK's plaintext rule (JSON.stringify); jsonrpc.encode_json is tested on the same vectors."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def _ids(cases: list[dict[str, Any]]) -> list[str]:
    return [c.get("name", str(i)) for i, c in enumerate(cases)]


@pytest.mark.parametrize("case", T0_SEAL, ids=_ids(T0_SEAL))
def test_type0_vector(case: dict[str, Any]) -> None:
    inp, out = case["inputs"], case["outputs"]
    key, iv = bytes.fromhex(inp["sym_key_hex"]), bytes.fromhex(inp["iv_hex"])
    if "payload" in inp:
        assert encode_json(inp["payload"]) == inp["message_utf8"]
    env = seal(inp["message_utf8"], key, iv=iv)
    assert env == out["envelope_base64"]
    if "envelope_base64url" in out:
        assert seal(inp["message_utf8"], key, iv=iv, base64url=True) == out["envelope_base64url"]
        assert open_envelope(out["envelope_base64url"], key) == inp["message_utf8"]
    parsed = parse_envelope(env)
    layout = out["layout"]
    assert parsed.type is EnvelopeType.TYPE_0
    assert parsed.type_byte == int(layout["type_byte_hex"], 16)
    assert parsed.iv.hex() == layout["iv_hex"]
    assert parsed.sealed[:-16].hex() == layout["ciphertext_hex"]
    assert parsed.sealed[-16:].hex() == layout["poly1305_tag_hex"]
    assert len(decode_base64(env)) == layout["total_bytes"]
    assert open_envelope(env, key) == out.get("decrypted_utf8", inp["message_utf8"])
    assert serialize_envelope(parsed) == env


def test_type0_tampered_tag_vector() -> None:
    (case,) = [c for c in T0 if c["name"] == "tampered_tag_fails"]
    assert case["outputs"]["decrypt_throws"] is True
    with pytest.raises(DecryptionError):
        open_envelope(
            case["inputs"]["envelope_base64"], bytes.fromhex(case["inputs"]["sym_key_hex"])
        )


@pytest.mark.parametrize("case", T1, ids=_ids(T1))
def test_type1_vector(case: dict[str, Any]) -> None:
    inp, out = case["inputs"], case["outputs"]
    sender = generate_keypair(bytes.fromhex(inp["sender_private_key_hex"]))
    receiver = generate_keypair(bytes.fromhex(inp["receiver_private_key_hex"]))
    assert sender.public_key_hex == inp["sender_public_key_hex"]
    assert receiver.public_key_hex == inp["receiver_public_key_hex"]
    assert encode_json(inp["payload"]) == inp["message_utf8"]
    sym = derive_sym_key(sender.private_key, receiver.public_key)
    assert sym.hex() == out["sym_key_hex"]
    assert hash_key(receiver.public_key) == out["publish_topic_hex"]
    assert hash_key(sym) == out["resulting_session_topic_hex"]
    env = seal_type1(inp["message_utf8"], sym, sender.public_key, iv=bytes.fromhex(inp["iv_hex"]))
    assert env == out["envelope_base64"]
    parsed = parse_envelope(env)
    layout = out["layout"]
    assert parsed.type is EnvelopeType.TYPE_1
    assert parsed.type == out["validateDecoding"]["type"]
    assert parsed.sender_public_key is not None
    assert parsed.sender_public_key.hex() == layout["sender_public_key_hex"]
    assert parsed.iv.hex() == layout["iv_hex"]
    assert parsed.sealed[:-16].hex() == layout["ciphertext_hex"]
    assert parsed.sealed[-16:].hex() == layout["poly1305_tag_hex"]
    assert len(decode_base64(env)) == layout["total_bytes"]
    # the receiver derives the key from the embedded sender key
    rkey = type1_sym_key(parsed, receiver.private_key)
    assert rkey == sym
    assert open_sealed(parsed, rkey) == out["decrypted_utf8"]
    assert open_envelope(env, sym) == out["decrypted_utf8"]


@pytest.mark.parametrize("case", T2, ids=_ids(T2))
def test_type2_vector(case: dict[str, Any]) -> None:
    inp, out = case["inputs"], case["outputs"]
    assert seal_type2(inp["message_utf8"]) == out["envelope_base64"]
    assert seal_type2(inp["message_utf8"], base64url=True) == out["envelope_base64url"]
    for text in (out["envelope_base64"], out["envelope_base64url"]):
        parsed = parse_envelope(text)
        assert parsed.type == out["type_detected_base64"]
        assert parsed.iv == b""
        assert parsed.sealed.hex() == out["layout"]["plaintext_utf8_hex"]
        assert open_envelope(text, b"") == inp["message_utf8"]  # no key needed
    assert len(decode_base64(out["envelope_base64"])) == out["layout"]["total_bytes"]


HS_STEPS = [
    ("propose", "pairing", "propose"),
    ("approve_result", "pairing", "approve_result"),
    ("settle", "session", "settle"),
    ("settle_ack", "session", "settle_ack"),
]


@pytest.mark.parametrize(("step", "keyname", "ivname"), HS_STEPS, ids=[s[0] for s in HS_STEPS])
def test_session_handshake_envelopes(step: str, keyname: str, ivname: str) -> None:
    inp, out = HS["inputs"], HS["outputs"]
    dapp = generate_keypair(bytes.fromhex(inp["dapp_private_key_hex"]))
    wallet = generate_keypair(bytes.fromhex(inp["wallet_private_key_hex"]))
    assert dapp.public_key_hex == out["dapp_public_key_hex"]
    assert wallet.public_key_hex == out["wallet_public_key_hex"]
    pairing_key = bytes.fromhex(inp["pairing_sym_key_hex"])
    assert hash_key(pairing_key) == out["pairing_topic_hex"]
    session_key = derive_sym_key(wallet.private_key, dapp.public_key)
    assert session_key.hex() == out["session_sym_key_hex"]
    assert derive_sym_key(dapp.private_key, wallet.public_key) == session_key
    assert hash_key(session_key) == out["session_topic_hex"]
    key = pairing_key if keyname == "pairing" else session_key
    data = out[step]
    if "payload" in data:
        assert encode_json(data["payload"]) == data["message_utf8"]
    env = seal(data["message_utf8"], key, iv=bytes.fromhex(inp["ivs_hex"][ivname]))
    assert env == data["envelope_base64"]
    assert open_envelope(env, key) == data["message_utf8"]


# --- malformed envelopes: one test per kind -------------------------------------------------

VALID = T0[0]["outputs"]["envelope_base64"]


def test_oversized_envelope_rejected_before_decoding() -> None:
    with pytest.raises(EnvelopeError, match="too large"):
        parse_envelope("A" * (MAX_ENVELOPE_BYTES + 4))
    with pytest.raises(EnvelopeError, match="too large"):
        open_envelope(VALID, KEY, max_size=len(VALID) - 1)
    assert open_envelope(VALID, KEY, max_size=len(VALID))


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("AAAA*AAA", "invalid base64"),
        ("AA AAA", "invalid base64"),
        ("AAA=A", "padding"),
        ("A===", "padding"),
        ("AAAAA", "truncated"),
        ("ÄAAA", "non-ASCII"),
    ],
    ids=["bad-char", "space", "inner-padding", "excess-padding", "length-mod-4", "non-ascii"],
)
def test_bad_base64(text: str, match: str) -> None:
    with pytest.raises(EnvelopeError, match=match):
        parse_envelope(text)


def test_not_text() -> None:
    with pytest.raises(EnvelopeError):
        parse_envelope(b"AAAA")  # type: ignore[arg-type]


def test_empty_envelope() -> None:
    with pytest.raises(EnvelopeError, match="empty"):
        parse_envelope("")


def test_type0_header_too_short() -> None:
    with pytest.raises(EnvelopeError, match="too short"):
        parse_envelope(base64.b64encode(bytes(12)).decode())


def test_type1_header_too_short() -> None:
    with pytest.raises(EnvelopeError, match="too short"):
        parse_envelope(base64.b64encode(b"\x01" + bytes(43)).decode())


def test_ciphertext_shorter_than_tag_is_decryption_error() -> None:
    with pytest.raises(DecryptionError, match="tag"):
        open_envelope(base64.b64encode(bytes(13 + 15)).decode(), KEY)


def test_wrong_key_is_decryption_error() -> None:
    with pytest.raises(DecryptionError):
        open_envelope(VALID, bytes(32))


def test_bad_key_length_is_invalid_key() -> None:
    with pytest.raises(InvalidKeyError):
        open_envelope(VALID, bytes(31))
    with pytest.raises(InvalidKeyError):
        seal("x", bytes(16))
    with pytest.raises(InvalidKeyError):
        seal_type1("x", KEY, bytes(31))
    with pytest.raises(EnvelopeError, match="iv"):
        seal("x", KEY, iv=bytes(8))


def test_non_utf8_plaintext_is_decryption_error() -> None:
    from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

    iv = bytes(12)
    raw = b"\x00" + iv + ChaCha20Poly1305(KEY).encrypt(iv, b"\xff\xfe", None)
    with pytest.raises(DecryptionError, match="UTF-8"):
        open_envelope(base64.b64encode(raw).decode(), KEY)
    with pytest.raises(DecryptionError, match="UTF-8"):
        open_envelope(base64.b64encode(b"\x02\xff").decode(), KEY)


def test_unknown_type_byte_parsed_as_type0_like_the_sdk() -> None:
    raw = bytearray(decode_base64(VALID))
    raw[0] = 7  # the tag does not cover byte 0: the SDK still decrypts this
    text = base64.b64encode(bytes(raw)).decode()
    env = parse_envelope(text)
    assert env.type is EnvelopeType.TYPE_0
    assert env.type_byte == 7
    assert open_envelope(text, KEY) == T0[0]["inputs"]["message_utf8"]
    assert serialize_envelope(env) == text
    with pytest.raises(EnvelopeError, match="unknown envelope type"):
        parse_envelope(text, strict=True)


def test_lenient_base64_variants() -> None:
    unpadded = VALID.rstrip("=")
    assert unpadded != VALID
    url = VALID.replace("+", "-").replace("/", "_").rstrip("=")
    for text in (unpadded, url):
        assert open_envelope(text, KEY) == T0[0]["inputs"]["message_utf8"]


def test_type1_sym_key_requires_type1() -> None:
    with pytest.raises(EnvelopeError):
        type1_sym_key(parse_envelope(VALID), bytes(32))


def test_envelope_is_frozen() -> None:
    env = parse_envelope(VALID)
    assert isinstance(env, Envelope)
    with pytest.raises(AttributeError):
        env.iv = b""  # type: ignore[misc]


# --- properties ------------------------------------------------------------------------------

keys = st.binary(min_size=32, max_size=32)


@given(st.text(max_size=300), keys)
def test_seal_open_round_trip(text: str, key: bytes) -> None:
    assert open_envelope(seal(text, key), key) == text
    assert open_envelope(seal(text, key, base64url=True), key) == text


@given(st.text(max_size=200), keys, keys)
def test_type1_round_trip(text: str, key: bytes, sender: bytes) -> None:
    assert open_envelope(seal_type1(text, key, sender), key) == text


@given(st.text(max_size=200))
def test_type2_round_trip(text: str) -> None:
    assert open_envelope(seal_type2(text), b"") == text


@given(st.text(max_size=100), keys, st.data())
def test_any_flipped_byte_fails_closed(text: str, key: bytes, data: st.DataObject) -> None:
    raw = bytearray(decode_base64(seal(text, key)))
    pos = data.draw(st.integers(min_value=0, max_value=len(raw) - 1), label="pos")
    raw[pos] ^= data.draw(st.integers(min_value=1, max_value=255), label="mask")
    with pytest.raises((DecryptionError, EnvelopeError)):
        open_envelope(base64.b64encode(bytes(raw)).decode(), key, strict=True)


@given(st.text(max_size=100), keys, st.data())
def test_flipped_bytes_after_type_byte_fail_in_sdk_mode(
    text: str, key: bytes, data: st.DataObject
) -> None:
    raw = bytearray(decode_base64(seal(text, key)))
    pos = data.draw(st.integers(min_value=1, max_value=len(raw) - 1), label="pos")
    raw[pos] ^= data.draw(st.integers(min_value=1, max_value=255), label="mask")
    with pytest.raises((DecryptionError, EnvelopeError)):
        open_envelope(base64.b64encode(bytes(raw)).decode(), key)


@given(st.text(max_size=400), keys)
def test_arbitrary_text_raises_only_envelope_errors(text: str, key: bytes) -> None:
    try:
        env = parse_envelope(text)
    except EnvelopeError:
        return
    assert env.type in set(EnvelopeType)
    with contextlib.suppress(DecryptionError, EnvelopeError):
        open_sealed(env, key)


@given(st.binary(max_size=200), keys)
def test_arbitrary_base64_payload_raises_only_envelope_errors(raw: bytes, key: bytes) -> None:
    text = base64.b64encode(raw).decode()
    with contextlib.suppress(DecryptionError, EnvelopeError):
        open_envelope(text, key)


# --- cross-check against the official SDK (node) -----------------------------------------------

_NODE_CRYPTO = r"""
const u = require("@walletconnect/utils");
let d = "";
process.stdin.on("data", (c) => (d += c)).on("end", () => {
  const out = JSON.parse(d).map((c) => {
    const sym = u.deriveSymKey(c.priv, c.peer);
    return {
      sym,
      topic: u.hashKey(sym),
      env0: u.encrypt({ symKey: sym, message: c.msg, iv: c.iv }),
      env1: u.encrypt({ type: 1, symKey: sym, message: c.msg, iv: c.iv, senderPublicKey: c.peer }),
      env2: u.encodeTypeTwoEnvelope(c.msg),
      opened: u.decrypt({ symKey: sym, encoded: c.ours }),
    };
  });
  process.stdout.write(JSON.stringify(out));
});
"""


@pytest.mark.sdk
def test_key_agreement_and_envelopes_match_the_sdk() -> None:
    import os
    import random
    import subprocess

    from sdk import NODE_MODULES, require_sdk

    node = require_sdk()
    rng = random.Random(7)
    cases = []
    for i in range(40):
        priv, peer_priv = rng.randbytes(32), rng.randbytes(32)
        peer = generate_keypair(peer_priv).public_key
        msg = "".join(rng.choice('aé✓😀"\\{}\n ') for _ in range(i * 3))
        sym = derive_sym_key(priv, peer)
        iv = rng.randbytes(12)
        cases.append(
            {
                "priv": priv.hex(),
                "peer": peer.hex(),
                "msg": msg,
                "iv": iv.hex(),
                "ours": seal(msg, sym),
                "_sym": sym,
                "_iv": iv,
                "_peer": peer,
            }
        )
    wire = [{k: v for k, v in c.items() if not k.startswith("_")} for c in cases]
    out = subprocess.run(
        [node, "-e", _NODE_CRYPTO],
        input=json.dumps(wire),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={**os.environ, "NODE_PATH": str(NODE_MODULES)},
    )
    for case, res in zip(cases, json.loads(out.stdout), strict=True):
        sym, iv, msg = case["_sym"], case["_iv"], case["msg"]
        assert sym.hex() == res["sym"]
        assert hash_key(sym) == res["topic"]
        assert seal(msg, sym, iv=iv) == res["env0"]
        assert seal_type1(msg, sym, case["_peer"], iv=iv) == res["env1"]
        assert open_envelope(res["env1"], sym) == msg
        assert res["opened"] == msg  # the SDK opens what we seal
        assert open_envelope(res["env2"], b"") == msg  # type 2 has a random IV-less layout
        assert parse_envelope(res["env2"]).type is EnvelopeType.TYPE_2
