"""The daemon's composition root (I/O): builds relay, stores, signer, audit, pipeline, wallet and admin API.

Resources open in order under one AsyncExitStack and close in reverse. The daemon implements the admin
API's :class:`~proxy.admin.backend.AdminBackend`. It is the second place allowed a broad ``except``:
its background tasks log and carry on, they never take the daemon down.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import time
from collections.abc import Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import structlog
from aiohttp import web

from policy.envelope import CapabilityEnvelope, parse_envelope
from policy.interfaces import ReplayStore
from policy.replay import ReplayPolicy
from policy.revocation import (
    Freeze,
    Revocation,
    SessionBinding,
)
from proxy.admin.app import create_admin_app
from proxy.audit.log import AuditLog, FileChainHeadStore
from proxy.audit.record import AuditEntry
from proxy.chain_rpc import ChainRpc
from proxy.config import Settings
from proxy.daemon_revocation import RevocationMixin
from proxy.daemon_sessions import SessionsMixin
from proxy.daemon_state import QueuedProposal
from proxy.errors import ConfigError, ConfigIssue
from proxy.metrics import Metrics
from proxy.pipeline import RequestPipeline
from proxy.revocation_rules import RuleEvaluator
from proxy.session_rules import SessionPlan
from proxy.signers.base import Signer
from proxy.signers.factory import build_signer
from proxy.stores import open_replay_store, store_problem
from proxy.stores.replay_sqlite import SqliteReplayStore
from proxy.stores.wc import open_wc_store
from proxy.wiring import build_pricer
from walletconnect.aio.relay_server import RelayServer
from walletconnect.aio.wallet_client import (
    Rejection,
    WalletClient,
)
from walletconnect.errors import sdk_error

__all__ = ["Daemon", "QueuedProposal"]

log = structlog.get_logger(__name__)


class Daemon(SessionsMixin, RevocationMixin):
    """One running wcproxy: ``await daemon.start()``, ``await daemon.stop()`` (or ``async with``)."""

    def __init__(
        self,
        settings: Settings,
        *,
        pair_uris: tuple[str, ...] = (),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.pair_uris = pair_uris
        self.clock = clock
        self.metrics = Metrics.create()
        self.data_dir = Path(settings.data_dir)
        self._stack = AsyncExitStack()
        self._tasks: list[asyncio.Task[None]] = []
        self._queued: dict[int, QueuedProposal] = {}
        self._bindings: dict[str, SessionBinding] = {}
        self._envelopes: dict[str, CapabilityEnvelope] = {}
        self._frozen: Freeze | None = None
        self._pending_plans: dict[int, tuple[SessionPlan, str]] = {}
        self.rules = RuleEvaluator(settings.revocation.rules)
        self._revoked: dict[str, Revocation] = {}
        self._revoking: set[str] = set()
        self._to_retire: set[str] = set()
        self.relay_url = ""
        self.admin_url = ""
        self.store: ReplayStore
        self.signer: Signer
        self.audit: AuditLog
        self.pipeline: RequestPipeline
        self.wallet: WalletClient
        self.templates: dict[str, CapabilityEnvelope] = {}

    async def __aenter__(self) -> Daemon:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        """Open everything, connect, pair with ``pair_uris`` and log ``ready``."""
        try:
            await self._start()
        except BaseException:
            await self._stack.aclose()
            raise

    async def _start(self) -> None:
        settings = self.settings
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.templates = self._load_templates()
        self.relay_url = await self._open_relay()
        self.store = await open_replay_store(settings.store.url)
        self._stack.push_async_callback(self.store.close)
        if isinstance(self.store, SqliteReplayStore):
            self.metrics.watch_store(self.store.batcher.counters)
        self.signer = build_signer(settings)
        self._stack.push_async_callback(self.signer.close)
        audit_path = Path(settings.audit.path)
        self.audit = await AuditLog.open(
            audit_path,
            FileChainHeadStore.beside(audit_path),
            fsync=settings.audit.fsync,
            fsync_interval_s=settings.audit.fsync_interval_s,
            clock=self.clock,
        )
        self._stack.push_async_callback(self.audit.close)
        chains: dict[int, ChainRpc] = {}
        for chain_id, chain in settings.chains.items():
            if chain.rpc_url is not None:
                rpc = ChainRpc(str(chain.rpc_url))
                self._stack.push_async_callback(rpc.close)
                chains[chain_id] = rpc
        self.pipeline = RequestPipeline(
            store=self.store,
            signer=self.signer,
            pricer=build_pricer(settings),
            audit=self.audit,
            metrics=self.metrics,
            replay_policy=ReplayPolicy(
                id_window_s=settings.replay.id_window_s,
                default_ttl_s=settings.replay.payload_window_s,
            ),
            chains=chains,
            clock=self.clock,
            is_frozen=lambda: self._frozen is not None,
            on_refused=self._on_refused,
        )
        self._stack.push_async_callback(self.pipeline.drain)  # before the store closes
        _events, cursor = await self.store.events_since(None)  # follow from here on
        for binding in await self.store.bindings():
            if binding.ended_at is None:
                self._remember(binding)
        self._frozen = await self.store.frozen()
        self.metrics.frozen.set(1 if self._frozen else 0)
        wc_store = await open_wc_store(
            settings.store.url, key_prefix=settings.store.key_prefix, replay_store=self.store
        )
        self.wallet = WalletClient(
            self.relay_url,
            metadata=settings.metadata.model_dump(mode="json"),
            store=wc_store,
            on_proposal=self._on_proposal,
            on_request=self._on_request,
            on_revoked_request=self._on_revoked_request,
            on_reused_id=self._on_reused_id,
            project_id=(
                settings.relay.project_id.get_secret_value() if settings.relay.project_id else None
            ),
            clock=self.clock,
        )
        await self.wallet.start()
        self._stack.push_async_callback(self.wallet.close)
        await self._reconcile_revocations()
        await self._open_admin()
        self._tasks = [
            asyncio.create_task(self._watch_events(), name="wcproxy-events"),
            asyncio.create_task(self._sweep(), name="wcproxy-sweep"),
            asyncio.create_task(self._follow_store(cursor), name="wcproxy-store-events"),
        ]
        await self._audit(AuditEntry(event="startup", details={"signer": self.signer.name}))
        for uri in self.pair_uris:
            await self.wallet.pair(uri)
        log.info(
            "ready",
            relay=self.relay_url,
            admin=self.admin_url,
            audit_log=str(audit_path),
            data_dir=str(self.data_dir),
            signer=self.signer.name,
            accounts=list(self.signer.accounts()),
        )

    async def stop(self) -> None:
        """Drain in-flight requests, then close everything in reverse order."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        with contextlib.suppress(Exception):
            await self.wallet.drained(timeout_s=10.0)
        for queued in self._queued.values():
            if not queued.decided.done():
                queued.decided.set_result(Rejection(sdk_error("USER_REJECTED", "proxy stopping")))
        await self._stack.aclose()
        log.info("stopped")

    def _load_templates(self) -> dict[str, CapabilityEnvelope]:
        templates: dict[str, CapabilityEnvelope] = {}
        for rule in self.settings.session_rules:
            if rule.envelope is None:
                continue
            path = Path(rule.envelope)
            try:
                templates[rule.name] = parse_envelope(path.read_bytes())
            except OSError as exc:
                raise _config_error(rule.name, f"envelope {path}: {exc.strerror}") from None
            except ValueError as exc:
                raise _config_error(rule.name, f"envelope {path}: {exc}") from None
        return templates

    async def _open_relay(self) -> str:
        relay = self.settings.relay
        if relay.url != "embedded":
            return relay.url
        server = RelayServer(relay.listen_host, relay.listen_port)
        await server.start()
        self._stack.push_async_callback(server.stop)
        return server.url

    async def _open_admin(self) -> None:
        admin = self.settings.admin
        token = _secret(admin.token)
        if token is None:
            token = await asyncio.to_thread(_token_file, Path(admin.token_file))
        emergency = _secret(admin.emergency_token)
        if emergency is None:
            emergency = await asyncio.to_thread(_token_file, Path(admin.emergency_token_file))
        app = create_admin_app(self, token=token, emergency_token=emergency)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        self._stack.push_async_callback(runner.cleanup)
        site = web.TCPSite(runner, admin.host, admin.port)
        await site.start()
        bound_host, port = runner.addresses[0][:2]
        host = f"[{bound_host}]" if ":" in bound_host else bound_host
        self.admin_url = f"http://{host}:{port}"
        url_file = Path(admin.url_file)
        await asyncio.to_thread(_write_text, url_file, self.admin_url + "\n")
        self._stack.callback(_unlink_if, url_file, self.admin_url)

    async def health(self) -> dict[str, Any]:
        """Liveness facts; ``ok`` is false while the replay store cannot serve claims."""
        relay = self.wallet.relay
        problem = await store_problem(self.store)
        return {
            "ok": problem is None,
            "store": "ok" if problem is None else problem,
            "relay": self.relay_url,
            "relay_connected": bool(relay is not None and relay.connected),
            "sessions": len(self._bindings),
            "queued_proposals": len(self._queued),
            "frozen": self._frozen is not None,
            "signer": self.signer.name,
        }

    def metrics_text(self) -> bytes:
        """Prometheus exposition."""
        return self.metrics.exposition()


def _config_error(rule: str, message: str) -> ConfigError:
    return ConfigError(
        [ConfigIssue(file="<config>", location=f"session_rules[{rule}].envelope", message=message)]
    )


def _secret(value: Any) -> str | None:
    return value.get_secret_value() if value is not None else None


def _token_file(path: Path) -> str:
    """Read a token file, creating it (random, mode 0600) when missing."""
    if path.exists():
        token = path.read_text(encoding="utf-8").strip()
        if token:
            return token
    path.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(token + "\n")
    return token


def _write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _unlink_if(path: Path, content: str) -> None:
    with contextlib.suppress(OSError):
        if path.read_text(encoding="utf-8").strip() == content:
            path.unlink()
