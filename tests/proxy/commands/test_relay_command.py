"""``wcproxy relay`` as a subprocess: first stdout line is the URL, it relays, SIGTERM exits 0."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
from pathlib import Path

from websockets.asyncio.client import connect

ROOT = Path(__file__).resolve().parents[3]
T1 = "a1" * 32


async def test_relay_command_prints_url_serves_and_exits_cleanly_on_sigterm(tmp_path: Path) -> None:
    frame_log = tmp_path / "frames.jsonl"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "proxy",
            "relay",
            "--port",
            "0",
            "--no-auth",
            "--frame-log",
            str(frame_log),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), 20)
        assert line.startswith("ws://127.0.0.1:")
        url = line.strip()
        async with connect(url, proxy=None, open_timeout=5) as ws:
            await ws.send(
                json.dumps(
                    {"id": 1, "jsonrpc": "2.0", "method": "irn_subscribe", "params": {"topic": T1}}
                )
            )
            assert len(json.loads(await ws.recv())["result"]) == 64
        proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(asyncio.to_thread(proc.wait), 20)
        assert code == 0
        assert proc.stdout.read() == ""  # nothing but the URL on stdout
        assert proc.stderr is not None
        assert "relay_listening" in proc.stderr.read()
        assert len(frame_log.read_text().splitlines()) == 2
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
