"""``wcproxy audit verify FILE [--head FILE]``: check an audit log's hash chain (reads files).

Exit status: 0 the chain verifies, 1 it is broken (the first bad line and why are printed),
2 the files cannot be read. Without ``--head``, ``FILE.head`` is used when it exists (the file head
store's default place); ``--no-head`` checks the links only, which cannot see a truncated tail.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from proxy.audit.log import read_head_file
from proxy.audit.record import ChainHead
from proxy.audit.verify import VerifyResult, verify_chain
from proxy.errors import AuditError

__all__ = ["register", "run_verify"]


def register(subparsers: Any) -> None:
    """Add ``audit`` with its ``verify`` subcommand."""
    parser = subparsers.add_parser("audit", help="audit log tools", description="Audit log tools.")
    sub = parser.add_subparsers(dest="audit_command", metavar="SUBCOMMAND")
    sub.required = True
    verify = sub.add_parser(
        "verify",
        help="verify an audit log's hash chain",
        description="Verify the hash chain of an audit log (JSONL). Exit 0 valid, 1 broken, 2 unreadable.",
    )
    verify.add_argument("file", type=Path, metavar="FILE", help="the audit log (audit.jsonl)")
    group = verify.add_mutually_exclusive_group()
    group.add_argument(
        "--head",
        type=Path,
        metavar="FILE",
        help="the external chain head (JSON {count, hash}); default FILE.head if present",
    )
    group.add_argument(
        "--no-head", action="store_true", help="check links only (cannot detect a truncated tail)"
    )
    verify.add_argument("--json", action="store_true", help="print the result as one JSON line")
    verify.set_defaults(func=run_verify)


def _report(result: VerifyResult, head_source: str | None) -> dict[str, Any]:
    return {
        "ok": result.ok,
        "records": result.count,
        "last_hash": result.last_hash,
        "line": result.line,
        "reason": result.reason,
        "head": head_source,
        "unanchored": result.unanchored,
    }


def run_verify(args: argparse.Namespace) -> int:
    """Verify the chain; print the outcome."""
    path: Path = args.file
    head: ChainHead | None = None
    head_source: str | None = None
    head_path: Path | None = args.head
    if head_path is None and not args.no_head:
        default = path.with_name(path.name + ".head")
        head_path = default if default.exists() else None
    if head_path is not None:
        try:
            head = read_head_file(head_path)
        except AuditError as exc:
            print(f"wcproxy audit verify: {exc}", file=sys.stderr)
            return 2
        if head is None:
            print(f"wcproxy audit verify: head file {head_path} not found", file=sys.stderr)
            return 2
        head_source = str(head_path)
    try:
        with path.open("rb") as handle:
            result = verify_chain(handle, head)
    except OSError as exc:
        print(f"wcproxy audit verify: cannot read {path}: {exc.strerror}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(_report(result, head_source)))
    elif result.ok:
        anchored = f", anchored to {head_source}" if head_source else " (no external head given)"
        extra = (
            f"; {result.unanchored} record(s) after the external head" if result.unanchored else ""
        )
        print(f"OK: {result.count} records, last hash {result.last_hash}{anchored}{extra}")
    else:
        print(f"BROKEN: {path}: line {result.line}: {result.reason}")
    return 0 if result.ok else 1
