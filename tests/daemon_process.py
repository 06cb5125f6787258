"""Run ``wcproxy run`` as a real process for end-to-end tests: wait for ``ready``, stop with SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
WCPROXY = Path(sys.executable).parent / "wcproxy"
EXAMPLE_CONFIG = ROOT / "config" / "example.toml"

__all__ = ["EXAMPLE_CONFIG", "WCPROXY", "DaemonProcess", "wcproxy_cli"]


class DaemonProcess:
    """``async with DaemonProcess(data_dir, *flags) as d:`` then ``d.ready`` (the ready event's fields)."""

    def __init__(
        self,
        data_dir: Path,
        *flags: str,
        config: Path = EXAMPLE_CONFIG,
        env: dict[str, str] | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.config = config
        self.flags = list(flags)
        self.env = env or {}
        self.proc: asyncio.subprocess.Process | None = None
        self.ready: dict[str, Any] = {}
        self.stderr: list[str] = []
        self._stderr_task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> DaemonProcess:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.kill()

    async def start(self, timeout_s: float = 60.0) -> None:
        """Spawn the daemon and wait for its ``ready`` line on stdout."""
        self.proc = await asyncio.create_subprocess_exec(
            str(WCPROXY),
            "run",
            "--config",
            str(self.config),
            "--data-dir",
            str(self.data_dir),
            *self.flags,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **self.env},
        )
        self._stderr_task = asyncio.create_task(self._drain())
        assert self.proc.stdout is not None
        try:
            async with asyncio.timeout(timeout_s):
                while True:
                    raw = await self.proc.stdout.readline()
                    if not raw:
                        await self.proc.wait()
                        pytest.fail(
                            f"wcproxy run exited ({self.proc.returncode}) before ready\n{self.tail()}"
                        )
                    with contextlib.suppress(ValueError):
                        event = json.loads(raw)
                        if isinstance(event, dict) and event.get("event") == "ready":
                            self.ready = event
                            return
        except TimeoutError:
            await self.kill()
            pytest.fail(f"wcproxy run not ready within {timeout_s}s\n{self.tail()}")

    async def _drain(self) -> None:
        assert self.proc is not None
        assert self.proc.stderr is not None
        async for line in self.proc.stderr:
            self.stderr.append(line.decode(errors="replace").rstrip())

    def tail(self, lines: int = 40) -> str:
        """The last stderr lines, for assertion messages."""
        return "\n".join(self.stderr[-lines:])

    async def terminate(self, timeout_s: float = 20.0) -> int:
        """SIGTERM and wait; returns the exit status (kills on timeout)."""
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(self.proc.wait(), timeout_s)
        except TimeoutError:
            await self.kill()
            pytest.fail(f"wcproxy run did not stop on SIGTERM within {timeout_s}s\n{self.tail()}")

    async def kill(self) -> None:
        """SIGKILL if still running, and reap."""
        if self.proc is not None and self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()
            await self.proc.wait()
        if self._stderr_task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(self._stderr_task, 5)


async def wcproxy_cli(*args: str, timeout_s: float = 60.0) -> tuple[int, str, str]:
    """Run one ``wcproxy`` command; returns (status, stdout, stderr)."""
    proc = await asyncio.create_subprocess_exec(
        str(WCPROXY), *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout_s)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()
