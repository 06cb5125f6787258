"""``wcproxy attack``: run the replay-attack corpus against wcproxy itself or any WalletConnect wallet."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

__all__ = ["register"]

DEFAULT_CONFIG = "config/example.toml"


def register(subparsers: Any) -> None:
    """Add ``attack`` to the CLI."""
    parser = subparsers.add_parser(
        "attack",
        help="audit a wallet (or wcproxy itself) with the replay-attack scenario corpus",
        description=(
            "Pair with a wallet and run attack scenarios (duplicate deliveries, replays, stale ids, context "
            "mismatches, non-delegable calls...). Exit status 0 only when every scenario was blocked, 1 when "
            "something was signed (or blocked for an unexpected reason), 2 for bad input."
        ),
    )
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument(
        "--target",
        choices=["self"],
        help="start the local relay and a wcproxy daemon and attack it",
    )
    where.add_argument(
        "--relay", help="relay URL: print a wc: URI (and QR code) for any wallet to pair with"
    )
    where.add_argument(
        "--wallet-cmd",
        help="start the wallet under test: 'CMD {uri} {relay}' (values substituted shell-quoted); "
        "with --relay-url, on that relay, else on a local one",
    )
    parser.add_argument(
        "--relay-url", help="with --wallet-cmd: the relay to use (default: a local relay)"
    )
    parser.add_argument("--project-id", help="WalletConnect project id (needed by public relays)")
    parser.add_argument(
        "--config",
        default=DEFAULT_CONFIG,
        help=f"with --target self: the config (default: {DEFAULT_CONFIG})",
    )
    parser.add_argument(
        "--scenarios",
        nargs="+",
        type=Path,
        metavar="DIR|FILE",
        help="scenario files or directories (default: the packaged corpus)",
    )
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="NAME|CATEGORY",
        help="run only these scenarios or categories (repeatable)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of the table")
    parser.add_argument("--junit", type=Path, metavar="FILE", help="also write JUnit XML here")
    parser.add_argument(
        "--timeout-s",
        type=float,
        default=15.0,
        help="how long to wait for an answer that should come (default 15)",
    )
    parser.add_argument(
        "--quiet-s",
        type=float,
        default=2.0,
        help="silence this long counts as 'no answer' (default 2)",
    )
    parser.add_argument(
        "--pair-timeout-s",
        type=float,
        default=None,
        help="how long to wait for the wallet to approve (default 60; 300 with --relay)",
    )
    parser.set_defaults(func=_attack)


class _Progress:
    """A live progress line on stderr: one updating line on a TTY, plain lines otherwise."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()

    def __call__(self, done: int, total: int, result: Any) -> None:
        line = f"[{done}/{total}] {result.name}: {result.outcome}"
        if self.tty:
            sys.stderr.write("\r\x1b[2K" + line[:120])
            if done == total:
                sys.stderr.write("\n")
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()


def _attack(args: argparse.Namespace) -> int:
    from proxy.attack.scenario import ScenarioError, load_corpus, select
    from proxy.errors import ConfigError
    from proxy.logs import configure_logging

    if args.timeout_s <= 0 or args.quiet_s <= 0:
        print("wcproxy attack: timeouts must be positive", file=sys.stderr)
        return 2
    try:
        scenarios = select(load_corpus(args.scenarios), args.only)
    except ScenarioError as exc:
        print(f"wcproxy attack: bad scenario: {exc}", file=sys.stderr)
        return 2
    if not scenarios:
        print(f"wcproxy attack: no scenario matches --only {' '.join(args.only)}", file=sys.stderr)
        return 2
    configure_logging("json", "error")
    try:
        target = _target(args)
    except (ConfigError, ValueError) as exc:
        print(f"wcproxy attack: {exc}", file=sys.stderr)
        return 2
    return asyncio.run(_run(args, target, scenarios))


def _target(args: argparse.Namespace) -> Any:
    from proxy.attack.target import RelayTarget, SelfTarget, WalletCmdTarget

    if args.target == "self":
        return SelfTarget(args.config)
    if args.wallet_cmd:
        return WalletCmdTarget(
            args.wallet_cmd, relay_url=args.relay_url, project_id=args.project_id
        )
    return RelayTarget(args.relay, project_id=args.project_id)


async def _run(args: argparse.Namespace, target: Any, scenarios: list[Any]) -> int:
    from proxy.attack.report import exit_status, format_table, summary, to_json, to_junit
    from proxy.attack.runner import BenchError, run_bench

    pair_timeout = args.pair_timeout_s or (300.0 if args.relay else 60.0)
    try:
        results = await run_bench(
            target,
            scenarios,
            timeout_s=args.timeout_s,
            quiet_s=args.quiet_s,
            pair_timeout_s=pair_timeout,
            progress=_Progress(),
        )
    except BenchError as exc:
        print(f"wcproxy attack: {exc}", file=sys.stderr)
        return 2
    if args.junit:
        args.junit.write_text(to_junit(results, target=target.label), encoding="utf-8")
    if args.json:
        print(to_json(results, target=target.label))
    else:
        print(f"target: {target.label}\n")
        print(format_table(results))
        print(f"\n{summary(results)}")
    return exit_status(results)
