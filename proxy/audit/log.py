"""The append-only, hash-chained JSONL audit writer and its external chain-head stores (file I/O).

Why a plain writer and not a structlog logger: the chain hash must cover the exact bytes on disk.
structlog's processors (timestamps, level, redaction, renderer) would rewrite the event after we hashed
it, and its loggers give no control over batching or fsync. So records are built and hashed by the pure
:mod:`proxy.audit.record`, and this module writes exactly those bytes, one JSON object per line.

Ordering and group commit. :meth:`AuditLog.append` assigns ``seq`` / ``prev_hash`` and writes the
line at once from the event loop thread (one ``os.write`` on the ``O_APPEND`` descriptor: a page-cache
copy of a few microseconds, no thread handoff; the loop is the serialiser, so lines are in call order),
then applies the fsync policy. An fsync runs in a worker thread; appends waiting for one share it.

fsync policy (``AuditSettings.fsync``):

* ``always``: every append waits until its line is fsynced before it returns (the request is answered
  after its record is durable); concurrent appends share one fsync. Strongest.
* ``interval``: an append fsyncs if the last fsync is older than ``fsync_interval_s``; the background
  syncer also fsyncs within ``head_interval_s`` of the last append, and :meth:`AuditLog.close` does.
  A power loss can lose up to that much acknowledged audit data; a process crash loses nothing (the
  data is in the OS page cache).
* ``never``: left to the OS.

The chain head (count + last hash) is kept outside the log, in a :class:`ChainHeadStore` (the daemon
backs it with its store; :class:`FileChainHeadStore` writes ``<log>.head`` atomically;
:class:`MemoryChainHeadStore` is for tests). It is not rewritten per append: a background task
saves it at most every ``head_interval_s`` (1 s) after appends (fsyncing unsynced lines first,
unless ``never``), and :meth:`AuditLog.close` saves it. It only ever names records already fsynced
(with ``never``: written), so after a crash or power cut the file may be ahead of the head, never
behind. The window this opens: the records of the last ``head_interval_s`` (plus one fsync) before
a crash, or before a live read of the files, are not yet covered by the external head, so deleting
exactly those from the tail is not detected as truncation (``wcproxy audit verify`` reports them as
``unanchored``); every earlier record is covered as before.

On :meth:`AuditLog.open` the chain resumes from the log's last line: a file behind its head
(truncated) or disagreeing with it raises :class:`~proxy.errors.AuditChainBrokenError`; a file
ahead is adopted (logged); a torn last line (a write cut mid-line, no newline) that the head does
not cover is cut off (logged). Full verification of every line is ``wcproxy audit verify``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import secrets
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, Protocol

import structlog

from proxy.audit.record import (
    GENESIS_HASH,
    AuditEntry,
    ChainHead,
    canonical_json,
    chain_line,
    record_hash,
)
from proxy.audit.verify import MAX_LINE_BYTES, json_too_deep
from proxy.errors import AuditChainBrokenError, AuditError

__all__ = [
    "AuditLog",
    "ChainHeadStore",
    "FileChainHeadStore",
    "MemoryChainHeadStore",
    "read_head_file",
]

log = structlog.get_logger(__name__)

FsyncPolicy = Literal["always", "interval", "never"]
_TAIL_BLOCK = 64 * 1024
HEAD_INTERVAL_S = 1.0
"""How often (at most, and at the latest after an append) the external chain head is saved."""


class ChainHeadStore(Protocol):
    """Keeps the audit chain head outside the log (so a truncated or rewritten log is detectable)."""

    async def load(self) -> ChainHead | None:
        """The last saved head, or None if none was ever saved."""
        ...

    async def save(self, head: ChainHead) -> None:
        """Durably replace the head."""
        ...


class MemoryChainHeadStore:
    """In-memory head store (tests, ``memory:`` store)."""

    def __init__(self, head: ChainHead | None = None) -> None:
        self.head = head

    async def load(self) -> ChainHead | None:
        """The head held in memory."""
        return self.head

    async def save(self, head: ChainHead) -> None:
        """Keep ``head``."""
        self.head = head


def read_head_file(path: Path) -> ChainHead | None:
    """Read a head file written by :class:`FileChainHeadStore` (None if absent).

    Raises:
        AuditError: the file exists but is not a head.
    """
    try:
        blob = path.read_bytes()[:4096]
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise AuditError(f"cannot read chain head {path}: {exc.strerror}") from None
    try:
        data = json.loads(blob)
        head = ChainHead(count=int(data["count"]), hash=str(data["hash"]))
    except (ValueError, KeyError, TypeError):
        raise AuditError(f"chain head {path} is malformed") from None
    if head.count < 0 or len(head.hash) != 64:
        raise AuditError(f"chain head {path} is malformed")
    return head


class FileChainHeadStore:
    """The head as a small JSON file (``{"count": N, "hash": "…"}``), replaced atomically and fsynced."""

    def __init__(self, path: Path) -> None:
        self.path = path
        # Saves run in worker threads; a cancelled save's thread may still be writing when the next
        # one starts (close() after cancelling the background syncer), so writes are serialised and
        # a save never replaces a newer head with an older one.
        self._write_lock = threading.Lock()
        self._written_count = -1

    @classmethod
    def beside(cls, log_path: Path) -> FileChainHeadStore:
        """The head store at ``<log_path>.head`` (where ``wcproxy audit verify`` looks by default)."""
        return cls(log_path.with_name(log_path.name + ".head"))

    async def load(self) -> ChainHead | None:
        """Read the head file (None if absent)."""
        return await asyncio.to_thread(read_head_file, self.path)

    async def save(self, head: ChainHead) -> None:
        """Write to a temporary file, fsync, rename over the old head."""
        await asyncio.to_thread(self._write, head)

    def _write(self, head: ChainHead) -> None:
        with self._write_lock:
            if head.count < self._written_count:
                return
            tmp = self.path.with_name(self.path.name + ".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
            try:
                os.write(fd, canonical_json({"count": head.count, "hash": head.hash}) + b"\n")
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, self.path)
            self._written_count = head.count


def _read_tail(path: Path) -> tuple[bytes | None, int, int]:
    """Return (last complete line, offset where a torn tail starts, file size); creates nothing."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return None, 0, 0
    with path.open("rb") as handle:
        end = size
        buffer = b""
        while end > 0:
            start = max(0, end - _TAIL_BLOCK)
            handle.seek(start)
            buffer = handle.read(end - start) + buffer
            end = start
            lines = buffer.split(b"\n")
            # lines[-1] is the torn part after the last newline (b"" when the file ends cleanly)
            if len(lines) >= 3 or (end == 0 and len(lines) >= 2):
                torn_at = size - len(lines[-1])
                return lines[-2] + b"\n", torn_at, size
        return None, 0, size  # no newline at all: everything is torn


def _close(fd: int, sync: bool) -> None:
    try:
        if sync:
            os.fsync(fd)
    finally:
        os.close(fd)


def _open_append(path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    return os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)


class AuditLog:
    """Append-only hash-chained JSONL audit log. Use :meth:`open`; one instance per file per process."""

    def __init__(
        self,
        path: Path,
        heads: ChainHeadStore,
        head: ChainHead,
        *,
        fsync: FsyncPolicy,
        fsync_interval_s: float,
        clock: Callable[[], float],
        head_interval_s: float = HEAD_INTERVAL_S,
    ) -> None:
        self.path = path
        self._heads = heads
        self._head = head  # of records written (the loop thread writes each line at once)
        self._synced = head  # of records fsynced (or, with ``never``, written)
        self._saved = head  # last head given to the head store
        self._fsync = fsync
        self._interval_s = fsync_interval_s
        self._head_interval_s = head_interval_s
        self._clock = clock
        self._last_fsync = time.monotonic()
        self._last_save = time.monotonic()
        self._lock = asyncio.Lock()  # one fsync / head save at a time
        self._syncer: asyncio.Task[None] | None = None
        self._fd: int | None = None
        self._closed = False
        self._failed = False
        self._id_prefix = secrets.token_hex(8)
        self._id_counter = itertools.count(1)

    @classmethod
    async def open(
        cls,
        path: Path,
        heads: ChainHeadStore,
        *,
        fsync: FsyncPolicy = "interval",
        fsync_interval_s: float = 1.0,
        clock: Callable[[], float] = time.time,
        head_interval_s: float = HEAD_INTERVAL_S,
    ) -> AuditLog:
        """Open (or create) the log at ``path`` and resume its chain.

        Raises:
            AuditChainBrokenError: the log is behind or disagrees with the external head, or its last
                line is not a valid record.
            AuditError: the file cannot be opened.
        """
        stored = await heads.load()
        head = await asyncio.to_thread(cls._resume, path, stored)
        self = cls(
            path,
            heads,
            head,
            fsync=fsync,
            fsync_interval_s=fsync_interval_s,
            clock=clock,
            head_interval_s=head_interval_s,
        )
        try:
            self._fd = await asyncio.to_thread(_open_append, path)
        except OSError as exc:
            raise AuditError(f"cannot open audit log {path}: {exc.strerror}") from None
        if stored != head:
            await heads.save(head)
        log.info("audit_log_open", path=str(path), records=head.count)
        return self

    @staticmethod
    def _resume(path: Path, stored: ChainHead | None) -> ChainHead:
        last, torn_at, size = _read_tail(path)
        if torn_at < size:
            if stored is not None and last is None and stored.count > 0:
                raise AuditChainBrokenError(f"audit log {path} has no complete record", line=1)
            log.warning("audit_torn_tail_removed", path=str(path), bytes=size - torn_at)
            with path.open("r+b") as handle:
                handle.truncate(torn_at)
        if last is None:
            file_head = ChainHead(0, GENESIS_HASH)
        else:
            text = last.decode("utf-8", errors="replace")
            if len(last) > MAX_LINE_BYTES or json_too_deep(text):
                raise AuditChainBrokenError(f"the last line of {path} is not an audit record")
            try:
                record = json.loads(text)
                file_head = ChainHead(int(record["seq"]) + 1, str(record["hash"]))
            except (ValueError, KeyError, TypeError):
                raise AuditChainBrokenError(
                    f"the last line of {path} is not an audit record", line=0
                ) from None
            if record_hash(record) != file_head.hash:
                raise AuditChainBrokenError(f"the last line of {path} was edited", line=0)
        if stored is None:
            if file_head.count:
                log.warning("audit_head_missing", path=str(path), records=file_head.count)
            return file_head
        if file_head.count < stored.count:
            raise AuditChainBrokenError(
                f"audit log {path} is truncated: {file_head.count} records, external head counts "
                f"{stored.count}",
                line=file_head.count + 1,
            )
        if file_head.count == stored.count and file_head.hash != stored.hash:
            raise AuditChainBrokenError(
                f"audit log {path} disagrees with its external chain head", line=file_head.count
            )
        if file_head.count > stored.count:
            log.warning("audit_head_behind", path=str(path), log=file_head.count, head=stored.count)
        return file_head

    @property
    def head(self) -> ChainHead:
        """The head of every record appended so far (all written to the file)."""
        return self._head

    async def append(self, entry: AuditEntry) -> dict[str, Any]:
        """Chain ``entry``, write its line, apply the fsync policy, return the record.

        Raises:
            AuditError: the log is closed or the write failed.
        """
        if self._closed:
            raise AuditError("audit log is closed")
        if self._failed:
            raise AuditError("audit log failed earlier; refusing to continue a broken chain")
        record, line = chain_line(
            entry,
            seq=self._head.count,
            prev_hash=self._head.hash,
            now=self._clock(),
            # unique without a syscall per record: a random per-log prefix and a counter
            decision_id=""
            if entry.decision_id
            else f"{self._id_prefix}{next(self._id_counter):016x}",
        )
        head = ChainHead(self._head.count + 1, record["hash"])
        self._write_now(line)
        self._head = head
        if self._fsync == "always" or (
            self._fsync == "interval" and time.monotonic() - self._last_fsync >= self._interval_s
        ):
            await self._sync(head)
        elif self._fsync == "never":
            self._synced = head
        self._schedule()
        return record

    def _write_now(self, data: bytes) -> None:
        """Write one line from the loop thread (a page-cache write on an O_APPEND fd: microseconds)."""
        assert self._fd is not None
        view = memoryview(data)
        try:
            while view:
                count = os.write(self._fd, view)
                view = view[count:]
        except OSError as exc:
            self._failed = True  # a line was assigned but not written: the chain cannot continue
            raise AuditError(f"cannot write audit log {self.path}: {exc.strerror}") from None

    async def _sync(self, head: ChainHead) -> None:
        """Wait until ``head`` is fsynced; concurrent callers share one fsync (group commit)."""
        async with self._lock:
            if self._synced.count >= head.count or self._fd is None:
                return
            target, started = self._head, time.monotonic()
            try:
                await asyncio.to_thread(os.fsync, self._fd)
            except OSError as exc:
                self._failed = True
                raise AuditError(f"cannot fsync audit log {self.path}: {exc.strerror}") from None
            self._synced, self._last_fsync = target, started

    def _schedule(self) -> None:
        """Make sure the background syncer will save the head (and fsync, for ``interval``) soon."""
        if self._syncer is None and not self._closed:
            self._syncer = asyncio.get_running_loop().create_task(self._sync_later())

    async def _sync_later(self) -> None:
        """Within ``head_interval_s``: fsync unsynced lines (unless ``never``), save the head.

        The external head only ever names fsynced records, so after a crash or power cut the log
        is at or ahead of its head, never behind it (ahead is adopted on :meth:`open`).
        """
        try:
            delay = self._last_save + self._head_interval_s - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            if self._fsync != "never":
                await self._sync(self._head)
            else:
                self._synced = self._head
            await self._save_head()
        except AuditError as exc:
            log.error("audit_sync_failed", error=str(exc))
        except Exception:  # the syncer must never die silently: the next append retries
            log.exception("audit_head_save_failed", path=str(self.path))
        finally:
            self._syncer = None
        if self._synced != self._saved and not self._closed and not self._failed:
            self._schedule()

    async def _save_head(self) -> None:
        async with self._lock:
            head = self._synced
            if head == self._saved:
                return
            self._last_save = time.monotonic()
            await self._heads.save(head)
            self._saved = head

    async def close(self) -> None:
        """Fsync (unless ``never``), save the head, close; idempotent."""
        if self._closed:
            return
        self._closed = True
        syncer, self._syncer = self._syncer, None
        if syncer is not None:
            syncer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await syncer
        try:
            if self._fsync != "never" and not self._failed:
                await self._sync(self._head)
            else:
                self._synced = self._head if not self._failed else self._synced
            await self._save_head()
        finally:
            async with self._lock:
                fd, self._fd = self._fd, None
                if fd is not None:
                    await asyncio.to_thread(_close, fd, False)
