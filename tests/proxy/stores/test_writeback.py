"""Paced writeback of a file's dirty pages (``sync_file_range`` chunk by chunk)."""

from __future__ import annotations

import ctypes
import errno
import os
import sys
from pathlib import Path

import pytest

from proxy.stores import writeback
from proxy.stores.writeback import WRITEBACK_CHUNK_BYTES, write_back


def _file(path: Path, size: int) -> int:
    fd = os.open(path, os.O_RDWR | os.O_CREAT)
    os.write(fd, b"x" * size)
    return fd


def test_writes_back_the_whole_file_one_chunk_at_a_time_waiting_for_each(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[int, int, int, int]] = []

    def fake(fd: int, offset: int, nbytes: int, flags: int) -> int:
        calls.append((fd, offset, nbytes, flags))
        return 0

    monkeypatch.setattr(writeback, "_sync_file_range", fake)
    fd = _file(tmp_path / "db", 600 * 1024)
    try:
        assert write_back(fd, chunk_bytes=256 * 1024) is True
    finally:
        os.close(fd)
    assert [offset for _fd, offset, _n, _f in calls] == [0, 256 * 1024, 512 * 1024]
    assert {(c[0], c[2]) for c in calls} == {(fd, 256 * 1024)}
    # wait for writeback under way, start it, wait for it: one chunk in flight at a time
    assert {c[3] for c in calls} == {1 | 2 | 4}


def test_an_empty_file_needs_no_call(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    monkeypatch.setattr(writeback, "_sync_file_range", lambda *a: calls.append(1) or 0)
    fd = _file(tmp_path / "db", 0)
    try:
        assert write_back(fd) is True
    finally:
        os.close(fd)
    assert calls == []


def test_without_sync_file_range_it_does_nothing_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writeback, "_sync_file_range", None)
    fd = _file(tmp_path / "db", 4096)
    try:
        assert write_back(fd) is False
    finally:
        os.close(fd)


def test_a_kernel_error_is_raised_with_its_errno(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing(_fd: int, _offset: int, _nbytes: int, _flags: int) -> int:
        ctypes.set_errno(errno.EIO)
        return -1

    monkeypatch.setattr(writeback, "_sync_file_range", failing)
    fd = _file(tmp_path / "db", 4096)
    try:
        with pytest.raises(OSError, match="Input/output error") as caught:
            write_back(fd)
    finally:
        os.close(fd)
    assert caught.value.errno == errno.EIO


def test_chunk_size_must_be_positive(tmp_path: Path) -> None:
    fd = _file(tmp_path / "db", 4096)
    try:
        with pytest.raises(ValueError, match="chunk_bytes"):
            write_back(fd, chunk_bytes=0)
    finally:
        os.close(fd)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="sync_file_range is Linux only")
def test_the_real_system_call_is_bound_and_accepts_the_file(tmp_path: Path) -> None:
    assert writeback._sync_file_range is not None
    fd = _file(tmp_path / "db", 3 * WRITEBACK_CHUNK_BYTES + 10)
    try:
        assert write_back(fd) is True
        os.pwrite(fd, b"y" * 100, WRITEBACK_CHUNK_BYTES)  # dirty again, in the second chunk
        assert write_back(fd) is True
    finally:
        os.close(fd)
