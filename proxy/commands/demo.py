"""``wcproxy demo``: the main job on embedded defaults, with a table of outcomes and reasons."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

__all__ = ["register"]

DEFAULT_CONFIG = "config/example.toml"


def register(subparsers: Any) -> None:
    """Add ``demo`` to the CLI."""
    parser = subparsers.add_parser(
        "demo",
        help="run the local relay, the proxy and a scripted dApp; print what was signed and what was refused",
        description=(
            "Start the local relay and the proxy on embedded defaults (SQLite, the labelled dev key, the "
            "example envelope), pair a scripted dApp and send a realistic mix of requests."
        ),
    )
    parser.add_argument(
        "--config", default=DEFAULT_CONFIG, help=f"TOML config (default: {DEFAULT_CONFIG})"
    )
    parser.add_argument(
        "--data-dir",
        help="where this run's state goes (default: a fresh directory under the config's data_dir/demo)",
    )
    parser.set_defaults(func=_demo)


def _demo(args: argparse.Namespace) -> int:
    from proxy.config import load_settings
    from proxy.demo import fresh_data_dir
    from proxy.errors import ConfigError
    from proxy.logs import configure_logging

    try:
        base = load_settings(args.config)
    except ConfigError as exc:
        print(f"wcproxy demo: {exc}", file=sys.stderr)
        return 2
    data_dir = (
        Path(os.path.abspath(args.data_dir))
        if args.data_dir
        else fresh_data_dir(Path(base.data_dir) / "demo")
    )
    overrides: dict[str, Any] = {"data_dir": str(data_dir), "relay.url": "embedded"}
    settings = load_settings(args.config, overrides=overrides)
    configure_logging("console" if sys.stderr.isatty() else "json", "warning")
    from proxy import event_loop

    return event_loop.run(_run(settings))


async def _run(settings: Any) -> int:
    from proxy.demo import format_table, run_demo

    def progress(line: str) -> None:
        print(f"  {line}", flush=True)

    print(
        "wcproxy demo: local relay + proxy (SQLite, DEV KEY — NOT FOR REAL FUNDS) + a scripted dApp\n",
        flush=True,
    )
    rows, audit_path = await run_demo(settings, progress=progress)
    print()
    print(format_table(rows))
    print()
    surprises = [r for r in rows if not r.as_expected]
    signed = sum(r.outcome == "SIGNED" for r in rows)
    print(f"{signed} signed, {len(rows) - signed} refused; every decision is in the audit log:")
    print(f"  {audit_path}")
    print(f"  verify it with: wcproxy audit verify {audit_path}")
    if surprises:
        print(
            f"\nUNEXPECTED: {len(surprises)} outcome(s) differ from what the envelope should allow:",
            file=sys.stderr,
        )
        for r in surprises:
            print(
                f"  {r.scenario}: expected {r.expected}, got {r.outcome} ({r.reason})",
                file=sys.stderr,
            )
        return 1
    return 0
