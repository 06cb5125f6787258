from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

ROOT = Path(__file__).resolve().parents[3]
WCPROXY = ROOT / ".venv" / "bin" / "wcproxy"
NOW = "1767225600"
ACCOUNT = str(Account.from_key("0x" + "42" * 32).address)
ALLOWED = "0x1111111111111111111111111111111111111111"
STRANGER = "0x2222222222222222222222222222222222222222"
SEED = {
    "sessionKey": "example",
    "capabilities": [
        "message.sign",
        "siwe.login",
        "native.transfer",
        "erc20.transfer",
        "swap.execute",
    ],
    "maxValueUsd": 100,
    "allowedDestinations": [
        ALLOWED,
        "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48",
        "0x68b3465833fb72A70ecDF485E0e4C7bD8665Fc45",
    ],
    "chainId": 1,
    "expiresAt": "+1h",
}


@pytest.fixture
def envelope(tmp_path: Path) -> Path:
    shipped = ROOT / "config" / "envelopes" / "example.json"
    if shipped.exists():
        return shipped
    path = tmp_path / "example.json"  # another helper owns the shipped file
    path.write_text(json.dumps(SEED))
    return path


def tx(to: str, value_wei: int, data: str = "0x") -> dict[str, Any]:
    return {
        "method": "eth_sendTransaction",
        "params": [
            {
                "from": ACCOUNT,
                "to": to,
                "value": hex(value_wei),
                "data": data,
                "gas": "0x30d40",
                "nonce": "0x0",
                "maxFeePerGas": "0x3b9aca00",
                "maxPriorityFeePerGas": "0x1",
                "chainId": "0x1",
            }
        ],
    }


def check(
    tmp_path: Path, envelope: Path, request: Any, *extra: str, raw: str | None = None
) -> tuple[int, Any, str]:
    path = tmp_path / "request.json"
    path.write_text(raw if raw is not None else json.dumps(request))
    result = subprocess.run(
        [
            str(WCPROXY),
            "policy",
            "check",
            "--envelope",
            str(envelope),
            "--request",
            str(path),
            "--now",
            NOW,
            *extra,
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    lines = result.stdout.splitlines()
    if result.returncode in (0, 1):
        assert len(lines) == 1, result.stdout  # exactly one JSON line
        out = json.loads(lines[0])
        assert list(out) == ["decision", "reasons", "action"]  # the output format, exactly
        return result.returncode, out, result.stderr
    assert result.stdout == ""
    return result.returncode, None, result.stderr


def test_allow_small_native_transfer(tmp_path: Path, envelope: Path) -> None:
    code, out, _ = check(tmp_path, envelope, tx(ALLOWED, 10**16))  # 0.01 ETH = 30 USD
    assert code == 0, out
    assert out["decision"] == "allow"
    assert out["reasons"] == []
    assert out["action"]["action_class"] == "native.transfer"


def test_allow_personal_sign(tmp_path: Path, envelope: Path) -> None:
    request = {"method": "personal_sign", "params": ["0x" + b"hello wcproxy".hex(), ACCOUNT]}
    code, out, _ = check(tmp_path, envelope, request)
    assert code == 0, out
    assert out["decision"] == "allow"


def test_deny_over_the_cap(tmp_path: Path, envelope: Path) -> None:
    code, out, _ = check(tmp_path, envelope, tx(ALLOWED, 10**18))  # 1 ETH = 3000 USD > 100
    assert code == 1
    assert out["decision"] == "deny"
    assert "value_cap_exceeded" in out["reasons"]


def test_deny_destination_not_allowed(tmp_path: Path, envelope: Path) -> None:
    code, out, _ = check(tmp_path, envelope, tx(STRANGER, 10**15))
    assert code == 1
    assert "destination_not_allowed" in out["reasons"]


def test_deny_wrong_chain(tmp_path: Path, envelope: Path) -> None:
    code, out, _ = check(tmp_path, envelope, tx(ALLOWED, 10**15), "--chain", "eip155:5")
    assert code == 1
    assert "chain_mismatch" in out["reasons"]


def test_deny_upgrade_call(tmp_path: Path, envelope: Path) -> None:
    data = "0x3659cfe6" + "00" * 12 + "33" * 20  # upgradeTo(address)
    code, out, _ = check(tmp_path, envelope, tx(ALLOWED, 0, data))
    assert code == 1
    assert "non_delegable" in out["reasons"]


def test_deny_undecodable_params(tmp_path: Path, envelope: Path) -> None:
    code, out, _ = check(tmp_path, envelope, {"method": "eth_sendTransaction", "params": "nope"})
    assert code == 1
    assert out["decision"] == "deny"
    assert out["reasons"]


def test_whole_session_request_params_are_accepted(tmp_path: Path, envelope: Path) -> None:
    wrapped = {"request": tx(ALLOWED, 10**15), "chainId": "eip155:1"}
    code, out, _ = check(tmp_path, envelope, wrapped)
    assert code == 0, out


@pytest.mark.parametrize(
    ("request_obj", "raw", "extra", "needle"),
    [
        (None, "{not json", (), "not valid JSON"),
        ([1, 2], None, (), "JSON object"),
        ({"params": []}, None, (), '"method"'),
        ({"method": "personal_sign"}, None, (), '"params"'),
        ({"method": "personal_sign", "params": [], "extra": 1}, None, (), "unexpected keys"),
        ({"method": "personal_sign", "params": []}, None, ("--chain", "cosmos:hub"), "--chain"),
        ({"method": "personal_sign", "params": []}, None, ("--account", "0x12"), "--account"),
        (
            {"method": "personal_sign", "params": []},
            None,
            ("--config", "/nonexistent.toml"),
            "--config",
        ),
    ],
)
def test_bad_input_exits_2_naming_the_problem(
    tmp_path: Path,
    envelope: Path,
    request_obj: Any,
    raw: str | None,
    extra: tuple[str, ...],
    needle: str,
) -> None:
    code, _, stderr = check(tmp_path, envelope, request_obj, *extra, raw=raw)
    assert code == 2
    assert needle in stderr


def test_bad_envelope_and_missing_files_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "env.json"
    bad.write_text(json.dumps({**SEED, "surprise": True}))
    code, _, stderr = check(tmp_path, bad, tx(ALLOWED, 1))
    assert code == 2
    assert "envelope" in stderr
    code, _, stderr = check(tmp_path, tmp_path / "missing.json", tx(ALLOWED, 1))
    assert code == 2
    assert "cannot read" in stderr
