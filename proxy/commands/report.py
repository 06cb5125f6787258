"""``wcproxy report``: delegation-health report computed from the audit log alone (reads files, may write one).

::

    wcproxy report [--since 7d] [--json] [--html FILE] [--audit FILE | --config F] [--head FILE]
                   [--now UNIX] [--long-lived HOURS] [--top N]

The audit log is ``--audit FILE`` or the ``[audit] path`` of ``--config`` (default
``config/example.toml``); it is only read, so the report works on a copy and after the fact. The chain
is verified in the same pass (against ``--head``, or ``FILE.head`` when it exists); a log that does not
verify is still reported, with a loud warning. stdout gets the text tables, or with ``--json`` the JSON
document (shape: :mod:`proxy.report.compute` plus ``source`` and ``verification``); ``--html FILE``
also writes a self-contained HTML page with charts (matplotlib is imported only then).

``--since``: ``30m``, ``24h``, ``7d``, ``2w`` (before ``--now``), or an ISO date/time (UTC unless it
says otherwise). Exit status: 0 the report was produced from a verified log, 1 produced but the chain
did not verify, 2 bad input (one line on stderr).
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from proxy.report.compute import DEFAULT_LONG_LIVED_HOURS, DEFAULT_TOP, Report, ReportBuilder
from proxy.report.source import ReportInputError, read_audit_log

__all__ = ["DEFAULT_CONFIG", "parse_since", "register", "run"]

DEFAULT_CONFIG = Path("config/example.toml")
_RELATIVE = re.compile(r"^([0-9]{1,7})([smhdw])$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_since(text: str, now: float) -> float:
    """``7d`` / ``24h`` / ``30m`` / ``2w`` / ``90s`` before ``now``, or an ISO date or date-time -> unix.

    Raises:
        ValueError: anything else.
    """
    value = text.strip()
    match = _RELATIVE.match(value)
    if match:
        return now - int(match.group(1)) * _UNIT_S[match.group(2)]
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"--since {text!r}: expected 30m, 24h, 7d, 2w or an ISO date such as 2025-01-06"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def register(subparsers: Any) -> None:
    """Add ``report``."""
    parser = subparsers.add_parser(
        "report",
        help="delegation-health report from the audit log",
        description=(
            "Compute the delegation-health report (denial rate, session lifetimes, time to revoke, "
            "boundary hits, replay refusals, long-lived sessions) from the audit log. "
            "Exit 0 ok, 1 the audit chain did not verify, 2 bad input."
        ),
    )
    parser.add_argument(
        "--since", default="7d", metavar="WHEN", help="30m, 24h, 7d, 2w or an ISO date (default 7d)"
    )
    parser.add_argument(
        "--json", action="store_true", help="print the JSON document instead of text"
    )
    parser.add_argument(
        "--html", type=Path, metavar="FILE", help="also write an HTML page with charts"
    )
    parser.add_argument(
        "--audit", type=Path, metavar="FILE", help="the audit log (overrides --config)"
    )
    parser.add_argument(
        "--config", type=Path, default=DEFAULT_CONFIG, metavar="F", help="default: %(default)s"
    )
    parser.add_argument(
        "--head",
        type=Path,
        metavar="FILE",
        help="external chain head; default FILE.head if present",
    )
    parser.add_argument("--now", type=str, metavar="UNIX", help="pin the clock (unix seconds)")
    parser.add_argument(
        "--long-lived",
        type=str,
        default=str(DEFAULT_LONG_LIVED_HOURS),
        metavar="HOURS",
        help="list sessions alive longer than this (default %(default)s)",
    )
    parser.add_argument(
        "--top",
        type=int,
        default=DEFAULT_TOP,
        metavar="N",
        help="rows in top-N lists (default %(default)s)",
    )
    parser.set_defaults(func=run)


def _fail(message: str) -> int:
    print(f"wcproxy report: {message}", file=sys.stderr)
    return 2


def _finite(text: str, flag: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{flag} {text!r}: expected a number") from None
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{flag} {text!r}: expected a finite number >= 0")
    return value


def _audit_path(args: argparse.Namespace) -> Path:
    if args.audit is not None:
        return Path(args.audit)
    from proxy.config import load_settings  # pydantic: only when the config is needed
    from proxy.errors import ConfigError

    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        issues = "; ".join(str(issue) for issue in exc.issues)
        raise ReportInputError(f"cannot use --config {args.config}: {issues}") from None
    return settings.audit.path


def _build(args: argparse.Namespace) -> tuple[Report, Path]:
    now = time.time() if args.now is None else _finite(args.now, "--now")
    since = parse_since(args.since, now)
    if since > now:
        raise ValueError(f"--since {args.since!r} is after --now")
    if args.top < 0:
        raise ValueError("--top must be >= 0")
    builder = ReportBuilder(
        since=since,
        now=now,
        long_lived_hours=_finite(args.long_lived, "--long-lived"),
        top=args.top,
    )
    path = _audit_path(args)
    head_path: Path | None = args.head
    if head_path is None:
        default = path.with_name(path.name + ".head")
        head_path = default if default.is_file() else None
    if not path.is_file():
        raise ReportInputError(f"audit log {path} not found")
    verification = read_audit_log(path, builder, head_path=head_path)
    report = builder.finish()
    report.document["source"] = {"audit": str(path)}
    report.document["verification"] = verification.as_dict()
    return report, path


def run(args: argparse.Namespace) -> int:
    """Compute the report and print/write it."""
    try:
        report, _ = _build(args)
    except (ValueError, ReportInputError) as exc:
        return _fail(str(exc))
    if args.html is not None:
        from proxy.report.html import render_html  # matplotlib: only for --html

        try:
            Path(args.html).write_text(render_html(report), encoding="utf-8")
        except OSError as exc:
            return _fail(f"cannot write {args.html}: {exc.strerror or exc}")
        print(f"wcproxy report: wrote {args.html}", file=sys.stderr)
    if args.json:
        print(json.dumps(report.document, indent=2, ensure_ascii=False))
    else:
        from proxy.report.text import render_text

        sys.stdout.write(render_text(report.document))
    ok = bool(report.document["verification"]["ok"])
    if not ok:
        print("wcproxy report: WARNING: the audit chain did not verify", file=sys.stderr)
    return 0 if ok else 1
