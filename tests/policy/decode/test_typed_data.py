"""EIP-712 validation: hostile shapes are refused with a precise reason; the digest is eth-account's."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
from builders import ALICE, BOB, eip712, eip712_digest, permit_2612, req, typed_request

from policy.actions import ActionClass
from policy.decode import decode
from policy.errors import DecodeError

MAIL = eip712(
    "Mail",
    {
        "Person": [("name", "string"), ("wallet", "address")],
        "Mail": [("from", "Person"), ("to", "Person[]"), ("contents", "string")],
    },
    {"name": "Ether Mail", "version": "1", "chainId": 1, "verifyingContract": "0x" + "cc" * 20},
    {
        "from": {"name": "Cow", "wallet": ALICE},
        "to": [{"name": "Bob", "wallet": BOB}],
        "contents": "Hello",
    },
)


def mutate(fn: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    full = copy.deepcopy(MAIL)
    fn(full)
    return full


def test_digest_matches_eth_account_with_string_and_object_params() -> None:
    for as_string in (True, False):
        action = decode(typed_request(MAIL, as_string=as_string))
        assert action.payload_hash == eip712_digest(MAIL)


def test_numbers_as_decimal_or_hex_strings_hash_like_ints() -> None:
    full = permit_2612(value=1000)
    ref = decode(typed_request(full)).payload_hash
    full["message"]["value"] = "1000"
    assert decode(typed_request(full)).payload_hash == ref
    full["message"]["value"] = "0x3e8"
    assert decode(typed_request(full)).payload_hash == ref


def test_unused_types_are_ignored() -> None:
    full = mutate(lambda f: f["types"].update({"Unused": [{"name": "x", "type": "uint8"}]}))
    assert decode(typed_request(full)).payload_hash == eip712_digest(MAIL)


def test_reversed_params() -> None:
    action = decode(req("eth_signTypedData_v4", [json.dumps(MAIL), ALICE]))
    assert action.payload_hash == eip712_digest(MAIL)


BAD: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "extra_top_level": (lambda f: f.update({"extra": 1}), "typed_data_malformed"),
    "extra_message_field": (lambda f: f["message"].update({"bcc": "x"}), "typed_data_malformed"),
    "missing_message_field": (lambda f: f["message"].pop("contents"), "typed_data_malformed"),
    "undefined_type": (
        lambda f: f["types"]["Mail"].append({"name": "x", "type": "Nope"}),
        "typed_data_malformed",
    ),
    "duplicate_field": (
        lambda f: f["types"]["Person"].append({"name": "name", "type": "string"}),
        "typed_data_ambiguous",
    ),
    "reserved_type_name": (
        lambda f: f["types"].update({"uint256": [{"name": "x", "type": "uint8"}]}),
        "typed_data_ambiguous",
    ),
    "field_extra_key": (
        lambda f: f["types"]["Person"][0].update({"extra": 1}),
        "typed_data_malformed",
    ),
    "bad_field_name": (
        lambda f: f["types"]["Person"].__setitem__(0, {"name": "na me", "type": "string"}),
        "typed_data_malformed",
    ),
    "domain_order": (
        lambda f: f["types"]["EIP712Domain"].reverse(),
        "typed_data_malformed",
    ),
    "domain_missing_type": (lambda f: f["types"].pop("EIP712Domain"), "typed_data_malformed"),
    "domain_extra_key": (lambda f: f["domain"].update({"salt2": "0x"}), "typed_data_malformed"),
    "address_bad": (
        lambda f: f["message"]["from"].update({"wallet": "0x1234"}),
        "typed_data_malformed",
    ),
    "bool_for_string": (lambda f: f["message"].update({"contents": True}), "typed_data_malformed"),
    "primary_missing": (lambda f: f.update({"primaryType": "Nope"}), "typed_data_malformed"),
    "primary_domain": (lambda f: f.update({"primaryType": "EIP712Domain"}), "typed_data_malformed"),
    "cycle_through_primary": (
        lambda f: f["types"]["Person"].append({"name": "m", "type": "Mail"}),
        "typed_data_ambiguous",
    ),
    "array_not_list": (
        lambda f: f["message"].update({"to": {"name": "Bob"}}),
        "typed_data_malformed",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_malformed_typed_data(case: str) -> None:
    fn, reason = BAD[case]
    with pytest.raises(DecodeError) as exc:
        decode(typed_request(mutate(fn)))
    assert exc.value.reason == reason


@pytest.mark.parametrize(
    "value",
    ["1e3", " 1000", "+1000", "01000", "1_000", 1.5, True, None, [], "-1", str(2**256), "0x"],
)
def test_noncanonical_numbers(value: Any) -> None:
    full = permit_2612(value=1)
    full["message"]["value"] = value
    with pytest.raises(DecodeError) as exc:
        decode(typed_request(full))
    assert exc.value.reason == "typed_data_malformed"


def test_v3_refuses_arrays_and_v4_accepts() -> None:
    with pytest.raises(DecodeError):
        decode(typed_request(MAIL, method="eth_signTypedData_v3"))
    assert decode(typed_request(MAIL)).action_class is ActionClass.TYPED_DATA_SIGN


def test_permit_shape_lookalike_is_ambiguous() -> None:
    full = eip712(
        "Permit",
        {"Permit": [("owner", "address"), ("spender", "address"), ("amount", "uint256")]},
        {"name": "T", "chainId": 1, "verifyingContract": "0x" + "aa" * 20},
        {"owner": ALICE, "spender": BOB, "amount": 1},
    )
    with pytest.raises(DecodeError) as exc:
        decode(typed_request(full))
    assert exc.value.reason == "typed_data_ambiguous"


def test_permit_without_verifying_contract_is_ambiguous() -> None:
    full = permit_2612(value=1)
    del full["domain"]["verifyingContract"]
    full["types"]["EIP712Domain"] = [
        f for f in full["types"]["EIP712Domain"] if f["name"] != "verifyingContract"
    ]
    with pytest.raises(DecodeError) as exc:
        decode(typed_request(full))
    assert exc.value.reason == "typed_data_ambiguous"


def test_size_and_json_constants() -> None:
    with pytest.raises(DecodeError) as exc:
        decode(req("eth_signTypedData_v4", [ALICE, "x" * 100_000]))
    assert exc.value.reason == "too_large"
    text = json.dumps(permit_2612(value=1)).replace('"value": 1', '"value": NaN')
    with pytest.raises(DecodeError) as exc:
        decode(req("eth_signTypedData_v4", [ALICE, text]))
    assert exc.value.reason == "typed_data_malformed"


def test_deep_nesting_is_bounded() -> None:
    full = eip712(
        "Node",
        {"Node": [("next", "Node[]")]},
        {"name": "x", "chainId": 1},
        {"next": []},
    )
    node: dict[str, Any] = {"next": []}
    for _ in range(60):
        node = {"next": [node]}
    full["message"] = node
    with pytest.raises(DecodeError) as exc:
        decode(typed_request(full, as_string=False))
    assert exc.value.reason == "depth_exceeded"
