"""ReplayStore on Redis, shared by proxy replicas (I/O: network, redis-py asyncio).

Every state change is ONE Lua script, so Redis runs it atomically: a claim checks all keys and the
budget and records them all, or records nothing. TTLs are native (``SET PX`` / ``PEXPIRE``) so
Redis evicts on its own; each value also carries its expiry so that expiry is judged against the
caller's ``now`` (as in the other backends) and ``purge`` can sweep early.

Layout (all keys under one prefix with a hash tag, default ``wcproxy:{replay}:``, so a cluster
keeps them in one slot):

* ``k:<layer>|<key>`` -> ``"<claim id>|<expires ms>"``: one replay key;
* ``c:<claim id>`` -> hash (topic, rid, ph, sess, at, exp, state, result, keys, env, member);
* ``b:<envelope>`` -> sorted set of ``"<claim id>:<micro-USD>"`` scored by expiry ms, and
  ``bt:<envelope>`` -> the running micro-USD total of the live members (integers: exact in Lua).

Durability is the server's: run Redis with ``appendonly yes`` and ``appendfsync always`` if a claim
must survive a Redis crash, not only a proxy crash (the proxy-crash case is tested).
redis-py errors become :class:`policy.errors.StoreUnavailableError`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, cast

import redis.asyncio as aioredis
import structlog
from redis.exceptions import RedisError

from policy.errors import StoreUnavailableError
from policy.replay import (
    BudgetCharge,
    BudgetExceeded,
    BudgetUsage,
    Claim,
    ClaimOutcome,
    ClaimRecord,
    Duplicate,
    Replay,
    ReplayKey,
    RequestIdentity,
    Sighting,
    micro_to_usd,
    new_claim_id,
    rpc_id_key,
    unique_keys,
)

__all__ = ["DEFAULT_PREFIX", "RedisReplayStore"]

log = structlog.get_logger(__name__)

DEFAULT_PREFIX = "wcproxy:{replay}:"
_SCAN_COUNT = 500

# Shared Lua: drop expired budget members and keep the running total in step.
_TRIM = """
local function trim(zkey, tkey, now)
  local total = tonumber(redis.call('GET', tkey) or '0')
  local dead = redis.call('ZRANGEBYSCORE', zkey, '-inf', now)
  for _, m in ipairs(dead) do
    total = total - tonumber(string.match(m, ':(%d+)$'))
  end
  if #dead > 0 then
    redis.call('ZREMRANGEBYSCORE', zkey, '-inf', now)
    if redis.call('ZCARD', zkey) == 0 then
      redis.call('DEL', zkey, tkey)
      total = 0
    else
      redis.call('SET', tkey, total, 'KEEPTTL')
    end
  end
  return total, #dead
end
local function extend(key, ttl)
  if redis.call('PTTL', key) < ttl then redis.call('PEXPIRE', key, ttl) end
end
"""

# KEYS: claim hash, budget zset, budget total, replay keys...
# ARGV: claim id, now ms, topic, rid, payload hash, session, micro, cap micro, budget ttl ms,
#       prefix, key ttl ms...
_CLAIM = (
    _TRIM
    + """
local now = tonumber(ARGV[2])
local n = #KEYS - 3
local held = {}
for i = 1, n do
  local v = redis.call('GET', KEYS[3 + i])
  if v then
    local sep = string.find(v, '|', 1, true)
    if tonumber(string.sub(v, sep + 1)) > now then
      local c = redis.call('HMGET', ARGV[10] .. 'c:' .. string.sub(v, 1, sep - 1),
        'topic', 'rid', 'ph', 'sess', 'at', 'state', 'result', 'exp')
      local live = c[8] and tonumber(c[8]) > now
      table.insert(held, {i, live and 1 or 0, c[1] or '', c[2] or '', c[3] or '', c[4] or '',
        c[5] or '0', c[6] or '', c[7] or ''})
    end
  end
end
if #held > 0 then return {'held', held} end
local micro = 0
if ARGV[7] ~= '' then
  micro = tonumber(ARGV[7])
  local total = trim(KEYS[2], KEYS[3], now)
  if total + micro > tonumber(ARGV[8]) then return {'budget', tostring(total)} end
end
local cttl = 1000
for i = 1, n do
  local t = tonumber(ARGV[10 + i])
  if t > cttl then cttl = t end
end
local member = ''
if ARGV[7] ~= '' then member = ARGV[1] .. ':' .. ARGV[7] end
redis.call('HSET', KEYS[1], 'topic', ARGV[3], 'rid', ARGV[4], 'ph', ARGV[5], 'sess', ARGV[6],
  'at', ARGV[2], 'exp', now + cttl, 'state', 'in_flight', 'member', member,
  'keys', table.concat(KEYS, '\\n', 4))
redis.call('PEXPIRE', KEYS[1], cttl)
for i = 1, n do
  local t = tonumber(ARGV[10 + i])
  redis.call('SET', KEYS[3 + i], ARGV[1] .. '|' .. (now + t), 'PX', t)
end
if member ~= '' then
  local bttl = tonumber(ARGV[9])
  redis.call('ZADD', KEYS[2], now + bttl, member)
  redis.call('INCRBY', KEYS[3], micro)
  extend(KEYS[2], bttl)
  extend(KEYS[3], bttl)
end
return {'claim'}
"""
)

# KEYS: claim hash. ARGV: now ms, result.
_COMPLETE = """
local c = redis.call('HMGET', KEYS[1], 'state', 'exp')
if c[1] ~= 'in_flight' or tonumber(c[2]) <= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'state', 'done', 'result', ARGV[2])
return 1
"""

# KEYS: claim hash, budget zset, budget total. ARGV: now ms, claim id.
_ABORT = """
local c = redis.call('HMGET', KEYS[1], 'state', 'exp', 'keys', 'member')
if c[1] ~= 'in_flight' or tonumber(c[2]) <= tonumber(ARGV[1]) then return 0 end
for key in string.gmatch(c[3], '[^\\n]+') do
  local v = redis.call('GET', key)
  if v and string.sub(v, 1, #ARGV[2] + 1) == ARGV[2] .. '|' then redis.call('DEL', key) end
end
if c[4] ~= '' and redis.call('ZREM', KEYS[2], c[4]) == 1 then
  redis.call('DECRBY', KEYS[3], tonumber(string.match(c[4], ':(%d+)$')))
end
redis.call('DEL', KEYS[1])
return 1
"""

# KEYS: budget zset, budget total. ARGV: now ms.
_USAGE = (
    _TRIM
    + """
local total, dead = trim(KEYS[1], KEYS[2], tonumber(ARGV[1]))
return {tostring(total), redis.call('ZCARD', KEYS[1]), dead}
"""
)

# KEYS: replay keys and claim hashes. ARGV: now ms.
_PURGE = """
local now = tonumber(ARGV[1])
local removed = 0
for _, key in ipairs(KEYS) do
  local exp
  if redis.call('TYPE', key).ok == 'hash' then
    exp = redis.call('HGET', key, 'exp')
  else
    local v = redis.call('GET', key)
    if v then exp = string.sub(v, string.find(v, '|', 1, true) + 1) end
  end
  if exp and tonumber(exp) <= now then
    redis.call('DEL', key)
    removed = removed + 1
  end
end
return removed
"""


def _ms(seconds: float) -> int:
    return math.floor(seconds * 1000)


def _glob_escape(text: str) -> str:
    return "".join("\\" + ch if ch in "*?[]\\" else ch for ch in text)


class RedisReplayStore:
    """The replay store on one Redis; open with :meth:`open`, release with :meth:`close`."""

    def __init__(self, client: aioredis.Redis, prefix: str = DEFAULT_PREFIX) -> None:
        self._redis = client
        self._prefix = prefix
        self._claim = client.register_script(_CLAIM)
        self._complete = client.register_script(_COMPLETE)
        self._abort = client.register_script(_ABORT)
        self._usage = client.register_script(_USAGE)
        self._purge = client.register_script(_PURGE)
        self._closed = False
        self.claim_ids = new_claim_id

    @classmethod
    async def open(
        cls, url: str, *, prefix: str = DEFAULT_PREFIX, timeout_s: float = 5.0
    ) -> RedisReplayStore:
        """Connect to ``redis://...`` (checked with PING); ``timeout_s`` bounds every call."""
        client = aioredis.Redis.from_url(
            url,
            decode_responses=True,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
        )
        try:
            await client.ping()
        except (RedisError, OSError) as exc:
            await client.aclose()
            raise StoreUnavailableError(f"replay store (redis) unreachable: {exc}") from exc
        return cls(client, prefix)

    async def _call(self, script: Any, keys: list[str], args: list[object]) -> Any:
        if self._closed:
            raise StoreUnavailableError("replay store is closed")
        try:
            return await script(keys=keys, args=args)
        except (RedisError, OSError) as exc:
            log.warning("replay_store_error", backend="redis", error=str(exc))
            raise StoreUnavailableError(f"replay store (redis) failed: {exc}") from exc

    def _budget_keys(self, envelope_id: str) -> list[str]:
        return [f"{self._prefix}b:{envelope_id}", f"{self._prefix}bt:{envelope_id}"]

    async def claim(
        self,
        keys: Sequence[ReplayKey],
        *,
        owner: RequestIdentity,
        budget: BudgetCharge | None,
        now: float,
    ) -> ClaimOutcome:
        """Atomically claim every key and charge the budget (one Lua script)."""
        unique = unique_keys(keys)
        claim_id = self.claim_ids()
        now_ms = _ms(now)
        args: list[object] = [
            claim_id,
            now_ms,
            owner.topic,
            "" if owner.request_id is None else str(owner.request_id),
            owner.payload_hash,
            "" if owner.session is None else "=" + owner.session,
            "" if budget is None else budget.micro_usd,
            "" if budget is None else budget.cap_micro_usd,
            "" if budget is None else budget.period_s * 1000,
            self._prefix,
            *(k.ttl_s * 1000 for k in unique),
        ]
        redis_keys = [
            f"{self._prefix}c:{claim_id}",
            *self._budget_keys("" if budget is None else budget.envelope_id),
            *(f"{self._prefix}k:{k.storage_key}" for k in unique),
        ]
        reply = await self._call(self._claim, redis_keys, args)
        kind = reply[0]
        if kind == "claim":
            return Claim(claim_id, owner, unique, now, budget)
        if kind == "budget":
            assert budget is not None
            return BudgetExceeded(
                budget.envelope_id, micro_to_usd(int(reply[1])), budget.usd, budget.cap_usd
            )
        return _held_outcome(unique, owner, reply[1])

    async def complete(self, claim: Claim, result: str, now: float) -> bool:
        """Store the response of a signed, still in-flight claim."""
        done = await self._call(
            self._complete, [f"{self._prefix}c:{claim.claim_id}"], [_ms(now), result]
        )
        return bool(done)

    async def abort(self, claim: Claim, now: float) -> bool:
        """Release an in-flight claim: delete its keys and refund its charge."""
        envelope = "" if claim.budget is None else claim.budget.envelope_id
        keys = [f"{self._prefix}c:{claim.claim_id}", *self._budget_keys(envelope)]
        return bool(await self._call(self._abort, keys, [_ms(now), claim.claim_id]))

    async def lookup(self, topic: str, request_id: int, now: float) -> ClaimRecord | None:
        """The live claim holding the rpc-id key (topic, request_id)."""
        now_ms = _ms(now)
        try:
            value = await self._redis.get(
                f"{self._prefix}k:{rpc_id_key(topic, request_id).storage_key}"
            )
            if value is None:
                return None
            claim_id, _sep, expires = str(value).partition("|")
            if int(expires) <= now_ms:
                return None
            row: list[Any] = await self._redis.hmget(
                f"{self._prefix}c:{claim_id}",
                ["topic", "rid", "ph", "sess", "at", "state", "result", "exp"],
            )
        except (RedisError, OSError) as exc:
            raise StoreUnavailableError(f"replay store (redis) failed: {exc}") from exc
        if row[0] is None or int(row[7]) <= now_ms:
            return None
        first = _identity(row[0], row[1], row[2], row[3])
        return ClaimRecord(
            first, int(row[4]) / 1000, row[5] != "done", row[6] if row[5] == "done" else None
        )

    async def usage(self, envelope_id: str, now: float) -> BudgetUsage:
        """Live charges of an envelope (trims expired ones on the way)."""
        total, calls, _dead = await self._call(
            self._usage, self._budget_keys(envelope_id), [_ms(now)]
        )
        return BudgetUsage(micro_to_usd(int(total)), int(calls))

    async def purge(self, now: float) -> int:
        """Sweep logically expired keys, claims and charges (native TTLs do most of this)."""
        removed = 0
        for kind in ("k", "c"):
            batch: list[str] = []
            async for key in self._scan(kind):
                batch.append(key)
                if len(batch) >= _SCAN_COUNT:
                    removed += int(await self._call(self._purge, batch, [_ms(now)]))
                    batch = []
            if batch:
                removed += int(await self._call(self._purge, batch, [_ms(now)]))
        envelopes = [key[len(self._prefix) + 2 :] async for key in self._scan("b")]
        for envelope in envelopes:
            _total, _calls, dead = await self._call(
                self._usage, self._budget_keys(envelope), [_ms(now)]
            )
            removed += int(dead)
        return removed

    async def size(self) -> int:
        """Replay keys + claims + budget charges currently in Redis."""
        total = 0
        for kind in ("k", "c"):
            total += len([key async for key in self._scan(kind)])
        try:
            for key in [key async for key in self._scan("b")]:
                total += int(await self._redis.zcard(key))
        except (RedisError, OSError) as exc:
            raise StoreUnavailableError(f"replay store (redis) failed: {exc}") from exc
        return total

    async def close(self) -> None:
        """Close the connection pool (idempotent)."""
        if not self._closed:
            self._closed = True
            await self._redis.aclose()

    async def _scan(self, kind: str) -> Any:
        if self._closed:
            raise StoreUnavailableError("replay store is closed")
        pattern = _glob_escape(f"{self._prefix}{kind}:") + "*"
        try:
            async for key in self._redis.scan_iter(match=pattern, count=_SCAN_COUNT):
                yield cast(str, key)
        except (RedisError, OSError) as exc:
            raise StoreUnavailableError(f"replay store (redis) failed: {exc}") from exc


def _identity(
    topic: str, rid: str | None, payload_hash: str | None, session: str | None
) -> RequestIdentity:
    return RequestIdentity(
        topic,
        int(rid) if rid else None,
        payload_hash or "",
        session[1:] if session else None,
    )


def _held_outcome(
    keys: tuple[ReplayKey, ...], owner: RequestIdentity, held: list[list[Any]]
) -> Duplicate | Replay:
    """Duplicate or Replay from the script's view of the held keys (no write happened)."""
    first_layer = None
    first_seen: Sighting | None = None
    for index, live, topic, rid, ph, sess, at, state, result in held:
        key = keys[int(index) - 1]
        sighting: Sighting | None = None
        if int(live) and topic:  # else: a key whose claim record is gone: held, owner unknown
            first = _identity(topic, rid, ph, sess)
            sighting = Sighting(int(at) / 1000, first.session, first.request_id, first.topic)
            if first.same_request(owner):
                return Duplicate(result if state == "done" else None, state != "done", sighting)
        if first_layer is None:
            first_layer, first_seen = key.layer, sighting
    assert first_layer is not None
    return Replay(first_layer, "already_claimed", first_seen)
