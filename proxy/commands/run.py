"""``wcproxy run``: start the daemon; the flags override the config; SIGTERM drains and exits 0."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

__all__ = ["register"]

DEFAULT_CONFIG = "config/example.toml"


def register(subparsers: Any) -> None:
    """Add ``run`` to the CLI."""
    parser = subparsers.add_parser(
        "run",
        help="run the signing proxy daemon",
        description="Run wcproxy: pair with dApps, judge every signing request, sign or refuse, audit.",
    )
    parser.add_argument(
        "--config", default=DEFAULT_CONFIG, help=f"TOML config (default: {DEFAULT_CONFIG})"
    )
    parser.add_argument(
        "--relay-url", help='relay URL, or "embedded" to start the local relay in-process'
    )
    parser.add_argument(
        "--pair",
        action="extend",
        nargs="+",
        default=[],
        metavar="URI",
        help="pair with these wc: URIs at start (quote them: they contain &)",
    )
    parser.add_argument("--store", help="store URL: sqlite:PATH, redis://HOST:PORT/DB or memory:")
    parser.add_argument(
        "--data-dir", help="directory for the daemon's state (SQLite, audit log, tokens)"
    )
    parser.set_defaults(func=_run)


def overrides_from(args: argparse.Namespace) -> dict[str, Any]:
    """Command-line flags as config overrides (paths made absolute against the shell's directory)."""
    overrides: dict[str, Any] = {}
    if getattr(args, "data_dir", None):
        overrides["data_dir"] = os.path.abspath(args.data_dir)
    if getattr(args, "relay_url", None):
        overrides["relay.url"] = args.relay_url
    store = getattr(args, "store", None)
    if store:
        if store.startswith("sqlite:") and not store.startswith("sqlite:/"):
            store = "sqlite:" + os.path.abspath(store.removeprefix("sqlite:"))
        overrides["store.url"] = store
    return overrides


def _run(args: argparse.Namespace) -> int:
    from proxy.config import load_settings
    from proxy.errors import ConfigError
    from proxy.logs import configure_logging

    try:
        settings = load_settings(args.config, overrides=overrides_from(args))
    except ConfigError as exc:
        print(f"wcproxy run: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log.format, settings.log.level, cache=True)
    from proxy import event_loop

    return event_loop.run(_serve(settings, tuple(args.pair)))


async def _serve(settings: Any, pair: tuple[str, ...]) -> int:
    import structlog

    from proxy.app import Daemon
    from proxy.errors import ProxyError
    from walletconnect.errors import WalletConnectError

    log = structlog.get_logger("wcproxy")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    daemon = Daemon(settings, pair_uris=pair)
    try:
        await daemon.start()
    except (ProxyError, WalletConnectError, OSError, ValueError) as exc:
        log.error("startup_failed", error=str(exc), kind=type(exc).__name__)
        print(f"wcproxy run: cannot start: {exc}", file=sys.stderr)
        return 1
    ready = {
        "event": "ready",
        "relay": daemon.relay_url,
        "admin": daemon.admin_url,
        "audit_log": str(Path(settings.audit.path)),
        "data_dir": str(Path(settings.data_dir)),
        "accounts": list(daemon.signer.accounts()),
        "signer": daemon.signer.name,
    }
    from proxy.event_loop import settle_heap

    settle_heap()
    sys.stdout.write(json.dumps(ready) + "\n")
    sys.stdout.flush()
    await stop.wait()
    log.info("stopping", why="signal")
    with contextlib.suppress(asyncio.CancelledError):
        await daemon.stop()
    return 0
