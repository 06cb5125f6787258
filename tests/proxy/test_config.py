from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from proxy.config import (
    DevSignerSettings,
    LocalSignerSettings,
    RemoteSignerSettings,
    load_settings,
    parse_settings,
)
from proxy.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "config"
SHIPPED_ENV = {
    "WCPROXY_PROJECT_ID": "0123456789abcdef",
    "WCPROXY_KEYSTORE_PASSPHRASE": "pw",
}


def issues(exc: ConfigError) -> dict[str, str]:
    return {issue.location: issue.message for issue in exc.issues}


def write(tmp_path: Path, data: dict[str, Any], name: str = "wcproxy.toml") -> Path:
    path = tmp_path / name
    path.write_text(tomli_w.dumps(data))
    return path


@pytest.mark.parametrize("name", ["example.toml", "solo.toml", "enterprise.toml"])
def test_every_shipped_config_validates(name: str) -> None:
    settings = load_settings(CONFIG / name, SHIPPED_ENV)
    assert settings.config_file == CONFIG / name
    assert settings.session_rules
    assert 1 in settings.chains


def test_every_toml_under_config_is_covered() -> None:
    assert sorted(p.name for p in CONFIG.glob("*.toml")) == [
        "enterprise.toml",
        "example.toml",
        "solo.toml",
    ]


def test_example_config_contract() -> None:
    s = load_settings(CONFIG / "example.toml", {})
    assert s.relay.embedded
    assert s.store.kind == "sqlite"
    assert s.store.sqlite_path is not None
    assert s.store.sqlite_path.parent == s.data_dir == ROOT / "data" / "example"
    assert isinstance(s.signer, DevSignerSettings)
    assert s.audit.path.parent == s.data_dir
    assert s.admin.host == "127.0.0.1"
    assert s.admin.port == 0
    assert s.admin.token_file.parent == s.data_dir
    assert s.pricing.prices == {"ETH": Decimal(3000), "USDC": Decimal(1)}
    assert s.pricing.token_list == CONFIG / "tokens" / "mainnet.tokenlist.json"
    assert s.unmatched == "reject"
    (rule,) = s.session_rules
    assert rule.action == "approve"
    assert rule.envelope == CONFIG / "envelopes" / "example.json"
    assert rule.match.chains == ("eip155:1",)
    assert set(rule.match.methods) == {
        "personal_sign",
        "eth_signTypedData_v4",
        "eth_signTransaction",
        "eth_sendTransaction",
    }
    # any dApp matches
    assert (
        s.rule_for(
            origin="https://anything.example",
            name="Any",
            required_chains=("eip155:1",),
            required_methods=("personal_sign",),
        )
        is rule
    )
    assert (
        s.rule_for(origin=None, name=None, required_chains=("eip155:5",), required_methods=())
        is None
    )
    assert (
        s.rule_for(
            origin="https://x",
            name="x",
            required_chains=("eip155:1",),
            required_methods=("eth_sign",),
        )
        is None
    )


def test_solo_and_enterprise_shapes() -> None:
    solo = load_settings(CONFIG / "solo.toml", SHIPPED_ENV)
    assert isinstance(solo.signer, LocalSignerSettings)
    assert solo.signer.passphrase is not None
    assert solo.signer.passphrase.get_secret_value() == "pw"
    assert not solo.relay.embedded
    ent = load_settings(CONFIG / "enterprise.toml", SHIPPED_ENV)
    assert isinstance(ent.signer, RemoteSignerSettings)
    assert ent.store.kind == "redis"
    assert ent.unmatched == "queue"
    assert len(ent.session_rules) >= 3
    assert {r.action for r in ent.session_rules} == {"approve", "queue", "reject"}
    assert len(ent.revocation.rules) >= 4


def test_paths_resolve_against_the_config_file_not_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sub = tmp_path / "conf"
    sub.mkdir()
    path = write(sub, {"data_dir": "../state", "pricing": {"token_list": "t.json"}})
    monkeypatch.chdir(tmp_path.parent)
    s = load_settings(path, {})
    assert s.data_dir == tmp_path / "state"
    assert s.audit.path == tmp_path / "state" / "audit.jsonl"
    assert s.admin.url_file == tmp_path / "state" / "admin.url"
    assert s.store.sqlite_path == tmp_path / "state" / "wcproxy.sqlite3"
    assert s.pricing.token_list == sub / "t.json"


def test_defaults_are_embedded_and_data_dir_relative(tmp_path: Path) -> None:
    s = load_settings(write(tmp_path, {}), {})
    assert s.data_dir == tmp_path / "data"
    assert s.relay.url == "embedded"
    assert isinstance(s.signer, DevSignerSettings)
    assert s.audit.path == tmp_path / "data" / "audit.jsonl"
    assert s.session_rules == ()


def test_overrides_and_memory_store(tmp_path: Path) -> None:
    s = load_settings(
        write(tmp_path, {}),
        {},
        overrides={
            "data_dir": str(tmp_path / "other"),
            "store.url": "memory:",
            "relay.url": "ws://127.0.0.1:9/",
        },
    )
    assert s.data_dir == tmp_path / "other"
    assert s.audit.path == tmp_path / "other" / "audit.jsonl"
    assert s.store.kind == "memory"
    assert s.relay.url == "ws://127.0.0.1:9/"  # loopback relay: no project id needed


def test_every_error_is_reported_with_its_location(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        {
            "unmatched": "maybe",
            "bogus": 1,
            "relay": {"url": "http://relay"},
            "store": {"url": "postgres://x"},
            "signer": {"backend": "remote", "flavor": "vault", "url": "https://s"},
            "chains": {"eip155:1": {"rpc_url": "ftp://x"}},
            "pricing": {"prices": {"ETH": 3000.5, "USDC": "-1"}},
            "session_rules": [
                {
                    "name": "a",
                    "match": {"chains": ["eip155:1", "cosmos:hub"], "methods": []},
                    "action": "approve",
                }
            ],
            "admin": {"host": "0.0.0.0", "port": 70000},
            "log": {"level": "loud"},
            "revocation": {"rules": [{"name": "r", "trigger": "denials", "threshold": 3}]},
        },
    )
    with pytest.raises(ConfigError) as info:
        load_settings(path, {})
    found = issues(info.value)
    for location in [
        "unmatched",
        "bogus",
        "relay.url",
        "store.url",
        "signer.flavor",
        "signer.accounts",
        'chains."eip155:1".rpc_url',
        "pricing.prices.ETH",
        "pricing.prices.USDC",
        "session_rules[0].match.chains[1]",
        "session_rules[0].match.methods",
        "session_rules[0].envelope",
        "admin.port",
        "log.level",
        "revocation.rules[0]",
    ]:
        assert location in found, (location, found)
    assert found["bogus"].startswith("unknown key")
    assert found["signer.accounts"] == "required key is missing"
    assert "strings" in found["pricing.prices.ETH"]
    assert all(issue.file == str(path) for issue in info.value.issues)
    assert str(path) in str(info.value)


def test_toml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('data_dir = "x"\n[relay\n')
    with pytest.raises(ConfigError) as info:
        load_settings(path, {})
    assert "line 2" in str(info.value)


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings(tmp_path / "nope.toml", {})


def test_secrets_only_from_env(tmp_path: Path) -> None:
    path = write(tmp_path, {"admin": {"token": "abc"}, "signer": {"backend": "dev"}})
    with pytest.raises(ConfigError) as info:
        load_settings(path, {})
    assert "WCPROXY_ADMIN_TOKEN" in issues(info.value)["admin.token"]
    s = load_settings(
        write(tmp_path, {}, "ok.toml"),
        {"WCPROXY_ADMIN_TOKEN": "tok-123", "WCPROXY_EMERGENCY_TOKEN": "em-456"},
    )
    assert s.admin.token is not None
    assert s.admin.token.get_secret_value() == "tok-123"
    assert "tok-123" not in repr(s)
    assert "em-456" not in s.model_dump_json()


def test_passphrase_env_must_be_set(tmp_path: Path) -> None:
    conf = {"signer": {"backend": "local", "keystore": "k.json", "passphrase_env": "KS_PASS"}}
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, conf), {})
    assert "KS_PASS" in issues(info.value)["signer.passphrase_env"]
    both = {
        "signer": {
            "backend": "local",
            "keystore": "k.json",
            "passphrase_env": "P",
            "passphrase_file": "f",
        }
    }
    with pytest.raises(ConfigError, match="exactly one"):
        load_settings(write(tmp_path, both, "b.toml"), {"P": "x"})


def test_redis_password_never_in_url(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="WCPROXY_STORE_PASSWORD"):
        load_settings(write(tmp_path, {"store": {"url": "redis://:hunter2@r:6379/0"}}), {})


def test_chains_as_list_and_rule_chain_must_be_configured(tmp_path: Path) -> None:
    s = parse_settings(
        {"chains": [{"id": 10, "native_symbol": "ETH"}]}, base_dir=tmp_path, environ={}
    )
    assert list(s.chains) == [10]
    rule = {
        "name": "r",
        "envelope": "e.json",
        "match": {"chains": ["eip155:5"], "methods": ["personal_sign"]},
    }
    with pytest.raises(ConfigError, match="eip155:5"):
        parse_settings({"session_rules": [rule]}, base_dir=tmp_path, environ={})


def test_duplicate_rule_names(tmp_path: Path) -> None:
    rule = {
        "name": "r",
        "action": "reject",
        "match": {"chains": ["eip155:1"], "methods": ["personal_sign"]},
    }
    with pytest.raises(ConfigError, match="duplicate"):
        parse_settings(
            {"chains": {"1": {}}, "session_rules": [rule, rule]}, base_dir=tmp_path, environ={}
        )


def test_address_checksum(tmp_path: Path) -> None:
    ok = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
    s = parse_settings(
        {"signer": {"backend": "dev", "accounts": [ok]}}, base_dir=tmp_path, environ={}
    )
    assert s.signer.accounts == (ok.lower(),)
    bad = "0xF39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
    with pytest.raises(ConfigError, match="checksum"):
        parse_settings(
            {"signer": {"backend": "dev", "accounts": [bad]}}, base_dir=tmp_path, environ={}
        )


def test_settings_are_frozen(tmp_path: Path) -> None:
    s = parse_settings({}, base_dir=tmp_path, environ={})
    with pytest.raises(Exception, match="frozen"):
        s.unmatched = "queue"  # type: ignore[misc]
