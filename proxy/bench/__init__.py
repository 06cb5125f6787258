"""Benchmarks behind ``make bench``: each module in :data:`BENCHMARKS` has ``run() -> dict`` and prints nothing."""

from __future__ import annotations

__all__ = ["BENCHMARKS"]

#: Benchmark modules, run in this order by ``python -m proxy.bench``.
BENCHMARKS: tuple[str, ...] = (
    "proxy.bench.replay_store",
    "proxy.bench.policy_decision",
    "proxy.bench.revocation",
    "proxy.bench.request_path",
)
