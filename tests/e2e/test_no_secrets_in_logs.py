"""Secrets never reach a log line or the audit log: a whole demo session, every log line captured.

After the run, every secret the daemon held — the session and pairing sym keys, the X25519 private keys,
the relay identity seed, the admin and emergency tokens, the dev signing key — is read back from the
store and the data directory, and none of them (hex, any case) may appear in the captured logs or in the
audit log.
"""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path

import pytest
import structlog

from proxy.config import load_settings
from proxy.demo import run_demo
from proxy.logs import configure_logging

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
DEV_KEY = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"


def _stored_secrets(db: Path) -> set[str]:
    secrets: set[str] = set()
    with sqlite3.connect(db) as conn:
        tables = [
            row[0] for row in conn.execute("select name from sqlite_master where type='table'")
        ]
        wc_table = next(t for t in tables if "wc" in t.lower() or "walletconnect" in t.lower())
        for kind, value in conn.execute(f"select kind, value from {wc_table}"):
            if kind in ("sym_key", "private_key", "client_seed"):
                text = value.decode() if isinstance(value, bytes) else str(value)
                secrets.add(text.strip('"').removeprefix("0x").lower())
    return {s for s in secrets if len(s) >= 32}


async def test_no_secret_reaches_the_logs_or_the_audit_log(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    settings = load_settings(
        ROOT / "config" / "example.toml", overrides={"data_dir": str(data_dir)}
    )
    captured = io.StringIO()
    secrets: set[str] = set()

    def snapshot(_line: str) -> None:  # keys are deleted when sessions end: collect them as we go
        db = data_dir / "wcproxy.sqlite3"
        if db.exists():
            secrets.update(_stored_secrets(db))

    configure_logging("json", "debug", stream=captured)
    try:
        rows, audit_path = await run_demo(settings, progress=snapshot)
    finally:
        structlog.reset_defaults()
    assert any(row.outcome == "SIGNED" for row in rows)  # a real session ran and signed
    assert len(secrets) >= 3  # relay seed, pairing and session sym keys at least
    secrets.add(DEV_KEY)
    for name in ("admin.token", "emergency.token"):
        secrets.add((data_dir / name).read_text().strip().lower())
    logs = captured.getvalue().lower()
    assert len(logs) > 1000  # the daemon did log its work
    audit = audit_path.read_text().lower()
    for secret in secrets:
        assert secret not in logs
        assert secret not in audit
