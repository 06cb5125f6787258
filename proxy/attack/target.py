"""Targets of the bench (I/O): wcproxy itself in-process, a wallet started by a command, or any wallet on a relay.

An :class:`Arena` is one wallet behind one relay: the runner pairs with it (``pair(uri)``), and on a
wcproxy arena also acts as its operator (``admin``). :class:`SelfTarget` opens one arena per *daemon
profile* (the revocation rules and isolation a scenario asks for) — each a fresh
:class:`proxy.app.Daemon` with an embedded relay on a fresh data directory, so replay state never
leaks between runs and an emergency stop never touches another group's sessions. In-process rather
than a ``wcproxy run`` subprocess because scenarios may override a session's envelope and the daemon's
revocation rules: with the Settings object at hand these are prepended session rules and a replaced
``revocation`` section, with no TOML rewriting of relative paths; the admin actions still go through the
real admin HTTP API with the daemon's own tokens.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shlex
import signal
import sys
import tempfile
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Protocol

import aiohttp
import structlog

from proxy.attack.scenario import Scenario
from proxy.config import RevocationRule, RevocationSettings, Settings, load_settings

__all__ = [
    "AdminUnavailable",
    "Arena",
    "Profile",
    "RelayTarget",
    "SelfTarget",
    "Target",
    "WalletCmdTarget",
    "dapp_name",
    "profile_of",
]

log = structlog.get_logger(__name__)

DAPP_NAME = "wcproxy-attack"
DAPP_URL = "https://attack.wcproxy.example"

Profile = tuple[str, ...]
"""A daemon profile: JSON of the revocation rules, plus the scenario name when it runs isolated."""


def profile_of(scenario: Scenario) -> Profile:
    """The daemon profile a scenario needs (scenarios sharing one share a daemon)."""
    rules = json.dumps([r.model_dump(mode="json") for r in scenario.setup.revocation_rules])
    return (rules, scenario.name) if scenario.setup.isolated else (rules,)


def dapp_name(scenario: Scenario) -> str:
    """The dApp metadata name the scenario pairs with (its own when it overrides the envelope)."""
    return f"{DAPP_NAME}/{scenario.name}" if scenario.setup.envelope is not None else DAPP_NAME


class AdminUnavailable(Exception):  # noqa: N818 - a verdict, like "skipped"
    """The target has no operator interface (not wcproxy)."""


class Arena(Protocol):
    """One wallet on one relay."""

    relay_url: str
    is_wcproxy: bool
    label: str
    project_id: str | None

    async def pair(self, uri: str) -> None:
        """Make the wallet pair with ``uri`` (programmatically, by a process, or by a human)."""

    async def admin(self, action: str, topic: str, timeout_s: float) -> str:
        """An operator action on a wcproxy target; returns a note for the report."""

    async def after_scenario(self) -> None:
        """Restore shared state a scenario may have changed (e.g. lift an emergency stop)."""

    def diagnostics(self) -> str:
        """Recent wallet output, for error messages."""


class Target(Protocol):
    """Something to attack: opens an arena per daemon profile (foreign wallets: one arena)."""

    label: str
    is_wcproxy: bool

    def arena(
        self, profile: Profile, scenarios: Sequence[Scenario]
    ) -> contextlib.AbstractAsyncContextManager[Arena]:
        """Open an arena for these scenarios."""


# ---------------------------------------------------------------------------------------------- self


class _SelfArena:
    is_wcproxy = True
    project_id: str | None = None

    def __init__(self, daemon: Any, label: str) -> None:
        self.daemon = daemon
        self.relay_url: str = daemon.relay_url
        self.label = label
        self._frozen = False

    async def pair(self, uri: str) -> None:
        await self.daemon.pair(uri, actor="attack-bench")

    def _token(self, emergency: bool) -> str:
        admin = self.daemon.settings.admin
        secret = admin.emergency_token if emergency else admin.token
        if secret is not None:
            return str(secret.get_secret_value())
        path = Path(admin.emergency_token_file if emergency else admin.token_file)
        return path.read_text(encoding="utf-8").strip()

    async def _call(
        self, path: str, body: Mapping[str, Any] | None, *, emergency: bool, timeout_s: float
    ) -> Any:
        headers = {
            "Authorization": f"Bearer {self._token(emergency)}",
            "X-Wcproxy-Actor": "attack-bench",
        }
        timeout = aiohttp.ClientTimeout(total=timeout_s)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            method = "GET" if body is None else "POST"
            async with http.request(
                method, self.daemon.admin_url + path, json=body, headers=headers
            ) as resp:
                data = await resp.json(content_type=None)
                if resp.status >= 400:
                    raise RuntimeError(f"admin API {path} refused ({resp.status}): {data}")
                return data

    async def admin(self, action: str, topic: str, timeout_s: float) -> str:
        if action == "revoke":
            data = await self._call(
                "/revoke",
                {"session": topic, "reason": "attack bench: user revocation"},
                emergency=False,
                timeout_s=timeout_s,
            )
            return f"revoked {len(data.get('revoked', []))} session(s) via the admin API"
        if action == "emergency_stop":
            self._frozen = True
            await self._call(
                "/emergency/stop", {"reason": "attack bench"}, emergency=True, timeout_s=timeout_s
            )
            return "emergency stop via the admin API"
        if action == "emergency_resume":
            await self._call(
                "/emergency/resume", {"reason": "attack bench"}, emergency=True, timeout_s=timeout_s
            )
            self._frozen = False
            return "emergency resume via the admin API"
        if action == "wait_revoked":
            deadline = time.monotonic() + timeout_s
            while time.monotonic() < deadline:
                sessions = await self._call("/sessions", None, emergency=False, timeout_s=timeout_s)
                rows = (
                    {row["session"]: row for row in sessions} if isinstance(sessions, list) else {}
                )
                row = rows.get(topic)
                if row is None or row.get("revoked"):
                    return "session revoked by the policy path"
                await asyncio.sleep(0.1)
            return f"session still live after {timeout_s}s (no policy-path revocation)"
        raise AdminUnavailable(action)

    async def after_scenario(self) -> None:
        if self._frozen:
            with contextlib.suppress(Exception):
                await self.admin("emergency_resume", "", 10.0)

    def diagnostics(self) -> str:
        return ""


class SelfTarget:
    """wcproxy with ``config`` (its session rules, envelopes, signer), in-process, one daemon per profile."""

    label = "wcproxy (self)"
    is_wcproxy = True

    def __init__(
        self,
        config: str | os.PathLike[str],
        *,
        work_dir: Path | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = str(config)
        self.work_dir = work_dir
        self.clock = clock
        self._count = 0
        load_settings(self.config)  # fail early (ConfigError) on a bad config

    def _settings(
        self, data_dir: Path, profile: Profile, scenarios: Sequence[Scenario]
    ) -> Settings:
        base = load_settings(
            self.config, overrides={"data_dir": str(data_dir), "relay.url": "embedded"}
        )
        approving = [
            r for r in base.session_rules if r.action == "approve" and r.envelope is not None
        ]
        extra = []
        envelopes = data_dir / "attack-envelopes"
        for scenario in scenarios:
            if scenario.setup.envelope is None:
                continue
            if not approving:
                raise ValueError(
                    f"{self.config}: no approving session rule to derive {scenario.name}'s rule from"
                )
            envelopes.mkdir(parents=True, exist_ok=True)
            path = envelopes / f"{scenario.name}.json"
            path.write_text(json.dumps(scenario.setup.envelope), encoding="utf-8")
            rule = approving[0]
            match = rule.match.model_copy(
                update={"names": (dapp_name(scenario),), "origins": ("*",)}
            )
            extra.append(
                rule.model_copy(
                    update={"name": f"attack-{scenario.name}", "envelope": path, "match": match}
                )
            )
        rules = tuple(RevocationRule.model_validate(r) for r in json.loads(profile[0]))
        update: dict[str, Any] = {"session_rules": (*extra, *base.session_rules)}
        if rules:
            update["revocation"] = RevocationSettings(rules=rules)
        return base.model_copy(update=update)

    @asynccontextmanager
    async def arena(self, profile: Profile, scenarios: Sequence[Scenario]) -> AsyncIterator[Arena]:
        from proxy.app import Daemon

        self._count += 1
        with contextlib.ExitStack() as stack:
            root = self.work_dir or Path(
                stack.enter_context(tempfile.TemporaryDirectory(prefix="wcproxy-attack-"))
            )
            data_dir = root / f"daemon-{self._count}"
            data_dir.mkdir(parents=True, exist_ok=True)
            settings = self._settings(data_dir, profile, scenarios)
            daemon = Daemon(settings, clock=self.clock)
            await daemon.start()
            try:
                yield _SelfArena(daemon, self.label)
            finally:
                await daemon.stop()


# ---------------------------------------------------------------------------------------------- foreign


class _ForeignArena:
    is_wcproxy = False

    def __init__(
        self, relay_url: str, label: str, project_id: str | None, on_pair: Callable[[str], Any]
    ) -> None:
        self.relay_url = relay_url
        self.label = label
        self.project_id = project_id
        self._on_pair = on_pair
        self.output: deque[str] = deque(maxlen=40)

    async def pair(self, uri: str) -> None:
        result = self._on_pair(uri)
        if asyncio.iscoroutine(result):
            await result

    async def admin(self, action: str, topic: str, timeout_s: float) -> str:
        raise AdminUnavailable(action)

    async def after_scenario(self) -> None:
        return None

    def diagnostics(self) -> str:
        return "\n".join(self.output)


@asynccontextmanager
async def _relay(url: str | None) -> AsyncIterator[str]:
    if url is not None:
        yield url
        return
    from walletconnect.aio.relay_server import RelayServer

    async with RelayServer() as server:
        yield server.url


def show_uri(uri: str, stream: Any = None) -> None:
    """Print the pairing URI and a terminal QR code of it (segno) on stderr."""
    import segno

    out = stream or sys.stderr
    print(f"\nPair your wallet with this URI (or scan the QR code):\n\n{uri}\n", file=out)
    with contextlib.suppress(Exception):
        segno.make(uri, error="l").terminal(out=out, compact=True)
    out.flush()


class RelayTarget:
    """Any wallet: print a ``wc:`` URI and QR code, attack the wallet that approves."""

    is_wcproxy = False

    def __init__(self, relay_url: str, *, project_id: str | None = None) -> None:
        self.relay_url = relay_url
        self.project_id = project_id
        self.label = f"wallet on {relay_url}"

    @asynccontextmanager
    async def arena(self, profile: Profile, scenarios: Sequence[Scenario]) -> AsyncIterator[Arena]:
        yield _ForeignArena(self.relay_url, self.label, self.project_id, show_uri)


class WalletCmdTarget:
    """A wallet started by a shell command: ``{uri}`` and ``{relay}`` are substituted shell-quoted."""

    is_wcproxy = False

    def __init__(
        self, command: str, *, relay_url: str | None = None, project_id: str | None = None
    ) -> None:
        if "{uri}" not in command:
            raise ValueError("--wallet-cmd must contain {uri}")
        self.command = command
        self.relay_url = relay_url
        self.project_id = project_id
        short = command if len(command) <= 60 else command[:57] + "..."
        self.label = f"wallet command: {short}"

    def render(self, uri: str, relay: str) -> str:
        """The command line with the values substituted (shell-quoted: a URI contains ``&``)."""
        return self.command.replace("{uri}", shlex.quote(uri)).replace(
            "{relay}", shlex.quote(relay)
        )

    @asynccontextmanager
    async def arena(self, profile: Profile, scenarios: Sequence[Scenario]) -> AsyncIterator[Arena]:
        procs: list[asyncio.subprocess.Process] = []
        tasks: list[asyncio.Task[None]] = []
        async with _relay(self.relay_url) as url:
            arena: _ForeignArena

            async def drain(stream: asyncio.StreamReader | None) -> None:
                if stream is None:
                    return
                async for line in stream:
                    arena.output.append(line.decode(errors="replace").rstrip()[:500])

            async def start(uri: str) -> None:
                if procs:
                    raise RuntimeError("the wallet command was already started with a pairing URI")
                proc = await asyncio.create_subprocess_shell(
                    self.render(uri, url),
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.PIPE,
                    start_new_session=True,
                    limit=1024 * 1024,
                )
                procs.append(proc)
                tasks.extend(asyncio.create_task(drain(s)) for s in (proc.stdout, proc.stderr))

            arena = _ForeignArena(url, self.label, self.project_id, start)
            try:
                yield arena
            finally:
                for proc in procs:
                    if proc.returncode is None:
                        with contextlib.suppress(ProcessLookupError):
                            os.killpg(proc.pid, signal.SIGTERM)
                        try:
                            await asyncio.wait_for(proc.wait(), 5)
                        except TimeoutError:
                            with contextlib.suppress(ProcessLookupError):
                                os.killpg(proc.pid, signal.SIGKILL)
                            await proc.wait()
                for task in tasks:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
