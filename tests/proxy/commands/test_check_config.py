from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
WCPROXY = ROOT / ".venv" / "bin" / "wcproxy"


def run(
    *args: str, env: dict[str, str] | None = None, cwd: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(WCPROXY), "check-config", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={"PATH": "/usr/bin:/bin", **(env or {})},
        timeout=60,
        check=False,
    )


def test_example_config_is_ok_with_a_summary() -> None:
    result = run("--config", "config/example.toml")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("OK: config/example.toml")
    assert "DEV KEY — NOT FOR REAL FUNDS" in result.stdout
    assert "eip155:1" in result.stdout
    assert "ETH=3000 USD" in result.stdout


def test_default_config_is_the_example() -> None:
    result = run()
    assert result.returncode == 0, result.stderr
    assert "config/example.toml" in result.stdout


def test_solo_needs_its_environment_and_then_passes_schema() -> None:
    bad = run("--config", "config/solo.toml")
    assert bad.returncode == 2
    assert "relay.project_id" in bad.stderr
    assert "signer.passphrase_env" in bad.stderr
    good = run(
        "--config",
        "config/solo.toml",
        "--skip-files",
        env={"WCPROXY_PROJECT_ID": "abc", "WCPROXY_KEYSTORE_PASSPHRASE": "pw"},
    )
    assert good.returncode == 0, good.stderr
    assert "pw" not in good.stdout.split("passphrase from")[0]


def test_every_error_with_its_location(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(
        'unmatched = "sometimes"\n'
        "[store]\n"
        'url = "postgres://db"\n'
        "[admin]\n"
        "port = -1\n"
        "[[session_rules]]\n"
        'name = "r"\n'
        "[session_rules.match]\n"
        'chains = ["eip155:x"]\n'
        'methods = ["personal_sign"]\n'
    )
    result = run("--config", str(config))
    assert result.returncode == 2
    lines = [line.strip() for line in result.stderr.splitlines()]
    assert lines[0] == "5 configuration errors:"
    for location in [
        "unmatched",
        "store.url",
        "admin.port",
        "session_rules[0].match.chains[0]",
        "session_rules[0].envelope",
    ]:
        assert any(line.startswith(f"{config}: {location}: ") for line in lines), location


def test_missing_referenced_files_are_errors(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(
        '[chains."eip155:1"]\n'
        "[pricing]\n"
        'token_list = "nope.json"\n'
        "[[session_rules]]\n"
        'name = "r"\n'
        'envelope = "env.json"\n'
        "[session_rules.match]\n"
        'chains = ["eip155:1"]\n'
        'methods = ["personal_sign"]\n'
    )
    (tmp_path / "env.json").write_text('{"sessionKey": "x", "bogus": 1}')
    result = run("--config", str(config))
    assert result.returncode == 2
    assert "pricing.token_list: cannot read" in result.stderr
    assert "session_rules[0].envelope:" in result.stderr
    assert run("--config", str(config), "--skip-files").returncode == 0


@pytest.mark.parametrize("missing", ["nope.toml"])
def test_unreadable_config(tmp_path: Path, missing: str) -> None:
    result = run("--config", str(tmp_path / missing))
    assert result.returncode == 2
    assert "cannot read" in result.stderr
