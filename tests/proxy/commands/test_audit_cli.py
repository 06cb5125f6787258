from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path

import pytest

from proxy.audit.log import AuditLog, FileChainHeadStore
from proxy.audit.record import AuditEntry, record_hash

ROOT = Path(__file__).resolve().parents[3]
WCPROXY = ROOT / ".venv" / "bin" / "wcproxy"


def verify(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(WCPROXY), "audit", "verify", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def log_file(tmp_path: Path) -> Path:
    path = tmp_path / "audit.jsonl"

    async def fill() -> None:
        log = await AuditLog.open(
            path, FileChainHeadStore(tmp_path / "audit.jsonl.head"), fsync="never"
        )
        for i in range(6):
            await log.append(
                AuditEntry(
                    decision="allow" if i % 2 else "deny", method="personal_sign", request_id=i
                )
            )
        await log.close()

    asyncio.run(fill())
    return path


def lines_of(path: Path) -> list[str]:
    return path.read_text().splitlines(keepends=True)


def test_intact_log_verifies(log_file: Path) -> None:
    result = verify(str(log_file))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("OK: 6 records")
    assert "anchored to" in result.stdout
    as_json = json.loads(verify(str(log_file), "--json").stdout)
    assert as_json["ok"] is True
    assert as_json["records"] == 6


def test_edited_line(log_file: Path) -> None:
    lines = lines_of(log_file)
    record = json.loads(lines[2])
    record["decision"] = "allow" if record["decision"] == "deny" else "deny"
    lines[2] = json.dumps(record) + "\n"
    log_file.write_text("".join(lines))
    result = verify(str(log_file))
    assert result.returncode == 1
    assert "line 3" in result.stdout
    assert "edited" in result.stdout


def test_edited_line_with_recomputed_hash(log_file: Path) -> None:
    lines = lines_of(log_file)
    record = json.loads(lines[2])
    record["decision"] = "allow"
    record["hash"] = record_hash(record)
    lines[2] = json.dumps(record) + "\n"
    log_file.write_text("".join(lines))
    result = verify(str(log_file))
    assert result.returncode == 1
    assert "line 4" in result.stdout


def test_removed_line(log_file: Path) -> None:
    lines = lines_of(log_file)
    del lines[3]
    log_file.write_text("".join(lines))
    result = verify(str(log_file))
    assert result.returncode == 1
    assert "line 4" in result.stdout
    assert "removed" in result.stdout


def test_reordered_lines(log_file: Path) -> None:
    lines = lines_of(log_file)
    lines[1], lines[4] = lines[4], lines[1]
    log_file.write_text("".join(lines))
    result = verify(str(log_file))
    assert result.returncode == 1
    assert "line 2" in result.stdout


def test_truncated_tail(log_file: Path) -> None:
    log_file.write_text("".join(lines_of(log_file)[:4]))
    result = verify(str(log_file))  # FILE.head is found by default
    assert result.returncode == 1
    assert "line 5" in result.stdout
    assert "truncated" in result.stdout
    explicit = verify(str(log_file), "--head", str(log_file) + ".head")
    assert explicit.returncode == 1
    # without the external head the cut is invisible, and the output says so
    blind = verify(str(log_file), "--no-head")
    assert blind.returncode == 0
    assert "no external head" in blind.stdout


def test_unreadable_inputs_exit_2(tmp_path: Path, log_file: Path) -> None:
    assert verify(str(tmp_path / "missing.jsonl")).returncode == 2
    assert verify(str(log_file), "--head", str(tmp_path / "missing.head")).returncode == 2
    (tmp_path / "bad.head").write_text("nonsense")
    assert verify(str(log_file), "--head", str(tmp_path / "bad.head")).returncode == 2
