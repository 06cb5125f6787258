"""Scenario files: the packaged corpus loads; syntax errors and unknown fields name the file and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from proxy.attack.scenario import (
    RAW_OPS,
    RawStep,
    RequestStep,
    ScenarioError,
    corpus_files,
    load_corpus,
    load_scenario,
    parse_scenario,
    select,
)

GOOD = """
name = "tiny"
category = "transport"
proves = "something"

[[steps]]
kind = "request"
name = "first"
role = "setup"
method = "personal_sign"
params = ["hi {uniq}", "{account}"]

[[steps]]
kind = "raw"
op = "reencrypt"
of = "first"

[expect]
outcome = "no_second_signature"
"""


def test_packaged_corpus_is_large_unique_and_covers_the_issue() -> None:
    scenarios = load_corpus()
    assert len(scenarios) >= 30
    assert len({s.name for s in scenarios}) == len(scenarios)
    assert len(corpus_files()) == len(scenarios)
    ops = {s.op for sc in scenarios for s in sc.steps if isinstance(s, RawStep)}
    assert ops == set(RAW_OPS)  # every raw-relay attack is exercised by the corpus
    methods = {s.method for sc in scenarios for s in sc.steps if isinstance(s, RequestStep)}
    for method in (
        "personal_sign",
        "eth_sign",
        "eth_signTypedData_v4",
        "eth_signTransaction",
        "wallet_sendCalls",
        "wallet_switchEthereumChain",
    ):
        assert method in methods
    categories = {s.category for s in scenarios}
    assert {
        "transport",
        "replay",
        "chain-binding",
        "siwe",
        "revocation",
        "lifecycle",
        "calldata",
        "value",
    } <= categories
    for sc in scenarios:
        assert sc.attack_steps, sc.name


def test_good_scenario_parses() -> None:
    sc = parse_scenario(GOOD, source="tiny.toml")
    assert sc.name == "tiny"
    assert sc.attack_steps == [1]
    assert sc.source == "tiny.toml"
    assert not sc.needs_self


def test_syntax_error_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "broken.toml"
    bad.write_text(GOOD.replace('category = "transport"', "category = transport"), encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(bad)
    assert str(bad) in str(info.value)
    assert "TOML syntax error" in str(info.value)


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (
            lambda t: t.replace('proves = "something"', 'proves = "something"\nseverity = "high"'),
            "severity",
        ),
        (lambda t: t.replace('op = "reencrypt"', 'op = "reencrypt"\nbogus = 1'), "steps[1].bogus"),
        (lambda t: t + "\n[setup]\nsesions = 2\n", "setup.sesions"),
        (
            lambda t: t.replace(
                'outcome = "no_second_signature"',
                'outcome = "no_second_signature"\nreasons = ["replay"]',
            ),
            "expect.reasons",
        ),
    ],
)
def test_unknown_field_is_named(tmp_path: Path, edit: object, field: str) -> None:
    path = tmp_path / "unknown.toml"
    assert callable(edit)
    path.write_text(edit(GOOD), encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert info.value.file == str(path)
    assert info.value.field == field
    assert "unknown field" in info.value.message
    assert str(path) in str(info.value)
    assert field in str(info.value)


@pytest.mark.parametrize(
    ("edit", "needle"),
    [
        (lambda t: t.replace('of = "first"', 'of = "nope"'), "no earlier request step"),
        (lambda t: t.replace('op = "reencrypt"', 'op = "teleport"'), "steps[1].op"),
        (
            lambda t: t.replace('outcome = "no_second_signature"', 'outcome = "maybe"'),
            "expect.outcome",
        ),
        (lambda t: t.replace('role = "setup"', 'role = "setup"\nsession = 1'), "setup.sessions"),
        (lambda t: t.replace('kind = "raw"', 'kind = "raw"\nrole = "setup"'), "no attack step"),
        (lambda t: t + "\n[setup]\nenvelope = { chainId = 1 }\n", "capability envelope"),
        (
            lambda t: t + '\n[setup]\nrevocation_rules = [{ name = "r", trigger = "sunspots" }]\n',
            "setup.revocation_rules[0].trigger",
        ),
    ],
)
def test_invalid_values_are_explained(edit: object, needle: str) -> None:
    assert callable(edit)
    with pytest.raises(ScenarioError) as info:
        parse_scenario(edit(GOOD), source="x.toml")
    assert needle in str(info.value)
    assert str(info.value).startswith("x.toml")


def test_directory_loading_and_duplicate_names(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text(GOOD, encoding="utf-8")
    (tmp_path / "b.toml").write_text(
        GOOD.replace('category = "transport"', 'category = "other"'), encoding="utf-8"
    )
    (tmp_path / "notes.txt").write_text("ignored", encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_corpus([tmp_path])
    assert "b.toml" in str(info.value)
    assert "also in" in str(info.value)
    (tmp_path / "b.toml").write_text(
        GOOD.replace('name = "tiny"', 'name = "tiny2"').replace('"transport"', '"other"'),
        encoding="utf-8",
    )
    loaded = load_corpus([tmp_path])
    assert [s.name for s in loaded] == ["tiny", "tiny2"]
    assert [s.name for s in select(loaded, ["other"])] == ["tiny2"]
    assert [s.name for s in select(loaded, ["tiny"])] == ["tiny"]
    with pytest.raises(ScenarioError):
        load_corpus([tmp_path / "missing.toml"])


def test_admin_steps_and_overrides_mark_scenarios_self_only() -> None:
    admin = GOOD.replace(
        '[[steps]]\nkind = "raw"',
        '[[steps]]\nkind = "admin"\naction = "revoke"\n\n[[steps]]\nkind = "raw"',
    )
    assert parse_scenario(admin, source="a").needs_self
    disconnect = admin.replace('action = "revoke"', 'action = "disconnect"')
    assert not parse_scenario(disconnect, source="a").needs_self
    marked = GOOD.replace('proves = "something"', 'proves = "something"\nself_only = true')
    assert parse_scenario(marked, source="a").needs_self


def test_oversized_file_is_refused() -> None:
    with pytest.raises(ScenarioError, match="larger than"):
        parse_scenario(GOOD + "#" * 300_000, source="big.toml")
