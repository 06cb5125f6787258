"""Read an audit log once: verify its hash chain and feed every record to a report builder (reads files).

One pass over the file: each line goes both to :func:`proxy.audit.verify.verify_chain` and, parsed, to
the :class:`~proxy.report.compute.ReportBuilder`. A broken chain does not stop the report (the rest of
the file is still read and counted; the report says loudly that it did not verify). A line that is not a
JSON object is not an audit log at all and raises :class:`ReportInputError`, except a torn last line (a
write cut short, no newline), which is left out and shows up as a verification failure.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from proxy.audit.log import read_head_file
from proxy.audit.record import ChainHead
from proxy.audit.verify import MAX_LINE_BYTES, VerifyResult, verify_chain
from proxy.errors import AuditError, ProxyError
from proxy.report.compute import ReportBuilder

__all__ = ["ReportInputError", "Verification", "read_audit_log"]


class ReportInputError(ProxyError):
    """The report's input cannot be used: a missing or unreadable file, or not JSON lines."""


@dataclass(frozen=True, slots=True)
class Verification:
    """Whether the chain verified, as the report states it."""

    result: VerifyResult
    head: str | None

    def as_dict(self) -> dict[str, Any]:
        """JSON data: ``ok``, ``records``, ``line``, ``reason``, ``head``, ``unanchored``."""
        return {
            "ok": self.result.ok,
            "records": self.result.count,
            "line": self.result.line,
            "reason": self.result.reason,
            "head": self.head,
            "unanchored": self.result.unanchored,
        }


def _lines(handle: BinaryIO, builder: ReportBuilder, path: Path) -> Iterator[bytes]:
    for number, raw in enumerate(handle, start=1):
        if len(raw) > MAX_LINE_BYTES:
            raise ReportInputError(f"{path}: line {number} is too long to be an audit record")
        if raw.strip():
            try:
                record = json.loads(raw)
            except (ValueError, RecursionError):  # RecursionError: absurdly nested JSON
                if raw.endswith(b"\n"):
                    raise ReportInputError(
                        f"{path}: line {number} is not JSON (not an audit log?)"
                    ) from None
                record = None  # torn last line: verification reports it
            if record is not None and not isinstance(record, dict):
                raise ReportInputError(f"{path}: line {number} is not a JSON object")
            if record is not None:
                builder.add(record)
        yield raw


def read_audit_log(
    path: Path, builder: ReportBuilder, *, head_path: Path | None = None
) -> Verification:
    """Feed every record of ``path`` to ``builder`` and verify the chain (against ``head_path`` if given).

    Raises:
        ReportInputError: the file (or the head file) cannot be read, or a line is not a JSON object.
    """
    head: ChainHead | None = None
    if head_path is not None:
        try:
            head = read_head_file(head_path)
        except AuditError as exc:
            raise ReportInputError(str(exc)) from None
        if head is None:
            raise ReportInputError(f"chain head {head_path} not found")
    try:
        with path.open("rb") as handle:
            lines = _lines(handle, builder, path)
            result = verify_chain(lines, head)
            for _ in lines:  # verification stops at the first bad line; the report reads on
                pass
    except OSError as exc:
        raise ReportInputError(f"cannot read {path}: {exc.strerror or exc}") from None
    return Verification(result, None if head_path is None else str(head_path))
