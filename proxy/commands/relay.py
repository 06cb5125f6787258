"""``wcproxy relay``: run the local WalletConnect relay until SIGINT/SIGTERM; does I/O.

The first line of stdout is the relay's ``ws://HOST:PORT`` URL (flushed at once, so scripts can read
it); logs go to stderr through structlog.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from typing import Any

import structlog

from proxy import event_loop
from proxy.logs import configure_logging
from walletconnect.aio.relay_server import RelayServer

__all__ = ["register", "run"]

log = structlog.get_logger(__name__)


def register(subparsers: Any) -> None:
    """Add the ``relay`` subcommand."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "relay",
        help="run a local WalletConnect relay (tests, demo, bench)",
        description="Run a local WalletConnect v2 relay; prints its ws:// URL as the first stdout line.",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)"
    )
    parser.add_argument("--port", type=int, default=0, help="port (default 0: a free port)")
    parser.add_argument(
        "--frame-log", metavar="FILE", help="append every frame as JSON lines to FILE"
    )
    parser.add_argument(
        "--no-auth", action="store_true", help="admit clients without a relay-auth JWT"
    )
    parser.add_argument("--log-level", default="info", help="debug, info, warning (default info)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Serve until SIGINT or SIGTERM; returns 0 on a clean stop."""
    configure_logging(level=args.log_level, stream=sys.stderr)
    return event_loop.run(_serve(args))


async def _serve(args: argparse.Namespace) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    server = RelayServer(
        host=args.host, port=args.port, require_auth=not args.no_auth, frame_log=args.frame_log
    )
    async with server:
        sys.stdout.write(server.url + "\n")
        sys.stdout.flush()
        await stop.wait()
        log.info("relay_stopping")
    return 0
