"""The ``wcproxy`` command line: one argparse tree whose subcommands live in ``proxy.commands``.

Each module in :data:`COMMAND_MODULES` exposes ``register(subparsers)``, which adds its parser and sets
``func`` (a callable taking the parsed namespace and returning an exit status). Adding a command means
adding a module and one line here.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence

__all__ = ["COMMAND_MODULES", "build_parser", "main"]

COMMAND_MODULES: tuple[str, ...] = (
    "proxy.commands.relay",
    "proxy.commands.check_config",
    "proxy.commands.audit",
    "proxy.commands.report",
    "proxy.commands.policy_check",
    "proxy.commands.run",
    "proxy.commands.operator",
    "proxy.commands.demo",
    "proxy.commands.attack",
)

Handler = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    """Build the full ``wcproxy`` parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="wcproxy",
        description="WalletConnect v2 signing proxy with capability envelopes and replay defence.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for name in COMMAND_MODULES:
        module = importlib.import_module(name)
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit status (2 for usage errors)."""
    from proxy.hash_backend import prefer_pysha3

    prefer_pysha3()  # before any command module hashes anything
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Handler = args.func
    try:
        return func(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        sys.stderr.close()
        return 1
