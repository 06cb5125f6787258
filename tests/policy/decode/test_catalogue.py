"""One test (or a few) per row of the signing-request catalogue (signing-requests.md §1, rows 1-26)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from builders import (
    ALICE,
    ALICE_KEY,
    BOB,
    DAI,
    MULTISEND_CALL_ONLY,
    NFT,
    PERMIT2,
    SAFE,
    SEAPORT,
    SEAPORT_DOMAIN,
    SWAP_ROUTER02,
    UNIVERSAL_ROUTER,
    USDC,
    calldata,
    eip712,
    eip712_digest,
    json_tx,
    multisend,
    permit2_single,
    permit_2612,
    req,
    safe_tx,
    seaport_order,
    seaport_types,
    siwe_text,
    tx_request,
    typed_request,
)
from eth_account import Account
from eth_account._utils.legacy_transactions import serializable_unsigned_transaction_from_dict
from eth_account.messages import _hash_eip191_message, encode_defunct, encode_typed_data
from eth_account.typed_transactions.typed_transaction import TypedTransaction
from eth_utils.address import to_checksum_address

from policy.actions import NON_DELEGABLE_CLASSES, Action, ActionClass, NonceKind, ProtocolNonce
from policy.decode import decode
from policy.errors import DecodeError
from policy.tokens import TokenInfo, TokenList

A = ActionClass
MAX = 2**256 - 1
TOKENS = TokenList([TokenInfo(1, USDC, "USDC", 6), TokenInfo(1, NFT, "BAYC", 0, "erc721")])
ACCT = Account.from_key(ALICE_KEY)


def _reason(exc: pytest.ExceptionInfo[DecodeError]) -> str:
    return exc.value.reason


# --- rows 1-6: transactions ------------------------------------------------------------------


def test_row1_legacy_without_eip155_is_chain_unbound() -> None:
    tx: dict[str, Any] = {
        "nonce": 4,
        "gasPrice": 10**9,
        "gas": 21000,
        "to": to_checksum_address(BOB),
        "value": 5,
        "data": b"",
    }
    raw = ACCT.sign_transaction(tx).raw_transaction
    action = decode(req("eth_signTransaction", ["0x" + raw.hex()]))
    assert action.chain_unbound
    assert not action.chain_ids
    assert action.accounts == {ALICE}  # recovered from v = 27/28
    assert ("unprotected_signature", "legacy v = 27/28") in action.details
    assert (
        action.payload_hash == "0x" + serializable_unsigned_transaction_from_dict(tx).hash().hex()
    )
    # the JSON form without chainId is flagged the same way
    j = decode(
        tx_request(json_tx(frm=ALICE, to=BOB, value=5, gas=21000, gas_price=10**9, nonce=4, type=0))
    )
    assert j.chain_unbound
    assert j.payload_hash == action.payload_hash


def test_row2_legacy_eip155() -> None:
    tx: dict[str, Any] = {
        "nonce": 4,
        "gasPrice": 10**9,
        "gas": 21000,
        "to": to_checksum_address(BOB),
        "value": 5,
        "data": b"",
        "chainId": 10,
    }
    raw = ACCT.sign_transaction(tx).raw_transaction
    signed = decode(req("eth_signTransaction", ["0x" + raw.hex()], 10))
    expected = "0x" + serializable_unsigned_transaction_from_dict(tx).hash().hex()
    assert signed.chain_ids == {10}
    assert not signed.chain_unbound
    assert signed.payload_hash == expected
    j = decode(
        tx_request(
            json_tx(frm=ALICE, to=BOB, value=5, gas=21000, gas_price=10**9, nonce=4, chain_id=10)
        )
    )
    assert j.payload_hash == expected
    assert j.chain_ids == {10}
    assert ProtocolNonce(NonceKind.CHAIN, ("10", ALICE, "4")) in j.nonces
    assert j.action_class is A.NATIVE_TRANSFER
    assert j.native_value == 5
    assert j.destinations == {BOB}


def test_row3_type1_access_list() -> None:
    al = [{"address": to_checksum_address(USDC), "storageKeys": ["0x" + "00" * 31 + "01"]}]
    tx: dict[str, Any] = {
        "type": 1,
        "chainId": 1,
        "nonce": 0,
        "gasPrice": 7,
        "gas": 60000,
        "to": to_checksum_address(USDC),
        "value": 0,
        "data": calldata("transfer(address,uint256)", BOB, 10),
        "accessList": al,
    }
    action = decode(
        tx_request(
            json_tx(frm=ALICE, **{k: v for k, v in tx.items() if k != "chainId"}, chain_id=1)
        ),
        tokens=TOKENS,
    )
    assert action.payload_hash == "0x" + TypedTransaction.from_dict(tx).hash().hex()
    assert action.action_class is A.ERC20_TRANSFER
    assert ("access_list_entries", "1") in action.details


def test_row4_type2_decode_deploy_and_fee_sanity() -> None:
    tx: dict[str, Any] = {
        "type": 2,
        "chainId": 1,
        "nonce": 1,
        "maxFeePerGas": 30,
        "maxPriorityFeePerGas": 2,
        "gas": 80000,
        "to": to_checksum_address(USDC),
        "value": 0,
        "data": calldata("transfer(address,uint256)", BOB, 10**6),
    }
    action = decode(
        tx_request(
            json_tx(
                frm=ALICE,
                to=USDC,
                nonce=1,
                max_fee=30,
                max_priority=2,
                gas=80000,
                data=tx["data"],
                chain_id=1,
            )
        ),
        tokens=TOKENS,
    )
    assert action.payload_hash == "0x" + TypedTransaction.from_dict(tx).hash().hex()
    assert action.token_amounts[0].amount == 10**6
    assert action.destinations == {BOB}
    assert ("max_gas_fee_wei", str(30 * 80000)) in action.details
    deploy = decode(tx_request(json_tx(frm=ALICE, data=b"\x60\x80", chain_id=1)))
    assert deploy.action_class is A.CONTRACT_DEPLOY
    assert ("payload_hash", "canonical_json (nonce, gas or fee fields missing)") in deploy.details
    with pytest.raises(DecodeError) as exc:
        decode(tx_request(json_tx(frm=ALICE, to=BOB, gas_price=1, max_fee=2, chain_id=1)))
    assert _reason(exc) == "conflicting_fee_fields"


def test_row5_blob_transactions_refused() -> None:
    with pytest.raises(DecodeError) as exc:
        decode(tx_request(json_tx(frm=ALICE, to=BOB, type=3, chain_id=1, maxFeePerBlobGas=1)))
    assert _reason(exc) == "unsupported_tx_type"
    with pytest.raises(DecodeError) as exc:
        decode(req("eth_signTransaction", ["0x03c0"]))
    assert _reason(exc) == "unsupported_tx_type"


def test_row6_eip7702_set_code() -> None:
    auth = ACCT.sign_authorization({"chainId": 0, "address": to_checksum_address(BOB), "nonce": 8})
    tx: dict[str, Any] = {
        "type": 4,
        "chainId": 1,
        "nonce": 7,
        "maxFeePerGas": 10,
        "maxPriorityFeePerGas": 1,
        "gas": 100000,
        "to": ACCT.address,
        "value": 0,
        "data": b"",
        "accessList": [],
        "authorizationList": [auth],
    }
    raw = ACCT.sign_transaction(tx).raw_transaction
    signed = decode(req("eth_signTransaction", ["0x" + raw.hex()]))
    json_auth = {
        "chainId": "0x0",
        "address": BOB,
        "nonce": "0x8",
        "yParity": hex(auth.y_parity),
        "r": hex(auth.r),
        "s": hex(auth.s),
    }
    j = decode(
        tx_request(
            json_tx(
                frm=ALICE,
                to=ALICE,
                nonce=7,
                max_fee=10,
                max_priority=1,
                gas=100000,
                chain_id=1,
                authorizationList=[json_auth],
            )
        )
    )
    for action in (signed, j):
        assert action.action_class is A.AUTHORITY_SET_CODE
        assert action.chain_ids == {0, 1}  # 0 = every chain
        assert ProtocolNonce(NonceKind.AUTHORIZATION, ("0", ALICE, "8")) in action.nonces
        assert any("EIP-7702" in r for r in action.non_delegable)
        assert BOB in action.destinations
    assert (
        j.payload_hash == signed.payload_hash == "0x" + TypedTransaction.from_dict(tx).hash().hex()
    )


# --- rows 7-9: messages ---------------------------------------------------------------------


def test_row7_eth_sign_is_blind() -> None:
    action = decode(req("eth_sign", [ALICE, "0x" + "ab" * 32]))
    assert action.action_class is A.RAW_SIGN
    assert action.chain_unbound
    assert action.non_delegable


@pytest.mark.parametrize("reversed_order", [False, True])
def test_row8_personal_sign_text_and_hex(reversed_order: bool) -> None:
    text = "Hello from Example\nnonce 1"
    for msg in (text, "0x" + text.encode().hex()):
        params = [ALICE, msg] if reversed_order else [msg, ALICE]
        action = decode(req("personal_sign", params))
        assert action.action_class is A.MESSAGE_SIGN
        assert action.accounts == {ALICE}
        assert action.payload_hash == "0x" + _hash_eip191_message(encode_defunct(text=text)).hex()
    blind = decode(req("personal_sign", ["0x" + "cd" * 32, ALICE]))
    assert blind.action_class is A.RAW_SIGN
    assert blind.non_delegable
    binary = decode(req("personal_sign", ["0xff00ff", ALICE]))
    assert binary.action_class is A.RAW_SIGN


def test_row9_siwe() -> None:
    text = siwe_text(chain_id=137, resources=None)
    action = decode(req("personal_sign", [text, ALICE], 137))
    assert action.action_class is A.SIWE_LOGIN
    assert action.chain_ids == {137}
    assert action.domain == "app.example.com"
    assert action.accounts == {ALICE}
    assert ProtocolNonce(NonceKind.SIWE, ("app.example.com", "32891756abcdefgh")) in action.nonces
    assert action.expires_at == 1767229200
    grant = decode(req("personal_sign", [siwe_text(resources=["urn:recap:eyJhdHQiOnt9fQ"]), ALICE]))
    assert A.AUTHORITY_GRANT in grant.classes
    assert grant.non_delegable
    with pytest.raises(DecodeError) as exc:
        decode(req("personal_sign", [siwe_text(nonce="short"), ALICE]))
    assert _reason(exc) == "siwe_malformed"


# --- rows 10-18: typed data -------------------------------------------------------------------

MAIL = eip712(
    "Mail",
    {
        "Person": [("name", "string"), ("wallet", "address")],
        "Mail": [("from", "Person"), ("to", "Person"), ("contents", "string")],
    },
    {"name": "Ether Mail", "version": "1", "chainId": 1, "verifyingContract": "0x" + "cc" * 20},
    {
        "from": {"name": "Cow", "wallet": ALICE},
        "to": {"name": "Bob", "wallet": BOB},
        "contents": "Hello, Bob!",
    },
)


def test_row10_legacy_v1_is_raw_sign() -> None:
    v1 = [
        {"type": "string", "name": "Message", "value": "Hi"},
        {"type": "uint32", "name": "A number", "value": 1337},
    ]
    action = decode(req("eth_signTypedData", [v1, ALICE]))
    assert action.action_class is A.RAW_SIGN
    assert action.chain_unbound


def test_row11_generic_typed_data() -> None:
    action = decode(typed_request(MAIL))
    assert action.action_class is A.TYPED_DATA_SIGN
    assert action.chain_ids == {1}
    assert action.payload_hash == eip712_digest(MAIL)
    assert action.typed_data == ("0x" + "cc" * 20, "Mail")
    assert action.domain == "Ether Mail"
    unbound = json.loads(json.dumps(MAIL))
    del unbound["domain"]["chainId"]
    unbound["types"]["EIP712Domain"] = [
        f for f in unbound["types"]["EIP712Domain"] if f["name"] != "chainId"
    ]
    assert decode(typed_request(unbound)).chain_unbound
    dup = json.dumps(MAIL)[:-1] + ', "primaryType": "Person"}'
    with pytest.raises(DecodeError) as exc:
        decode(req("eth_signTypedData_v4", [ALICE, dup]))
    assert _reason(exc) == "typed_data_ambiguous"


def test_row12_eip2612_permit() -> None:
    action = decode(typed_request(permit_2612(value=5 * 10**6, nonce=3)))
    assert action.action_class is A.PERMIT_SIGN
    assert not action.non_delegable
    (ap,) = action.approvals
    assert (ap.token, ap.spender, ap.amount, ap.expires_at) == (
        USDC,
        SWAP_ROUTER02,
        5 * 10**6,
        1_800_000_000,
    )
    assert ProtocolNonce(NonceKind.EIP2612, ("1", USDC, ALICE, "3")) in action.nonces
    unlimited = decode(typed_request(permit_2612(value=MAX)))
    assert unlimited.approvals[0].amount is None
    assert unlimited.non_delegable


def test_row13_dai_permit_allowed_is_unlimited() -> None:
    full = eip712(
        "Permit",
        {
            "Permit": [
                ("holder", "address"),
                ("spender", "address"),
                ("nonce", "uint256"),
                ("expiry", "uint256"),
                ("allowed", "bool"),
            ]
        },
        {"name": "Dai Stablecoin", "version": "1", "chainId": 1, "verifyingContract": DAI},
        {"holder": ALICE, "spender": BOB, "nonce": 0, "expiry": 0, "allowed": True},
    )
    action = decode(typed_request(full))
    assert action.approvals[0].amount is None
    assert action.approvals[0].expires_at is None
    assert action.non_delegable
    assert ProtocolNonce(NonceKind.EIP2612, ("1", DAI, ALICE, "0")) in action.nonces


def test_row14_permit2_allowance() -> None:
    action = decode(typed_request(permit2_single(amount=10**6, nonce=5)))
    assert action.action_class is A.PERMIT_SIGN
    assert action.typed_data == (PERMIT2, "PermitSingle")
    assert action.approvals[0].amount == 10**6
    assert action.approvals[0].spender == UNIVERSAL_ROUTER
    assert (
        ProtocolNonce(NonceKind.PERMIT2_ORDERED, ("1", ALICE, USDC, UNIVERSAL_ROUTER, "5"))
        in action.nonces
    )
    assert 1_700_001_000 in action.deadlines
    maxed = decode(typed_request(permit2_single(amount=2**160 - 1)))
    assert maxed.approvals[0].amount is None
    assert maxed.non_delegable


def test_row15_permit2_signature_transfer_with_witness() -> None:
    types = {
        "PermitWitnessTransferFrom": [
            ("permitted", "TokenPermissions"),
            ("spender", "address"),
            ("nonce", "uint256"),
            ("deadline", "uint256"),
            ("witness", "Order"),
        ],
        "TokenPermissions": [("token", "address"), ("amount", "uint256")],
        "Order": [("swapper", "address"), ("recipient", "address"), ("minOut", "uint256")],
    }
    nonce = (77 << 8) | 9
    full = eip712(
        "PermitWitnessTransferFrom",
        types,
        {"name": "Permit2", "chainId": 1, "verifyingContract": PERMIT2},
        {
            "permitted": {"token": USDC, "amount": 10**6},
            "spender": BOB,
            "nonce": nonce,
            "deadline": 1_700_000_600,
            "witness": {"swapper": ALICE, "recipient": "0x" + "77" * 20, "minOut": 1},
        },
    )
    action = decode(typed_request(full))
    assert ProtocolNonce(NonceKind.PERMIT2_UNORDERED, ("1", ALICE, "77", "9")) in action.nonces
    assert "0x" + "77" * 20 in action.destinations
    assert BOB in action.destinations
    assert {A.PERMIT_SIGN, A.ORDER_SIGN} <= action.classes
    assert action.payload_hash == eip712_digest(full)


def test_row16_seaport_order_and_bulk() -> None:
    order = seaport_order(fee_to=BOB)
    full = eip712("OrderComponents", seaport_types(), SEAPORT_DOMAIN, order)
    action = decode(typed_request(full))
    assert action.action_class is A.ORDER_SIGN
    assert action.typed_data == (SEAPORT, "OrderComponents")
    assert action.token_amounts[0].token == NFT
    assert action.token_amounts[0].token_id == 42
    assert BOB in action.destinations
    assert action.inflows[0].token == "native"
    order_hash = "0x" + encode_typed_data(full_message=full).body.hex()
    assert ProtocolNonce(NonceKind.SEAPORT, ("1", ALICE, "3", order_hash)) in action.nonces
    leaves = [seaport_order(token_id=i, salt=i) for i in range(4)]
    bulk = eip712(
        "BulkOrder",
        seaport_types(2),
        SEAPORT_DOMAIN,
        {"tree": [[leaves[0], leaves[1]], [leaves[2], leaves[3]]]},
    )
    b = decode(typed_request(bulk))
    assert len([n for n in b.nonces if n.kind is NonceKind.SEAPORT]) == 4
    assert {t.token_id for t in b.token_amounts} == {0, 1, 2, 3}
    assert b.payload_hash == eip712_digest(bulk)


def test_row17_safe_tx_inner_calls() -> None:
    owner_change = calldata("addOwnerWithThreshold(address,uint256)", BOB, 1)
    action = decode(typed_request(safe_tx(SAFE, owner_change)))
    assert action.action_class is A.ADMIN_AUTHORITY
    assert "0x0d582f13" in action.non_delegable[0]
    batch = multisend([(0, USDC, 0, calldata("transfer(address,uint256)", BOB, 5))])
    ok = decode(
        typed_request(
            safe_tx(MULTISEND_CALL_ONLY, calldata("multiSend(bytes)", batch), operation=1)
        ),
        tokens=TOKENS,
    )
    assert not ok.non_delegable
    assert A.ERC20_TRANSFER in ok.classes
    assert any(c.delegatecall for c in ok.calls)
    bad = decode(typed_request(safe_tx(BOB, b"", operation=1)))
    assert any("delegatecall to non-allowlisted" in r for r in bad.non_delegable)


@pytest.mark.parametrize(
    ("primary", "types", "domain", "message"),
    [
        (
            "Delegation",
            {
                "Delegation": [
                    ("delegate", "address"),
                    ("delegator", "address"),
                    ("authority", "bytes32"),
                    ("caveats", "Caveat[]"),
                    ("salt", "uint256"),
                ],
                "Caveat": [("enforcer", "address"), ("terms", "bytes")],
            },
            {
                "name": "DelegationManager",
                "version": "1",
                "chainId": 1,
                "verifyingContract": "0x" + "dd" * 20,
            },
            {
                "delegate": "0x" + "00" * 18 + "0a11",
                "delegator": ALICE,
                "authority": "0x" + "ff" * 32,
                "caveats": [{"enforcer": BOB, "terms": "0x01"}],
                "salt": 1,
            },
        ),
        (
            "SpendPermission",
            {
                "SpendPermission": [
                    ("account", "address"),
                    ("spender", "address"),
                    ("token", "address"),
                    ("allowance", "uint160"),
                    ("period", "uint48"),
                    ("start", "uint48"),
                    ("end", "uint48"),
                    ("salt", "uint256"),
                    ("extraData", "bytes"),
                ]
            },
            {
                "name": "Spend Permission Manager",
                "version": "1",
                "chainId": 8453,
                "verifyingContract": "0x" + "ee" * 20,
            },
            {
                "account": ALICE,
                "spender": BOB,
                "token": USDC,
                "allowance": 10,
                "period": 86400,
                "start": 0,
                "end": 1_800_000_000,
                "salt": 0,
                "extraData": "0x",
            },
        ),
        (
            "HyperliquidTransaction:ApproveAgent",
            {
                "HyperliquidTransaction:ApproveAgent": [
                    ("hyperliquidChain", "string"),
                    ("agentAddress", "address"),
                    ("agentName", "string"),
                    ("nonce", "uint64"),
                ]
            },
            {
                "name": "HyperliquidSignTransaction",
                "version": "1",
                "chainId": 42161,
                "verifyingContract": "0x" + "00" * 20,
            },
            {"hyperliquidChain": "Mainnet", "agentAddress": BOB, "agentName": "bot", "nonce": 1},
        ),
    ],
)
def test_row18_delegation_grants(primary: str, types: dict, domain: dict, message: dict) -> None:  # type: ignore[type-arg]
    action = decode(typed_request(eip712(primary, types, domain, message)))
    assert action.action_class is A.AUTHORITY_GRANT
    assert action.non_delegable
    assert domain["chainId"] in action.chain_ids


# --- rows 19-20: approvals in calldata --------------------------------------------------------


def test_row19_erc20_approve() -> None:
    def approve(amount: int) -> Action:
        return decode(
            tx_request(
                json_tx(
                    frm=ALICE,
                    to=USDC,
                    chain_id=1,
                    data=calldata("approve(address,uint256)", BOB, amount),
                )
            ),
            tokens=TOKENS,
        )

    limited = approve(100)
    assert limited.classes == {A.ERC20_APPROVE}
    assert limited.approvals[0].amount == 100
    unlimited = approve(MAX)
    assert unlimited.approvals[0].amount is None
    assert unlimited.non_delegable


def test_row20_set_approval_for_all() -> None:
    def sa(flag: bool) -> Action:
        return decode(
            tx_request(
                json_tx(
                    frm=ALICE,
                    to=NFT,
                    chain_id=1,
                    data=calldata("setApprovalForAll(address,bool)", BOB, flag),
                )
            )
        )

    on = sa(True)
    assert on.action_class is A.NFT_APPROVE_ALL
    assert on.approvals[0].all_tokens
    assert on.non_delegable
    off = sa(False)
    assert off.action_class is A.NFT_APPROVE
    assert not off.non_delegable
    assert not off.approvals


# --- rows 21-26: wallet methods ---------------------------------------------------------------


def test_row21_switch_chain() -> None:
    action = decode(req("wallet_switchEthereumChain", [{"chainId": "0x89"}]))
    assert action.action_class is A.CHAIN_SWITCH
    assert action.chain_ids == {137}


def test_row22_add_chain() -> None:
    p = {
        "chainId": "0x2105",
        "chainName": "Base",
        "rpcUrls": ["https://evil.example"],
        "nativeCurrency": {"name": "Ether", "symbol": "ETH", "decimals": 18},
    }
    action = decode(req("wallet_addEthereumChain", [p]))
    assert action.action_class is A.CHAIN_ADD
    assert action.chain_ids == {8453}


def test_row23_send_calls() -> None:
    batch = {
        "version": "2.0.0",
        "id": "batch-1",
        "from": ALICE,
        "chainId": "0x1",
        "atomicRequired": True,
        "calls": [
            {
                "to": USDC,
                "data": "0x" + calldata("approve(address,uint256)", SWAP_ROUTER02, 10).hex(),
            },
            {"to": BOB, "value": "0x5"},
            {"to": BOB, "value": "0x7"},
        ],
    }
    action = decode(req("wallet_sendCalls", [batch], origin="https://app.example"), tokens=TOKENS)
    assert action.native_value == 12
    assert len(action.calls) == 3
    assert action.classes == {A.ERC20_APPROVE, A.NATIVE_TRANSFER}
    assert (
        ProtocolNonce(NonceKind.BATCH_ID, (ALICE, "https://app.example", "batch-1"))
        in action.nonces
    )
    again = decode(
        req("wallet_sendCalls", [{**batch, "id": "batch-2"}], origin="https://app.example"),
        tokens=TOKENS,
    )
    assert again.payload_hash == action.payload_hash  # same calls, fresh id: same payload
    with pytest.raises(DecodeError) as exc:
        decode(
            req(
                "wallet_sendCalls",
                [{**batch, "capabilities": {"paymasterService": {"url": "https://x"}}}],
            )
        )
    assert _reason(exc) == "unsupported_capability"


def test_row24_grant_permissions() -> None:
    p = [
        {
            "chainId": "0xa",
            "address": ALICE,
            "expiry": 1_800_000_000,
            "signer": {"type": "account", "data": {"address": BOB}},
            "permission": {"type": "native-token-stream", "data": {"amountPerSecond": "0x1"}},
        }
    ]
    for method in ("wallet_grantPermissions", "wallet_requestExecutionPermissions"):
        action = decode(req(method, p, 10))
        assert action.action_class is A.AUTHORITY_GRANT
        assert action.chain_ids == {10}
        assert BOB in action.destinations
        assert action.expires_at == 1_800_000_000


def test_row25_revoke() -> None:
    for method in ("wallet_revokePermissions", "wallet_revokeExecutionPermission"):
        action = decode(req(method, [{"eth_accounts": {}}]))
        assert action.action_class is A.PERMISSION_REVOKE
        assert action.action_class not in NON_DELEGABLE_CLASSES


@pytest.mark.parametrize(
    "method",
    ["eth_decrypt", "eth_getEncryptionPublicKey", "wallet_watchAsset", "eth_sign7702Authorization"],
)
def test_row26_unsupported(method: str) -> None:
    with pytest.raises(DecodeError) as exc:
        decode(req(method, []))
    assert _reason(exc) == "unsupported_method"
