"""Template rendering: every placeholder, native types, calldata helpers; hostile templates only raise TemplateError."""

from __future__ import annotations

import json
from typing import Any

import pytest
from eth_abi.abi import decode, encode
from eth_utils.crypto import keccak
from hypothesis import given, settings
from hypothesis import strategies as st

from proxy.attack.builders import BuildError, encode_call, multisend_packed, selector
from proxy.attack.scenario import CalldataDef, MultisendCall, MultisendDef
from proxy.attack.template import RenderContext, TemplateError, render

ACCOUNT = "0x504e4FbaB7bC2962b361E3730B965E61F289d0cC"
A2 = "0x2222222222222222222222222222222222222222"


def ctx(**kw: Any) -> RenderContext:
    base: dict[str, Any] = {
        "account": ACCOUNT,
        "chain_id": 1,
        "other_chain_id": 10,
        "now": 1_700_000_000,
        "nonce_base": 64,
        "uniq": "deadbeef00000002",
        "calldata": {
            "upgrade": CalldataDef(sig="upgradeTo(address)", args=(A2,)),
            "exec": CalldataDef(
                sig="execTransaction(address,bytes,uint8)",
                args=("{account}", "{calldata:upgrade}", 1),
            ),
            "loop": CalldataDef(sig="f(bytes)", args=("{calldata:loop}",)),
        },
        "multisend": {
            "batch": MultisendDef(
                calls=(MultisendCall(operation=1, to=A2, value=5, data="{calldata:upgrade}"),)
            )
        },
        "data": {"tx": {"from": "{account}", "nonce": "{nonce_hex:1}", "chainId": "{chain_id}"}},
        "steps": {"first": {"params": [{"to": A2, "nonce": "0x7"}], "result": "0xsig"}},
    }
    base.update(kw)
    return RenderContext(**base)


def test_simple_placeholders_keep_native_types() -> None:
    c = ctx()
    assert render("{account}", c) == ACCOUNT
    assert render("{chain}", c) == "eip155:1"
    assert render("{chain_id}", c) == 1
    assert render("{chain_id_hex}", c) == "0x1"
    assert render("{other_chain}", c) == "eip155:10"
    assert render("{other_chain_id_hex}", c) == "0xa"
    assert render("{now}", c) == 1_700_000_000
    assert render("{now+60}", c) == 1_700_000_060
    assert render("{now-60}", c) == 1_699_999_940
    assert render("{iso}", c) == "2023-11-14T22:13:20Z"
    assert render("{iso-3600}", c) == "2023-11-14T21:13:20Z"
    assert render("{nonce:3}", c) == 67
    assert render("{nonce_hex:3}", c) == "0x43"
    assert render("{hex:Hi}", c) == "0x4869"
    assert render("{repeat:3:ab}", c) == "ababab"
    assert render("{max_uint256}", c) == str(2**256 - 1)
    assert render("{zero_address}", c) == "0x" + "00" * 20
    assert render("{dapp_host}", c) == "attack.wcproxy.example"


def test_interpolation_and_escapes() -> None:
    c = ctx()
    assert render("Chain ID: {chain_id}, nonce {uniq}", c) == "Chain ID: 1, nonce deadbeef00000002"
    assert render("{{literal}} {chain_id}", c) == "{literal} 1"
    assert render({"a": ["{chain_id}", {"b": "{account}"}], "n": 3, "t": True, "z": None}, c) == {
        "a": [1, {"b": ACCOUNT}],
        "n": 3,
        "t": True,
        "z": None,
    }


def test_definitions_and_step_references() -> None:
    c = ctx()
    assert render("{data:tx}", c) == {"from": ACCOUNT, "nonce": "0x41", "chainId": 1}
    assert json.loads(render("{json:tx}", c)) == {"from": ACCOUNT, "nonce": "0x41", "chainId": 1}
    assert render("{step:first.0.nonce}", c) == "0x7"
    assert render("{result:first}", c) == "0xsig"


def test_calldata_matches_eth_abi() -> None:
    c = ctx()
    upgrade = render("{calldata:upgrade}", c)
    assert upgrade == "0x3659cfe6" + encode(["address"], [A2]).hex()
    inline = render(f"{{calldata:transfer(address,uint256):{A2}:1000}}", c)
    assert (
        inline
        == "0x"
        + (
            keccak(text="transfer(address,uint256)")[:4]
            + encode(["address", "uint256"], [A2, 1000])
        ).hex()
    )
    exec_data = bytes.fromhex(render("{calldata:exec}", c)[2:])
    to, inner, op = decode(["address", "bytes", "uint8"], exec_data[4:])
    assert (to.lower(), "0x" + inner.hex(), op) == (ACCOUNT.lower(), upgrade, 1)
    assert render(
        "{calldata:approve(address,uint256):0x2222222222222222222222222222222222222222:max}", c
    ).endswith("f" * 64)


def test_multisend_packing() -> None:
    packed = bytes.fromhex(render("{multisend:batch}", ctx())[2:])
    upgrade = bytes.fromhex(render("{calldata:upgrade}", ctx())[2:])
    assert packed[0] == 1
    assert packed[1:21] == bytes.fromhex(A2[2:])
    assert int.from_bytes(packed[21:53], "big") == 5
    assert int.from_bytes(packed[53:85], "big") == len(upgrade)
    assert packed[85:] == upgrade


@pytest.mark.parametrize(
    "template",
    [
        "{nope}",
        "{account:x}",
        "{chain_id+5}",
        "{nonce}",
        "{nonce:x}",
        "{nonce:99999}",
        "{calldata:missing}",
        "{calldata:loop}",
        "{calldata:f(uint8):300}",
        "{calldata:f(address):0x12}",
        "{calldata:f(uint256)}",
        "{calldata:f(uint256:1}",
        "{data:missing}",
        "{step:missing.0}",
        "{step:first.9}",
        "{result:nothing}",
        "{repeat:x:y}",
        "{repeat:999999999:abc}",
        "{iso+99999999999}",
        "unbalanced { brace",
        "unbalanced } brace",
    ],
)
def test_bad_placeholders_raise_template_error(template: str) -> None:
    with pytest.raises(TemplateError):
        render(template, ctx())


def test_builders_reject_bad_signatures() -> None:
    for sig in ("", "f", "f(", "(uint256)", "f(uint256", "f(uint256,)", "f(uint7)", "f-g(uint256)"):
        with pytest.raises(BuildError):
            encode_call(sig, [1])
    assert selector("transfer(address,uint256)") == bytes.fromhex("a9059cbb")
    with pytest.raises(BuildError):
        multisend_packed([(0, "0x12", 0, "0x")])


_PIECES = st.sampled_from(
    [
        "{",
        "}",
        "{{",
        "}}",
        ":",
        "+",
        "-",
        "0x",
        "(",
        ")",
        ",",
        "account",
        "chain_id",
        "now",
        "nonce",
        "calldata",
        "data",
        "json",
        "step",
        "result",
        "repeat",
        "hex",
        "iso",
        "tx",
        "upgrade",
        "uint256",
        "address",
        "first",
        "0",
        "9",
        "max",
        ".",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_PIECES, st.text(max_size=4)), max_size=14).map("".join))
def test_renderer_never_raises_anything_but_template_error(text: str) -> None:
    try:
        out = render(text, ctx())
    except TemplateError:
        return
    assert out is not None or text == ""


@settings(max_examples=100, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=8),
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
        ),
        max_leaves=10,
    )
)
def test_values_without_braces_render_unchanged(value: Any) -> None:
    text = json.dumps(value)
    if "{" in text or "}" in text:
        return
    rendered = render(value, ctx())
    assert json.dumps(rendered) == text
