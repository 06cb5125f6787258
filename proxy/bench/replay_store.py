"""Benchmark of the replay store (I/O: a temp SQLite file and a throwaway loopback redis-server).

Reports claim latency p50/p99 (ms) and claims/s for each backend, sequential and with concurrent
claims in flight. Every claim is a realistic one: rpc-id, payload and chain-nonce keys plus a
budget charge. Loops are bounded in count and time.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

from policy.interfaces import ReplayStore
from policy.replay import BudgetCharge, Claim, ReplayKey, ReplayLayer, RequestIdentity
from proxy.stores import open_replay_store

__all__ = ["run"]

CLAIMS = 2000
CONCURRENCY = 16
TIME_LIMIT_S = 30.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _redis_server() -> Iterator[str | None]:
    """A throwaway redis-server on a free loopback port (None when the binary is missing)."""
    binary = shutil.which("redis-server")
    if binary is None:
        yield None
        return
    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="wcproxy-bench-redis-") as tmp:
        proc = subprocess.Popen(
            [
                binary,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                tmp,
                "--protected-mode",
                "yes",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 10
            while True:
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=0.2) as conn:
                        conn.sendall(b"PING\r\n")
                        if conn.recv(16).startswith(b"+PONG"):
                            break
                except OSError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not start on port {port}")
                time.sleep(0.05)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _request(i: int, run: str) -> tuple[list[ReplayKey], RequestIdentity]:
    topic = "ab" * 32
    rid = 1_700_000_000_000_000 + 10_000_000 * (run == "b") + i
    payload = f"0x{run}{i:060x}"
    keys = [
        ReplayKey.of(ReplayLayer.RPC_ID, (topic, rid), 960),
        ReplayKey.of(ReplayLayer.PAYLOAD, ("0xacc", "transaction", payload), 86_400),
        ReplayKey.of(ReplayLayer.CHAIN_NONCE, (1, "0xacc", f"{run}{i}"), 86_400),
    ]
    return keys, RequestIdentity(topic, rid, payload, "bench")


async def _measure(store: ReplayStore, run: str, concurrency: int) -> dict[str, Any]:
    charge = BudgetCharge(f"bench-{run}", Decimal("0.01"), 3600, Decimal(1_000_000))
    latencies: list[float] = []
    wins = 0
    deadline = time.monotonic() + TIME_LIMIT_S
    queue = iter(range(CLAIMS))

    async def worker() -> None:
        nonlocal wins
        for i in queue:
            if time.monotonic() > deadline:
                return
            keys, owner = _request(i, run)
            start = time.perf_counter()
            out = await store.claim(keys, owner=owner, budget=charge, now=time.time())
            latencies.append(time.perf_counter() - start)
            wins += isinstance(out, Claim)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    return {
        "claims": len(latencies),
        "won": wins,
        "concurrency": concurrency,
        "p50_ms": round(statistics.median(ordered) * 1000, 3),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 3),
        "claims_per_s": round(len(latencies) / elapsed, 1),
    }


async def _bench(url: str) -> dict[str, Any]:
    store = await open_replay_store(url)
    try:
        return {
            "sequential": await _measure(store, "a", 1),
            "concurrent": await _measure(store, "b", CONCURRENCY),
        }
    finally:
        await store.close()


def run() -> dict[str, Any]:
    """Claim latency and throughput for the SQLite, Redis and in-memory replay stores."""
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="wcproxy-bench-sqlite-") as tmp:
        results["sqlite"] = asyncio.run(_bench(f"sqlite:{Path(tmp) / 'replay.db'}"))
    with _redis_server() as url:
        results["redis"] = (
            asyncio.run(_bench(url)) if url else {"skipped": "redis-server not installed"}
        )
    results["memory"] = asyncio.run(_bench("memory:"))
    return results
