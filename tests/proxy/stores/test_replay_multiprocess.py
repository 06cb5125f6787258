"""Replay stores across OS processes: two racers on one SQLite file / one Redis, and SIGKILL mid-flight."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from policy.replay import Claim, Duplicate, Replay, ReplayKey, ReplayLayer, RequestIdentity
from proxy.stores import open_replay_store

NOW = 1_700_000_000.0
ID0 = int(NOW * 1000) * 1000
TOPIC = "c" * 64
ROOT = Path(__file__).resolve().parents[3]
TIMEOUT_S = 120

# One worker process: opens the store, says "ready", waits for "go" on stdin, then runs its mode.
WORKER = textwrap.dedent(
    """
    import asyncio, json, sys, time
    from decimal import Decimal
    from policy.replay import BudgetCharge, Claim, ReplayKey, ReplayLayer, RequestIdentity
    from proxy.stores import open_replay_store

    url, mode, tag, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    NOW = 1_700_000_000.0
    ID0 = int(NOW * 1000) * 1000
    TOPIC = "c" * 64

    def request(i, other):
        rid = ID0 + i + (10_000_000 if other else 0)
        keys = [
            ReplayKey.of(ReplayLayer.RPC_ID, (TOPIC, rid), 600),
            ReplayKey.of(ReplayLayer.CHAIN_NONCE, (1, "0xacc", i), 600),
        ]
        return keys, RequestIdentity(TOPIC, rid, f"0x{i:064x}", tag)

    async def main():
        store = await open_replay_store(url)
        print("ready", flush=True)
        sys.stdin.readline()
        deadline = time.monotonic() + 100
        wins = []
        kinds = {}
        # racer "b" walks backwards so both win a share and they collide head-on in the middle
        order = range(count - 1, -1, -1) if (mode == "race" and tag == "b") else range(count)
        for i in order:
            if time.monotonic() > deadline:
                break
            if mode == "race":
                # odd indices: this worker's request differs (a replay); even: the same request
                keys, owner = request(i, other=(tag == "b" and i % 2 == 1))
                out = await store.claim(keys, owner=owner, budget=None, now=NOW)
            elif mode == "budget":
                keys = [ReplayKey.of(ReplayLayer.PAYLOAD, (tag, "tx", i), 600)]
                owner = RequestIdentity(TOPIC, ID0 + i, f"0x{i:x}", tag)
                charge = BudgetCharge("env-mp", Decimal(1), 3600, Decimal(150))
                out = await store.claim(keys, owner=owner, budget=charge, now=NOW)
            else:  # "hang": claim, report, never complete
                keys, owner = request(i, other=False)
                out = await store.claim(keys, owner=owner, budget=None, now=NOW)
                print(f"claimed {i} {type(out).__name__}", flush=True)
                continue
            kinds[type(out).__name__] = kinds.get(type(out).__name__, 0) + 1
            if isinstance(out, Claim):
                wins.append(i)
                await store.complete(out, json.dumps({"id": owner.request_id, "result": tag}), NOW)
        if mode == "hang":
            time.sleep(60)
        await store.close()
        print(json.dumps({"wins": wins, "kinds": kinds}), flush=True)

    asyncio.run(main())
    """
)


def _spawn(url: str, mode: str, tag: str, count: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", WORKER, url, mode, tag, str(count)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )


def _race(url: str, mode: str, count: int) -> list[dict[str, object]]:
    procs = [_spawn(url, mode, tag, count) for tag in ("a", "b")]
    try:
        for proc in procs:
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == "ready"
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        results = []
        for proc in procs:
            out, _err = proc.communicate(timeout=TIMEOUT_S)
            assert proc.returncode == 0
            results.append(json.loads(out.strip().splitlines()[-1]))
        return results
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:{tmp_path / 'shared.db'}"
    else:
        url = request.getfixturevalue("redis_url")
        prefix = f"wcproxy-mp:{{{os.urandom(8).hex()}}}:"
        yield f"{url}#prefix={prefix}"


def test_two_processes_race_the_same_1000_claims(store_url: str) -> None:
    a, b = _race(store_url, "race", 1000)
    wins_a, wins_b = set(a["wins"]), set(b["wins"])  # type: ignore[arg-type]
    assert wins_a.isdisjoint(wins_b)
    assert wins_a | wins_b == set(range(1000))  # exactly one winner for every request
    for result in (a, b):
        kinds = result["kinds"]
        assert isinstance(kinds, dict)
        assert sum(kinds.values()) == 1000
        assert set(kinds) <= {"Claim", "Duplicate", "Replay"}


def test_two_processes_cannot_overspend_one_budget(store_url: str) -> None:
    async def usage() -> tuple[Decimal, int]:
        store = await open_replay_store(store_url)
        try:
            return tuple(await store.usage("env-mp", NOW))  # type: ignore[return-value]
        finally:
            await store.close()

    a, b = _race(store_url, "budget", 200)
    assert len(a["wins"]) + len(b["wins"]) == 150  # type: ignore[arg-type]
    assert asyncio.run(usage()) == (Decimal(150), 150)


def test_sigkill_between_claim_and_complete_never_allows_a_second_signature(
    store_url: str,
) -> None:
    proc = _spawn(store_url, "hang", "a", 40)
    claimed: list[int] = []
    try:
        assert proc.stdout is not None
        assert proc.stdin is not None
        assert proc.stdout.readline().strip() == "ready"
        proc.stdin.write("go\n")
        proc.stdin.flush()
        for _ in range(40):
            line = proc.stdout.readline().split()
            assert line[0] == "claimed"
            assert line[2] == "Claim"
            claimed.append(int(line[1]))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=TIMEOUT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert claimed == list(range(40))

    async def check() -> None:
        store = await open_replay_store(store_url)  # "restart": a fresh connection
        try:
            for i in claimed:
                rid = ID0 + i
                keys = [
                    ReplayKey.of(ReplayLayer.RPC_ID, (TOPIC, rid), 600),
                    ReplayKey.of(ReplayLayer.CHAIN_NONCE, (1, "0xacc", i), 600),
                ]
                retry = await store.claim(
                    keys,
                    owner=RequestIdentity(TOPIC, rid, f"0x{i:064x}", "a"),
                    budget=None,
                    now=NOW + 1,
                )
                assert isinstance(retry, Duplicate)
                assert retry.in_flight  # outcome unknown: never a fresh signature
                assert retry.stored_result is None
                other = await store.claim(
                    [ReplayKey.of(ReplayLayer.RPC_ID, ("d" * 64, rid), 600), keys[1]],
                    owner=RequestIdentity("d" * 64, rid, "0xbeef", "b"),
                    budget=None,
                    now=NOW + 1,
                )
                assert isinstance(other, Replay)
                assert other.layer is ReplayLayer.CHAIN_NONCE
                assert not isinstance(other, Claim)
        finally:
            await store.close()

    asyncio.run(check())


# Claims for one session in a loop until refused 50 times in a row (bounded in count and time);
# prints "warm" after 20 claims, then one JSON list of [start ns, end ns, outcome] at the end.
CLAIMER = textwrap.dedent(
    """
    import asyncio, json, sys, time
    from policy.replay import ReplayKey, ReplayLayer, RequestIdentity
    from proxy.stores import open_replay_store

    url, session = sys.argv[1], sys.argv[2]
    NOW = 1_700_000_000.0
    ID0 = int(NOW * 1000) * 1000
    TOPIC = "e" * 64

    async def main():
        store = await open_replay_store(url)
        print("ready", flush=True)
        sys.stdin.readline()
        deadline = time.monotonic() + 60
        log, refused_in_a_row = [], 0
        for i in range(20_000):
            if time.monotonic() > deadline or refused_in_a_row >= 50:
                break
            keys = [
                ReplayKey.of(ReplayLayer.RPC_ID, (TOPIC, ID0 + i), 600),
                ReplayKey.of(ReplayLayer.PAYLOAD, ("0xacc", "tx", i), 600),
            ]
            owner = RequestIdentity(TOPIC, ID0 + i, f"0x{i:064x}", session)
            start = time.monotonic_ns()
            out = await store.claim(keys, owner=owner, budget=None, now=NOW, session=session)
            log.append([start, time.monotonic_ns(), type(out).__name__])
            refused_in_a_row = refused_in_a_row + 1 if type(out).__name__ != "Claim" else 0
            if i == 20:
                print("warm", flush=True)
        await store.close()
        print(json.dumps(log), flush=True)

    asyncio.run(main())
    """
)


@pytest.mark.parametrize("action", ["revoke", "freeze"])
def test_a_revocation_in_one_process_stops_claims_in_another_at_once(
    store_url: str, action: str
) -> None:
    from policy.revocation import Freeze, Revocation, RevocationPath

    proc = subprocess.Popen(
        [sys.executable, "-c", CLAIMER, store_url, "s-mp"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )

    async def stop() -> tuple[int, int]:
        store = await open_replay_store(store_url)
        try:
            assert proc.stdout is not None
            assert proc.stdin is not None
            assert proc.stdout.readline().strip() == "ready"
            proc.stdin.write("go\n")
            proc.stdin.flush()
            assert proc.stdout.readline().strip() == "warm"
            begun = time.monotonic_ns()
            if action == "revoke":
                revocation = Revocation(
                    "s-mp", RevocationPath.USER, None, "test", "stop", NOW, None
                )
                assert await store.revoke(revocation)
            else:
                assert await store.freeze(Freeze("test", "emergency", NOW))
            return begun, time.monotonic_ns()
        finally:
            await store.close()

    try:
        begun, returned = asyncio.run(stop())
        out, _err = proc.communicate(timeout=TIMEOUT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0
    log = json.loads(out.strip().splitlines()[-1])
    refused = "Revoked" if action == "revoke" else "Frozen"
    before = [kind for start, end, kind in log if end < begun]
    after = [kind for start, _end, kind in log if start > returned]
    assert len(before) >= 20
    assert set(before) == {"Claim"}  # the claimer really was signing until the revocation
    assert len(after) >= 45
    assert set(after) == {refused}  # every claim that started after it returned was refused
    assert {kind for *_times, kind in log} <= {"Claim", refused}


REVOKER = textwrap.dedent(
    """
    import asyncio, sys
    from policy.revocation import Revocation, RevocationPath
    from proxy.stores import open_replay_store

    async def main():
        store = await open_replay_store(sys.argv[1])
        revocation = Revocation("s-other", RevocationPath.POLICY, "n_denials", "policy", "why", 1.0)
        assert await store.revoke(revocation)
        await store.close()

    asyncio.run(main())
    """
)


def test_a_watch_sees_a_revocation_made_by_another_process(store_url: str) -> None:
    from proxy.stores.watch import watch_events

    async def watch() -> dict[str, object]:
        store = await open_replay_store(store_url)
        try:
            _events, cursor = await store.events_since(None)
            stream = watch_events(store, cursor=cursor)
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-c", REVOKER, store_url, cwd=ROOT
            )
            assert await asyncio.wait_for(proc.wait(), TIMEOUT_S) == 0
            event = await asyncio.wait_for(anext(stream), 5)
            await stream.aclose()  # type: ignore[attr-defined]
            return event
        finally:
            await store.close()

    event = asyncio.run(watch())
    assert event["kind"] == "revoke"
    revocation = event["revocation"]
    assert isinstance(revocation, dict)
    assert (revocation["session"], revocation["rule"]) == ("s-other", "n_denials")
