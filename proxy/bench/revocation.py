"""Benchmark: policy-path time to revoke through the running daemon (I/O: in-process daemons, relay, temp
SQLite, a throwaway loopback redis-server).

Each trial opens a fresh session from our dApp role and sends, back to back, a request that trips a
``non_delegable`` revocation rule and an ordinary ``personal_sign``. Measured at the dApp from
sending the triggering request to receiving the refusal (5020) of the next one. The bench dApp
ignores ``wc_sessionDelete`` (as a dApp that does not care would), so the refusal reaches it.

* ``sqlite``: one daemon, embedded relay, SQLite store;
* ``redis_replicas``: two daemons on one redis-server sharing one relay and every session (the
  second starts after the sessions settled, so it loads them): both judge both requests; the
  first refusal to arrive counts.

Also reported: the daemon's own alert -> revocation-recorded time (``wcproxy_time_to_revoke_seconds``,
path ``policy``). Bounded: at most ``TRIALS`` trials and ``TIME_LIMIT_S`` per setup.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from eth_abi.abi import encode
from eth_utils.crypto import keccak

from proxy.app import Daemon
from proxy.bench.redis_server import running_redis
from proxy.config import Settings, load_settings
from proxy.logs import configure_logging
from walletconnect.aio.dapp_client import DappClient
from walletconnect.aio.engine_client import ResponseError

__all__ = ["run"]

TRIALS = 40
TIME_LIMIT_S = 60.0
TARGET_P99_MS = 50.0
_CONFIG = Path(__file__).resolve().parents[2] / "config" / "example.toml"
_CHAIN = "eip155:1"
_RULES = [{"name": "bench-non-delegable", "trigger": "non_delegable", "action": "revoke"}]
_META = {"name": "bench dApp", "description": "", "url": "https://bench.example", "icons": []}
_NAMESPACES = {
    "eip155": {
        "chains": [_CHAIN],
        "methods": ["personal_sign", "eth_signTransaction"],
        "events": ["chainChanged"],
    }
}


def _settings(data_dir: Path, store: str, relay: str = "embedded") -> Settings:
    return load_settings(
        _CONFIG,
        overrides={
            "data_dir": str(data_dir),
            "store.url": store,
            "relay.url": relay,
            "revocation.rules": _RULES,
        },
    )


def _upgrade_tx(account: str) -> dict[str, Any]:
    data = keccak(text="upgradeTo(address)")[:4] + encode(["address"], ["0x" + "22" * 20])
    return {
        "from": account,
        "to": "0x1111111111111111111111111111111111111111",
        "value": "0x0",
        "data": "0x" + data.hex(),
        "gas": hex(100_000),
        "maxFeePerGas": hex(2 * 10**10),
        "maxPriorityFeePerGas": hex(10**9),
        "nonce": "0x0",
        "chainId": "0x1",
        "type": "0x2",
    }


@asynccontextmanager
async def _deaf_dapp(relay: str) -> AsyncIterator[DappClient]:
    """Our dApp role, except that it ignores the wallet's wc_sessionDelete."""
    dapp = DappClient(relay, metadata=_META)
    dapp.engine._request_handlers["wc_sessionDelete"] = lambda _req: None
    async with dapp:
        yield dapp


async def _sessions(dapp: DappClient, daemon: Daemon, count: int, deadline: float) -> list[str]:
    topics = []
    for _ in range(count):
        if time.monotonic() > deadline:
            break
        uri, approval = await dapp.connect(optional_namespaces=_NAMESPACES)
        await daemon.wallet.pair(uri)
        session = await asyncio.wait_for(approval, 10)
        topics.append(session.topic)
    # wait until the daemon bound each one (SessionSettled is handled asynchronously)
    for _ in range(200):
        if all(t in daemon._bindings for t in topics):
            break
        await asyncio.sleep(0.01)
    return topics


async def _trial(dapp: DappClient, topic: str, account: str) -> float:
    started = time.perf_counter()
    trigger = asyncio.create_task(
        dapp.request(topic, _CHAIN, "eth_signTransaction", [_upgrade_tx(account)], timeout_s=10)
    )
    await asyncio.sleep(0)  # the trigger is queued first
    message = "0x" + f"after the trigger {topic[:8]}".encode().hex()
    try:
        await dapp.request(topic, _CHAIN, "personal_sign", [message, account], timeout_s=10)
    except ResponseError as exc:
        if exc.code != 5020:
            raise RuntimeError(f"next request refused with {exc.code}, not 5020") from exc
    else:
        raise RuntimeError("the request after the trigger was signed")
    elapsed = time.perf_counter() - started
    with contextlib.suppress(ResponseError):
        await trigger
    return elapsed


def _summary(samples: list[float], daemons: list[Daemon]) -> dict[str, Any]:
    ms = sorted(s * 1000 for s in samples)
    if not ms:
        return {"trials": 0}
    p99 = ms[min(len(ms) - 1, round(0.99 * (len(ms) - 1)))]
    recorded = [
        d.metrics.registry.get_sample_value(
            "wcproxy_time_to_revoke_seconds_sum", {"path": "policy"}
        )
        or 0.0
        for d in daemons
    ]
    counts = [
        d.metrics.registry.get_sample_value(
            "wcproxy_time_to_revoke_seconds_count", {"path": "policy"}
        )
        or 0.0
        for d in daemons
    ]
    return {
        "trials": len(ms),
        "p50_ms": round(statistics.median(ms), 3),
        "p99_ms": round(p99, 3),
        "max_ms": round(ms[-1], 3),
        "alert_to_recorded_mean_ms": round(1000 * sum(recorded) / max(1.0, sum(counts)), 3),
        "target_p99_ms": TARGET_P99_MS,
        "meets_target": p99 < TARGET_P99_MS,
    }


async def _one_daemon(tmp: Path) -> dict[str, Any]:
    deadline = time.monotonic() + TIME_LIMIT_S
    settings = _settings(tmp / "sqlite", "sqlite:wcproxy.sqlite3")
    async with Daemon(settings) as daemon, _deaf_dapp(daemon.relay_url) as dapp:
        account = daemon.signer.accounts()[0]
        samples = []
        for topic in await _sessions(dapp, daemon, TRIALS, deadline):
            if time.monotonic() > deadline:
                break
            samples.append(await _trial(dapp, topic, account))
        return _summary(samples, [daemon])


async def _two_replicas(tmp: Path, redis_url: str) -> dict[str, Any]:
    deadline = time.monotonic() + TIME_LIMIT_S
    first = Daemon(_settings(tmp / "a", redis_url))
    async with first, _deaf_dapp(first.relay_url) as dapp:
        topics = await _sessions(dapp, first, TRIALS, deadline)
        second_settings = _settings(tmp / "b", redis_url, relay=first.relay_url)
        async with Daemon(second_settings) as second:
            account = first.signer.accounts()[0]
            samples = []
            for topic in topics:
                if time.monotonic() > deadline:
                    break
                samples.append(await _trial(dapp, topic, account))
            return _summary(samples, [first, second])


async def _main() -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="wcproxy-bench-revoke-") as raw:
        tmp = Path(raw)
        out: dict[str, Any] = {"sqlite": await _one_daemon(tmp)}
        with running_redis() as url:
            out["redis_replicas"] = (
                await _two_replicas(tmp, url) if url is not None else {"skipped": "no redis-server"}
            )
        return out


def run() -> dict[str, Any]:
    """Measure policy-path time to revoke (p50/p99 ms) on one daemon and on two Redis replicas."""
    configure_logging("json", "critical")
    return asyncio.run(_main())
