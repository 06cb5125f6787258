"""Operator commands that talk to a running daemon: pair, sessions, proposals, approve, reject, revoke, emergency."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from proxy.commands.admin_client import (
    AdminClientError,
    add_daemon_args,
    admin_call,
    fail,
    print_table,
)

__all__ = ["register"]


def _emit(args: argparse.Namespace, data: Any, render: Callable[[Any], None]) -> int:
    if args.json:
        print(json.dumps(data, indent=2, sort_keys=True))
    else:
        render(data)
    return 0


def _guard(
    name: str, body: Callable[[argparse.Namespace], int]
) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        try:
            return body(args)
        except AdminClientError as exc:
            return fail(name, exc)

    return run


def _pair(args: argparse.Namespace) -> int:
    data = admin_call(args, "POST", "/pair", {"uri": args.uri})
    return _emit(args, data, lambda d: print(f"paired: pairing topic {d['pairing']}"))


def _sessions(args: argparse.Namespace) -> int:
    data = admin_call(args, "GET", "/sessions")
    columns = ["session", "dapp", "rule", "chain", "expires_at", "calls", "spent_usd", "revoked"]

    def render(d: Any) -> None:
        rows = [
            {
                **s,
                "calls": s["usage"]["calls"],
                "spent_usd": s["usage"]["spent_usd"],
                "revoked": (s["revoked"] or {}).get("path"),
            }
            for s in d["sessions"]
        ]
        print_table(rows, columns)

    return _emit(args, data, render)


def _proposals(args: argparse.Namespace) -> int:
    data = admin_call(args, "GET", "/proposals")
    return _emit(
        args,
        data,
        lambda d: print_table(d["proposals"], ["id", "dapp", "name", "rule", "expires_at"]),
    )


def _approve(args: argparse.Namespace) -> int:
    data = admin_call(args, "POST", f"/proposals/{args.id}/approve", {})
    return _emit(args, data, lambda d: print(f"approved proposal {d['approved']}"))


def _reject(args: argparse.Namespace) -> int:
    data = admin_call(args, "POST", f"/proposals/{args.id}/reject", {"reason": args.reason})
    return _emit(args, data, lambda d: print(f"rejected proposal {d['rejected']}"))


def _revoke(args: argparse.Namespace) -> int:
    targets = [args.session is not None, args.dapp is not None, args.all]
    if sum(targets) != 1:
        return fail("revoke", ValueError("give exactly one of SESSION, --dapp ORIGIN or --all"))
    body: dict[str, Any] = {"reason": args.reason}
    if args.session is not None:
        body["session"] = args.session
    elif args.dapp is not None:
        body["dapp"] = args.dapp
    else:
        body["all"] = True
    data = admin_call(args, "POST", "/revoke", body)
    return _emit(args, data, lambda d: print(f"revoked {len(d['revoked'])} session(s)"))


def _stop(args: argparse.Namespace) -> int:
    data = admin_call(args, "POST", "/emergency/stop", {"reason": args.reason}, emergency=True)
    return _emit(
        args,
        data,
        lambda d: print(f"EMERGENCY STOP: signing frozen, {len(d['revoked'])} session(s) revoked"),
    )


def _resume(args: argparse.Namespace) -> int:
    data = admin_call(args, "POST", "/emergency/resume", {"reason": args.reason}, emergency=True)
    return _emit(args, data, lambda d: print("signing resumed (revoked sessions stay revoked)"))


def register(subparsers: Any) -> None:
    """Add the operator commands to the CLI."""
    p = subparsers.add_parser("pair", help="pair a running daemon with a wc: URI")
    p.add_argument("uri", help="the dApp's wc: pairing URI (quote it: it contains &)")
    add_daemon_args(p)
    p.set_defaults(func=_guard("pair", _pair))

    p = subparsers.add_parser("sessions", help="list the daemon's sessions with envelope and usage")
    add_daemon_args(p)
    p.set_defaults(func=_guard("sessions", _sessions))

    p = subparsers.add_parser("proposals", help="list proposals waiting for an operator")
    add_daemon_args(p)
    p.set_defaults(func=_guard("proposals", _proposals))

    p = subparsers.add_parser("approve", help="approve a queued proposal")
    p.add_argument("id", type=int, help="proposal id (see `wcproxy proposals`)")
    add_daemon_args(p)
    p.set_defaults(func=_guard("approve", _approve))

    p = subparsers.add_parser("reject", help="reject a queued proposal")
    p.add_argument("id", type=int, help="proposal id (see `wcproxy proposals`)")
    p.add_argument("--reason", default="rejected by operator", help="told to the dApp")
    add_daemon_args(p)
    p.set_defaults(func=_guard("reject", _reject))

    p = subparsers.add_parser("revoke", help="revoke a session, every session of a dApp, or all")
    p.add_argument("session", nargs="?", help="session topic")
    p.add_argument("--dapp", metavar="ORIGIN", help="revoke every session of this dApp origin")
    p.add_argument("--all", action="store_true", help="revoke every session")
    p.add_argument(
        "--reason",
        default="revoked by the user",
        help="recorded in the audit log, told to the dApp",
    )
    add_daemon_args(p)
    p.set_defaults(func=_guard("revoke", _revoke))

    p = subparsers.add_parser(
        "emergency-stop",
        help="revoke everything and freeze all signing (needs the emergency token)",
    )
    p.add_argument("--reason", required=True, help="why (audited)")
    add_daemon_args(p)
    p.set_defaults(func=_guard("emergency-stop", _stop))

    p = subparsers.add_parser(
        "emergency-resume", help="lift an emergency stop (revoked sessions stay revoked)"
    )
    p.add_argument("--reason", default="resumed by operator", help="why (audited)")
    add_daemon_args(p)
    p.set_defaults(func=_guard("emergency-resume", _resume))
