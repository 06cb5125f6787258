"""A real ``redis-server`` on a free loopback port for tests (no fake Redis); skips without the binary."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from proxy.bench.redis_server import free_port
from proxy.bench.redis_server import running_redis as _running_redis

__all__ = ["free_port", "running_redis"]


@contextmanager
def running_redis() -> Iterator[str]:
    """Yield the URL of a throwaway redis-server; skip (fail under CI) when it is not installed."""
    with _running_redis() as url:
        if url is None:
            if os.environ.get("CI"):
                raise RuntimeError("redis-server is not installed (.ci/run installs it with apt)")
            pytest.skip("redis-server not installed")
        yield url
