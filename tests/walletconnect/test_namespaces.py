"""walletconnect.namespaces against namespaces.json (every case), plus the rest of the truth table."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from vectors import load

from walletconnect.errors import NamespaceError, SdkErrorInfo
from walletconnect.namespaces import (
    ProposalNamespace,
    SessionNamespace,
    build_approved_namespaces,
    chains_of,
    conforming_error,
    events_for_chain,
    is_conforming,
    is_valid_account_id,
    is_valid_chain_id,
    is_valid_namespaces_chain_id,
    is_valid_namespaces_event,
    is_valid_namespaces_request,
    merge_required_and_optional,
    methods_for_chain,
    normalize_proposal_namespaces,
    parse_account_id,
    parse_chain_id,
    parse_proposal_namespaces,
    parse_session_namespaces,
    proposal_namespaces_error,
    session_namespaces_error,
    validate_proposal_namespaces,
    validate_session_namespaces,
)

CASES: list[dict[str, Any]] = load("namespaces")["cases"]
BY_NAME = {c["name"]: c for c in CASES if c["name"] != "validator"}
VALIDATORS = [c for c in CASES if c["name"] == "validator"]


def _err(e: SdkErrorInfo | None) -> dict[str, Any] | None:
    return None if e is None else {"message": e.message, "code": e.code}


def test_build_approved_namespaces_vector() -> None:
    case = BY_NAME["buildApprovedNamespaces"]
    prop = case["inputs"]["proposal"]
    got = build_approved_namespaces(
        prop["requiredNamespaces"],
        prop["optionalNamespaces"],
        case["inputs"]["supportedNamespaces"],
    )
    assert got == case["outputs"]["approved"]
    for ns_got, ns_want in zip(got.values(), case["outputs"]["approved"].values(), strict=True):
        assert list(ns_got) == list(ns_want)  # key order chains, methods, events, accounts
    assert session_namespaces_error(got) is None


def test_normalize_namespaces_vector() -> None:
    case = BY_NAME["normalizeNamespaces"]
    got = normalize_proposal_namespaces(case["inputs"])
    assert got == case["outputs"]
    assert list(got) == list(case["outputs"])


def test_merge_required_and_optional_vector() -> None:
    case = BY_NAME["mergeRequiredAndOptionalNamespaces"]
    got = merge_required_and_optional(case["inputs"]["required"], case["inputs"]["optional"])
    assert got == case["outputs"]


def test_every_named_case_is_covered() -> None:
    assert set(BY_NAME) == {
        "buildApprovedNamespaces",
        "normalizeNamespaces",
        "mergeRequiredAndOptionalNamespaces",
    }


NsFn = Callable[[dict[str, Any]], Any]
EXPRS: dict[str, NsFn] = {
    "isValidChainId('eip155:1')": lambda ns: is_valid_chain_id("eip155:1"),
    "isValidChainId('eip155')": lambda ns: is_valid_chain_id("eip155"),
    "isValidChainId('eip155:1:x')": lambda ns: is_valid_chain_id("eip155:1:x"),
    "isValidAccountId('eip155:1:0xabc')": lambda ns: is_valid_account_id("eip155:1:0xabc"),
    "isValidAccountId('eip155:1:')": lambda ns: is_valid_account_id("eip155:1:"),
    "isValidNamespacesChainId(sessionNs,'eip155:1')": lambda ns: is_valid_namespaces_chain_id(
        ns, "eip155:1"
    ),
    "isValidNamespacesChainId(sessionNs,'eip155:137')": lambda ns: is_valid_namespaces_chain_id(
        ns, "eip155:137"
    ),
    "isValidNamespacesRequest(sessionNs,'eip155:1','personal_sign')": lambda ns: (
        is_valid_namespaces_request(ns, "eip155:1", "personal_sign")
    ),
    "isValidNamespacesRequest(sessionNs,'eip155:1','eth_sign')": lambda ns: (
        is_valid_namespaces_request(ns, "eip155:1", "eth_sign")
    ),
    "isValidNamespacesEvent(sessionNs,'eip155:1','accountsChanged')": lambda ns: (
        is_valid_namespaces_event(ns, "eip155:1", "accountsChanged")
    ),
    "isValidNamespaces(sessionNs,'approve()')": lambda ns: _err(
        session_namespaces_error(ns, "approve()")
    ),
    "isValidNamespaces({eip155:{accounts:['eip155:1'],methods:[],events:[]}},'approve()')": lambda ns: (
        _err(
            session_namespaces_error(
                {"eip155": {"accounts": ["eip155:1"], "methods": [], "events": []}}, "approve()"
            )
        )
    ),
    "isValidNamespaces({eip155:{accounts:['eip155:1:0xabc'],methods:'x',events:[]}},'approve()')": lambda ns: (
        _err(
            session_namespaces_error(
                {"eip155": {"accounts": ["eip155:1:0xabc"], "methods": "x", "events": []}},
                "approve()",
            )
        )
    ),
    "isValidRequiredNamespaces({eip155:{chains:['bad'],methods:[],events:[]}},'connect()','optionalNamespaces')": lambda ns: (
        _err(
            proposal_namespaces_error(
                {"eip155": {"chains": ["bad"], "methods": [], "events": []}},
                "connect()",
                "optionalNamespaces",
            )
        )
    ),
    "isConformingNamespaces({eip155:{chains:['eip155:1'],methods:['personal_sign'],events:[]}}, sessionNs,'approve()')": lambda ns: (
        _err(
            conforming_error(
                {"eip155": {"chains": ["eip155:1"], "methods": ["personal_sign"], "events": []}},
                ns,
                "approve()",
            )
        )
    ),
    "isConformingNamespaces({eip155:{chains:['eip155:137'],methods:['personal_sign'],events:[]}}, sessionNs,'approve()')": lambda ns: (
        _err(
            conforming_error(
                {"eip155": {"chains": ["eip155:137"], "methods": ["personal_sign"], "events": []}},
                ns,
                "approve()",
            )
        )
    ),
}


@pytest.mark.parametrize("case", VALIDATORS, ids=[c["inputs"]["expr"] for c in VALIDATORS])
def test_validator_truth_table(case: dict[str, Any]) -> None:
    fn = EXPRS[case["inputs"]["expr"]]
    assert fn(case["inputs"]["sessionNs_used_by_expr"]) == case["outputs"]["result"]


def test_every_validator_expression_is_mapped() -> None:
    assert {c["inputs"]["expr"] for c in VALIDATORS} == set(EXPRS)


# --- the rest of the validator table ------------------------------------------------------------

SESSION = {
    "eip155": {
        "chains": ["eip155:1"],
        "accounts": ["eip155:1:0xabc", "eip155:10:0xabc"],
        "methods": ["personal_sign"],
        "events": ["chainChanged"],
    },
    "solana": {"accounts": ["solana:main:Addr"], "methods": ["solana_signMessage"], "events": []},
}


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("eip155:1", True),
        (" :1", True),  # the SDK only checks non-blank + one colon
        ("   ", False),
        ("\ufeff", False),  # JS trim() removes BOM
        ("", False),
        (":", True),
        (1, False),
        (None, False),
        (["eip155:1"], False),
    ],
)
def test_is_valid_chain_id(value: object, ok: bool) -> None:
    assert is_valid_chain_id(value) is ok


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("eip155:1:0xabc", True),
        ("eip155:1", False),
        ("eip155:1:0xabc:x", False),
        ("eip155::0xabc", True),  # chain id ":"-check only
        ("::x", True),
        (5, False),
    ],
)
def test_is_valid_account_id(value: object, ok: bool) -> None:
    assert is_valid_account_id(value) is ok


def test_parse_caip_ids() -> None:
    assert parse_chain_id("eip155:1") == ("eip155", "1")
    assert parse_account_id("eip155:1:0xabc") == ("eip155", "1", "0xabc")
    with pytest.raises(NamespaceError) as info:
        parse_chain_id("eip155")
    assert info.value.code == 5100
    with pytest.raises(NamespaceError) as info:
        parse_account_id("eip155:1:")
    assert info.value.code == 5103


def test_chain_queries_derive_from_accounts() -> None:
    assert chains_of(SESSION) == ["eip155:1", "eip155:10", "solana:main"]
    assert methods_for_chain(SESSION, "eip155:10") == ["personal_sign"]
    assert methods_for_chain(SESSION, "solana:main") == ["solana_signMessage"]
    assert events_for_chain(SESSION, "eip155:1") == ["chainChanged"]
    assert methods_for_chain(SESSION, "eip155:137") == []
    assert is_valid_namespaces_chain_id(SESSION, "eip155:10")  # not in "chains", but in accounts
    assert not is_valid_namespaces_request(SESSION, "eip155:1", "  ")
    assert not is_valid_namespaces_request(SESSION, "solana:main", "personal_sign")
    assert is_valid_namespaces_event(SESSION, "eip155:10", "chainChanged")


ACCT_FMT = 'should be a string and conform to "namespace:chainId:address" format'
SESSION_ERRORS = [
    ("not-object", [], 5, "approve(), namespaces should be an object with data"),
    ("empty", {}, 5, "approve(), namespaces should be an object with data"),
    (
        "events-not-array",
        {"e": {"accounts": ["a:b:c"], "methods": [], "events": None}},
        5102,
        "Unsupported events. approve(), namespace, events should be an array of strings or empty array for no events",
    ),
    (
        "blank-method",
        {"e": {"accounts": ["a:b:c"], "methods": [" "], "events": []}},
        5101,
        "Unsupported methods. approve(), namespace, methods should be an array of strings or empty array for no methods",
    ),
    (
        "accounts-missing",
        {"e": {"methods": [], "events": []}},
        5103,
        'Unsupported accounts. approve() namespace, accounts should be an array of strings conforming to "namespace:chainId:address" format',
    ),
    (
        "account-number",
        {"e": {"accounts": [7], "methods": [], "events": []}},
        5103,
        f"Unsupported accounts. approve() namespace, account 7 {ACCT_FMT}",
    ),
    (
        "accounts-beat-methods",
        {"e": {"accounts": ["x"], "methods": "x", "events": []}},
        5103,
        f"Unsupported accounts. approve() namespace, account x {ACCT_FMT}",
    ),
    (
        "namespace-not-object",
        {"e": "x"},
        5103,
        'Unsupported accounts. approve() namespace, accounts should be an array of strings conforming to "namespace:chainId:address" format',
    ),
]


@pytest.mark.parametrize(
    ("ns", "code", "message"), [c[1:] for c in SESSION_ERRORS], ids=[c[0] for c in SESSION_ERRORS]
)
def test_session_namespace_errors(ns: Any, code: int, message: str) -> None:
    err = session_namespaces_error(ns)
    assert err is not None
    assert err.code == code
    if code == 5:
        assert err.message == f"Missing or invalid. {message}"
    else:
        assert err.message == message
    with pytest.raises(NamespaceError) as info:
        validate_session_namespaces(ns)
    assert info.value.code == code


STRICT = [
    ("bad-key", {"E!": {"accounts": ["E!:1:a"], "methods": [], "events": []}}, 5104),
    (
        "bad-inline-key",
        {"eip155:1:x": {"accounts": ["eip155:1:a"], "methods": [], "events": []}},
        5104,
    ),
    (
        "foreign-account",
        {"eip155": {"accounts": ["solana:1:a"], "methods": [], "events": []}},
        5103,
    ),
    (
        "inline-other-chain",
        {"eip155:1": {"accounts": ["eip155:2:a"], "methods": [], "events": []}},
        5103,
    ),
    (
        "bad-chains",
        {"eip155": {"chains": ["x"], "accounts": ["eip155:1:a"], "methods": [], "events": []}},
        5100,
    ),
]


@pytest.mark.parametrize(("ns", "code"), [c[1:] for c in STRICT], ids=[c[0] for c in STRICT])
def test_strict_session_checks(ns: dict[str, Any], code: int) -> None:
    assert session_namespaces_error(ns) is None  # the SDK accepts these
    with pytest.raises(NamespaceError) as info:
        validate_session_namespaces(ns, strict=True)
    assert info.value.code == code


def test_strict_accepts_good_namespaces() -> None:
    validate_session_namespaces(SESSION, strict=True)
    validate_session_namespaces(
        {"eip155:1": {"accounts": ["eip155:1:a"], "methods": [], "events": []}}, strict=True
    )


def test_proposal_namespace_errors() -> None:
    err = proposal_namespaces_error({"eip155": {"methods": [], "events": []}})
    assert err is not None
    assert err.code == 5100
    assert "chains must be defined" in err.message
    assert proposal_namespaces_error({"eip155:1": {"methods": [], "events": []}}) is None
    err = proposal_namespaces_error(
        {"eip155": {"chains": ["eip155:1"], "methods": 1, "events": []}}
    )
    assert err is not None
    assert err.code == 5101
    err = proposal_namespaces_error({"eip155": {"chains": ["bad"], "methods": 1, "events": []}})
    assert err is not None
    assert err.code == 5100  # chains error wins, as in the SDK
    err = proposal_namespaces_error({}, "connect()", "requiredNamespaces")
    assert err == SdkErrorInfo(
        5, "Missing or invalid. connect(), requiredNamespaces should be an object with data"
    )
    validate_proposal_namespaces({})  # empty/absent is fine for connect()
    validate_proposal_namespaces(None)
    with pytest.raises(NamespaceError):
        validate_proposal_namespaces({"eip155": {"chains": [None], "methods": [], "events": []}})


REQ = {"eip155": {"chains": ["eip155:1"], "methods": ["personal_sign"], "events": ["chainChanged"]}}


def test_conformance_failures() -> None:
    assert is_conforming(REQ, SESSION)
    assert is_conforming({}, SESSION)
    err = conforming_error(
        {"cosmos": {"chains": ["cosmos:hub"], "methods": [], "events": []}}, SESSION
    )
    assert err is not None
    assert err.code == 9
    assert "Required: cosmos:hub\n      Approved: eip155:1,eip155:10,solana:main" in err.message
    err = conforming_error(
        {"eip155": {"chains": ["eip155:1"], "methods": ["eth_sign"], "events": []}}, SESSION
    )
    assert err == SdkErrorInfo(
        9,
        "Non conforming namespaces. approve() namespaces methods don't satisfy namespace methods for eip155:1",
    )
    err = conforming_error(
        {"eip155": {"chains": ["eip155:1"], "methods": [], "events": ["accountsChanged"]}}, SESSION
    )
    assert err is not None
    assert "events don't satisfy" in err.message
    inline = {"eip155:5": {"accounts": ["eip155:1:0xabc"], "methods": [], "events": []}}
    err = conforming_error({}, inline, "update()")
    assert err is not None
    assert err.message == (
        "Non conforming namespaces. update() namespaces accounts don't satisfy namespace accounts for eip155:5\n"
        "        Required: eip155:5\n"
        "        Approved: eip155:1"
    )


def test_build_approved_with_required_and_errors() -> None:
    supported = {
        "eip155": {
            "chains": ["eip155:1", "eip155:10"],
            "methods": ["personal_sign", "eth_sendTransaction"],
            "events": ["chainChanged"],
            "accounts": ["eip155:1:0xa", "eip155:10:0xa", "eip155:11:0xa"],
        }
    }
    got = build_approved_namespaces(
        REQ,
        {"eip155": {"chains": ["eip155:10"], "methods": ["eth_sendTransaction"], "events": []}},
        supported,
    )
    assert got == {
        "eip155": {
            "chains": ["eip155:1", "eip155:10"],
            "methods": ["personal_sign", "eth_sendTransaction"],
            "events": ["chainChanged"],
            "accounts": ["eip155:1:0xa", "eip155:10:0xa"],  # exact chain match: never eip155:11
        }
    }
    assert build_approved_namespaces({}, {}, supported) == supported  # nothing asked: all supported
    assert (
        build_approved_namespaces(
            {}, {"cosmos": {"chains": ["cosmos:hub"], "methods": [], "events": []}}, supported
        )
        == {}
    )
    with pytest.raises(NamespaceError) as info:
        build_approved_namespaces(
            {"cosmos": {"chains": ["cosmos:hub"], "methods": [], "events": []}}, {}, supported
        )
    assert info.value.code == 9
    with pytest.raises(NamespaceError) as info:
        build_approved_namespaces(
            {}, {}, {"eip155": {**supported["eip155"], "chains": ["eip155:5"]}}
        )
    assert info.value.code == 5103


def test_models() -> None:
    parsed = parse_session_namespaces(SESSION)
    assert parsed["eip155"] == SessionNamespace(
        accounts=("eip155:1:0xabc", "eip155:10:0xabc"),
        methods=("personal_sign",),
        events=("chainChanged",),
        chains=("eip155:1",),
    )
    assert parsed["eip155"].derived_chains == ("eip155:1", "eip155:10")
    assert parsed["solana"].chains is None
    assert parsed["eip155"].to_dict() == SESSION["eip155"]
    assert list(parsed["eip155"].to_dict()) == ["chains", "accounts", "methods", "events"]
    prop = parse_proposal_namespaces(load("namespaces")["cases"][1]["inputs"])
    assert prop["eip155"] == ProposalNamespace(
        ("eip155:10", "eip155:1", "eip155:137"),
        ("personal_sign", "eth_sendTransaction", "eth_signTypedData_v4"),
        ("chainChanged", "accountsChanged"),
    )
    assert prop["solana"].to_dict()["chains"] == ["solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp"]
    assert parse_proposal_namespaces({}) == {}
    with pytest.raises(NamespaceError):
        parse_session_namespaces({"e": {"accounts": "x"}})


# --- hostile input never raises anything but NamespaceError -----------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.sampled_from(["eip155:1", "eip155:1:0xa", "x", ""]),
    lambda c: (
        st.lists(c, max_size=3)
        | st.dictionaries(
            st.sampled_from(["chains", "accounts", "methods", "events", "eip155", "eip155:1"]),
            c,
            max_size=4,
        )
    ),
    max_leaves=12,
)
namespaces_like = st.dictionaries(
    st.sampled_from(["eip155", "eip155:1", "solana", "a:b:c"]), json_values, max_size=3
)


@given(namespaces_like, namespaces_like)
def test_hostile_namespaces_raise_only_namespace_error(
    a: dict[str, Any], b: dict[str, Any]
) -> None:
    session_namespaces_error(a, strict=True)
    proposal_namespaces_error(a)
    conforming_error(a, b)
    chains_of(a)
    methods_for_chain(a, "eip155:1")
    normalize_proposal_namespaces(a)
    merge_required_and_optional(a, b)
    codes: list[int] = []
    for fn in (parse_session_namespaces, parse_proposal_namespaces):
        try:
            fn(a)
        except NamespaceError as exc:
            codes.append(exc.code)
    supported = {
        "eip155": {
            "chains": ["eip155:1"],
            "methods": ["m"],
            "events": [],
            "accounts": ["eip155:1:0xa"],
        }
    }
    try:
        build_approved_namespaces(a, b, supported)
    except NamespaceError as exc:
        codes.append(exc.code)
    assert set(codes) <= {5, 9, 5100, 5101, 5102, 5103, 5104}


names = st.sampled_from(["personal_sign", "eth_sign", "chainChanged", "x"])


@st.composite
def valid_session_namespaces(draw: st.DrawFn) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for ns in draw(
        st.lists(st.sampled_from(["eip155", "solana", "cosmos"]), min_size=1, unique=True)
    ):
        refs = draw(st.lists(st.sampled_from(["1", "10", "main"]), min_size=1, unique=True))
        out[ns] = {
            "accounts": [f"{ns}:{r}:0x{i}" for i, r in enumerate(refs)],
            "methods": draw(st.lists(names, unique=True)),
            "events": draw(st.lists(names, unique=True)),
        }
    return out


@given(valid_session_namespaces(), st.data())
def test_valid_namespaces_conform_to_any_subset_of_themselves(
    ns: dict[str, Any], data: st.DataObject
) -> None:
    validate_session_namespaces(ns, strict=True)
    required: dict[str, dict[str, list[str]]] = {}
    for key, entry in ns.items():
        chains = data.draw(st.lists(st.sampled_from(chains_of({key: entry})), unique=True))
        if chains:
            required[key] = {
                "chains": chains,
                "methods": data.draw(
                    st.lists(st.sampled_from(entry["methods"] or ["-"]), unique=True)
                ),
                "events": data.draw(
                    st.lists(st.sampled_from(entry["events"] or ["-"]), unique=True)
                ),
            }
    err = conforming_error(required, ns)
    asked_for_missing = any("-" in r["methods"] or "-" in r["events"] for r in required.values())
    assert (err is None) is not asked_for_missing
    # and asking for one chain the session lacks always fails
    assert not is_conforming(
        {"eip155": {"chains": ["eip155:999"], "methods": [], "events": []}}, ns
    )


# --- cross-check against the official SDK (node) -----------------------------------------------

_NODE_NS = r"""
const u = require("@walletconnect/utils");
const safe = (f) => { try { return { ok: f() }; } catch (e) { return { threw: String(e.message) }; } };
let d = "";
process.stdin.on("data", (c) => (d += c)).on("end", () => {
  const out = JSON.parse(d).map((c) => ({
    session: safe(() => u.isValidNamespaces(c.a, "approve()")),
    proposal: safe(() => u.isValidRequiredNamespaces(c.a, "connect()", "optionalNamespaces")),
    conforming: c.check_conforming ? u.isConformingNamespaces(c.req, c.a, "update()") : null,
    chains: c.check_conforming ? u.getNamespacesChains(c.a) : null,
    build: c.check_build
      ? safe(() => u.buildApprovedNamespaces({
          proposal: { requiredNamespaces: c.req, optionalNamespaces: c.a },
          supportedNamespaces: c.supported,
        }))
      : null,
  }));
  process.stdout.write(JSON.stringify(out));
});
"""


@pytest.mark.sdk
def test_validators_match_the_sdk_on_random_input() -> None:
    import json
    import os
    import random
    import subprocess

    from sdk import NODE_MODULES, require_sdk

    node = require_sdk()
    rng = random.Random(99)
    atoms: list[Any] = [
        "eip155:1",
        "eip155:10",
        "eip155:1:0xa",
        "eip155:10:0xa",
        "solana:m:S",
        "x",
        "",
        " ",
        3,
        None,
        True,
    ]
    names = ["personal_sign", "eth_sign", "chainChanged", " ", ""]

    def value(depth: int = 0) -> Any:
        r = rng.random()
        if depth > 2 or r < 0.4:
            return rng.choice(atoms)
        if r < 0.7:
            return [value(depth + 1) for _ in range(rng.randint(0, 3))]
        keys = ["chains", "accounts", "methods", "events"]
        return {k: value(depth + 1) for k in rng.sample(keys, rng.randint(0, 4))}

    def plausible() -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key in rng.sample(["eip155", "solana", "eip155:10", "cosmos"], rng.randint(1, 3)):
            ns = key.split(":")[0]
            refs = rng.sample(["1", "10", "m"], rng.randint(0, 2))
            out[key] = {
                "chains": [f"{ns}:{r}" for r in refs],
                "accounts": [f"{ns}:{r}:0xa" for r in refs],
                "methods": rng.sample(names[:3], rng.randint(0, 3)),
                "events": rng.sample(names[:3], rng.randint(0, 2)),
            }
        return out

    supported = {
        "eip155": {
            "chains": ["eip155:1", "eip155:10"],
            "methods": ["personal_sign", "eth_sign"],
            "events": ["chainChanged"],
            "accounts": ["eip155:1:0xa", "eip155:10:0xa"],
        }
    }
    cases = []
    for i in range(400):
        if i % 2:
            a = {
                k: value() for k in rng.sample(["eip155", "eip155:1", "solana"], rng.randint(0, 3))
            }
        else:
            a = plausible()
        req = {
            k: {kk: v for kk, v in ns.items() if kk != "accounts"} for k, ns in plausible().items()
        }
        if rng.random() < 0.5:
            req = {}
        sess_ok = session_namespaces_error(a) is None
        prop_ok = proposal_namespaces_error(a) is None
        cases.append(
            {
                "a": a,
                "req": req,
                "supported": supported,
                "check_conforming": sess_ok,
                "check_build": prop_ok and proposal_namespaces_error(req) is None
                if req
                else prop_ok,
            }
        )
    out = subprocess.run(
        [node, "-e", _NODE_NS],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={**os.environ, "NODE_PATH": str(NODE_MODULES)},
    )
    compared = {"conforming": 0, "build": 0, "sdk_threw": 0}
    for case, res in zip(cases, json.loads(out.stdout), strict=True):
        a, req = case["a"], case["req"]
        # where the SDK itself throws a TypeError on hostile input we only require an error
        sess, prop = res["session"], res["proposal"]
        ours_sess = _err(session_namespaces_error(a, "approve()"))
        ours_prop = _err(proposal_namespaces_error(a, "connect()", "optionalNamespaces"))
        if "ok" in sess:
            assert ours_sess == sess["ok"], a
        else:
            compared["sdk_threw"] += 1
            assert ours_sess is not None
        if "ok" in prop:
            assert ours_prop == prop["ok"], a
        else:
            compared["sdk_threw"] += 1
            assert ours_prop is not None
        if case["check_conforming"]:
            compared["conforming"] += 1
            assert _err(conforming_error(req, a, "update()")) == res["conforming"], (req, a)
            assert chains_of(a) == res["chains"]
        if case["check_build"]:
            compared["build"] += 1
            try:
                got: Any = {"ok": build_approved_namespaces(req, a, supported)}
            except NamespaceError as exc:
                got = {"threw": exc.message.removeprefix("Non conforming namespaces. ")}
            want = res["build"]
            if "threw" in want:
                assert "threw" in got, (req, a, want)
                assert want["threw"].endswith(got["threw"]) or got["threw"] in want["threw"]
            else:
                assert got == want, (req, a)
    assert compared["conforming"] > 50, compared
    assert compared["build"] > 50
