"""Shared fixtures: hypothesis profiles and small helpers."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
from hypothesis import HealthCheck, settings

# tests/ is on pytest's pythonpath for shared helpers (vectors.py, redis_server.py, ...); its folders mirror
# the packages (tests/proxy, tests/policy, ...), so the real packages must come first on sys.path or the
# test folders would shadow them as namespace packages.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

settings.register_profile("dev", max_examples=100, deadline=None)
settings.register_profile(
    "ci",
    max_examples=200,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """URL of a real redis-server started for this test session (see tests/redis_server.py)."""
    from redis_server import running_redis

    with running_redis() as url:
        yield url


@pytest.fixture(autouse=True)
def _fresh_structlog() -> Iterator[None]:
    """Every test starts and ends with structlog's defaults (a test that configures logging, e.g. to
    a level that filters info events, must not change what ``capture_logs`` sees in later tests)."""
    structlog.reset_defaults()
    yield
    structlog.reset_defaults()
