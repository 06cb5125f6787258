"""Run node scripts against the official WalletConnect SDK in tests/node/node_modules (interop tests).

* ``node`` comes from ``$NODE`` or ``PATH``; the SDK from ``make node`` (``cd tests/node && npm ci``).
* Every process preloads ``tests/interop/js/preload.mjs``: bare imports such as
  ``@walletconnect/sign-client`` resolve from tests/node/node_modules (``NODE_PATH`` is set too, for
  CommonJS), and non-loopback network access (fetch, TCP, DNS) fails at once, so the offline SDK
  fails fast (reference §14a). Scripts use ``tests/interop/js/common.mjs`` for per-client storage
  prefixes and ``telemetryEnabled: false``.
* Scripts print JSON lines ``{"sdk_event": name, ...}`` on stdout; other lines (SDK logs) are kept
  for diagnostics. :meth:`NodeScript.expect` waits for one event with a timeout and fails with the
  script's stderr; leaving the ``async with`` kills the process if it is still running.
* Each process runs in its own temporary directory (the SDK's file storage lands there).

Without node or the SDK the calling test is skipped, unless ``CI`` is set (then it fails).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
NODE_MODULES = ROOT / "tests" / "node" / "node_modules"
JS_DIR = ROOT / "tests" / "interop" / "js"
PRELOAD = JS_DIR / "preload.mjs"

__all__ = ["JS_DIR", "NODE_MODULES", "NodeScript", "node_binary", "require_sdk"]


def node_binary() -> str | None:
    """Path of the node executable, or None."""
    return os.environ.get("NODE") or shutil.which("node")


def require_sdk() -> str:
    """Return node's path, or skip (fail under CI) when node or the SDK is missing."""
    node = node_binary()
    problem = None
    if node is None:
        problem = "node is not installed"
    elif not (NODE_MODULES / "@walletconnect" / "sign-client" / "package.json").is_file():
        problem = "official SDK missing: run `make node` (cd tests/node && npm ci)"
    if problem is not None:
        if os.environ.get("CI"):
            pytest.fail(problem)
        pytest.skip(problem)
    assert node is not None
    return node


class NodeScript:
    """One node process running ``tests/interop/js/<script>`` (or a path) with the SDK preloads."""

    def __init__(self, script: str | Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.script = Path(script) if Path(script).is_absolute() else JS_DIR / script
        self.args = [str(a) for a in args]
        self.extra_env = env or {}
        self.events: list[dict[str, Any]] = []
        self.other_stdout: list[str] = []
        self.stderr: list[str] = []
        self.proc: asyncio.subprocess.Process | None = None
        self._stderr_task: asyncio.Task[None] | None = None
        self._workdir: str | None = None

    async def __aenter__(self) -> NodeScript:
        node = require_sdk()
        self._workdir = tempfile.mkdtemp(prefix="wcproxy-node-")
        env = {
            **os.environ,
            "NODE_PATH": str(NODE_MODULES),
            "WC_NODE_MODULES": str(NODE_MODULES),
            "NODE_NO_WARNINGS": "1",
            **self.extra_env,
        }
        self.proc = await asyncio.create_subprocess_exec(
            node,
            "--import",
            PRELOAD.as_uri(),
            str(self.script),
            *self.args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=self._workdir,
            env=env,
            limit=4 * 1024 * 1024,
        )
        self._stderr_task = asyncio.create_task(self._drain_stderr())
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.kill()
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)

    async def kill(self) -> None:
        """Kill the process if it still runs, and reap it."""
        if self.proc is not None and self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()
            await self.proc.wait()
        if self._stderr_task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(self._stderr_task, 5)

    async def _drain_stderr(self) -> None:
        assert self.proc is not None
        assert self.proc.stderr is not None
        async for line in self.proc.stderr:
            self.stderr.append(line.decode(errors="replace").rstrip())

    def diagnostics(self) -> str:
        """Recent stderr and non-event stdout, for assertion messages."""
        return (
            f"events={[e.get('sdk_event') for e in self.events]}\n"
            f"stderr tail:\n"
            + "\n".join(self.stderr[-30:])
            + "\nstdout tail:\n"
            + "\n".join(self.other_stdout[-15:])
        )

    async def expect(self, event: str | tuple[str, ...], timeout_s: float = 30.0) -> dict[str, Any]:
        """Wait for the next ``{"sdk_event": event}`` line (earlier ones are kept in ``events``).

        ``event`` may be a tuple of names: the first line with any of them is returned.

        Fails the test on an ``error`` event, on exit, or after ``timeout_s`` (killing the process).
        """
        wanted = (event,) if isinstance(event, str) else event
        for seen in self.events:
            if seen.get("sdk_event") in wanted and not seen.get("_consumed"):
                seen["_consumed"] = True
                return seen
        assert self.proc is not None
        assert self.proc.stdout is not None
        try:
            async with asyncio.timeout(timeout_s):
                while True:
                    raw = await self.proc.stdout.readline()
                    if not raw:
                        await self.proc.wait()
                        pytest.fail(
                            f"node exited ({self.proc.returncode}) before {event!r}\n{self.diagnostics()}"
                        )
                    line = raw.decode(errors="replace").strip()
                    try:
                        obj = json.loads(line)
                    except ValueError:
                        obj = None
                    if not isinstance(obj, dict) or "sdk_event" not in obj:
                        self.other_stdout.append(line)
                        continue
                    self.events.append(obj)
                    if obj["sdk_event"] == "error":
                        pytest.fail(
                            f"node script error: {obj.get('message')}\n{self.diagnostics()}"
                        )
                    if obj["sdk_event"] in wanted:
                        obj["_consumed"] = True
                        return obj
        except TimeoutError:
            await self.kill()
            pytest.fail(f"timed out after {timeout_s}s waiting for {event!r}\n{self.diagnostics()}")

    async def wait(self, timeout_s: float = 30.0) -> int:
        """Wait for the process to exit (killed on timeout); returns its exit status."""
        assert self.proc is not None
        try:
            return await asyncio.wait_for(self.proc.wait(), timeout_s)
        except TimeoutError:
            await self.kill()
            pytest.fail(f"node did not exit within {timeout_s}s\n{self.diagnostics()}")
