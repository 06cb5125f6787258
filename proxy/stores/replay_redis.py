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

Revocations, freeze, bindings and events (same prefix, same slot):

* ``r:<session>`` -> the revocation JSON (``session`` may be null: the key names it), native TTL
  until :func:`policy.revocation.revocation_keep_until` (the session's expiry + margin, never
  earlier); ``ri`` -> sorted set of revoked sessions scored by that time (listing, purge);
* ``fz`` -> the active freeze JSON (no TTL: until ``unfreeze``);
* ``s:<session>`` -> hash (json, expms, dapp, ended, end) of a session binding, native TTL until
  :func:`policy.revocation.binding_purge_at`; ``si`` -> sorted set of bound sessions by that time;
* ``ev`` -> sorted set of the last ``MAX_EVENTS`` event JSONs scored by ``seq``, ``evseq`` -> the
  counter; every event is also PUBLISHed on the channel ``<prefix>events`` by the same script
  that records it, and :meth:`RedisReplayStore.watch` follows that channel.

Like the claim script's claim hashes, the revoke script derives ``r:``/``s:`` key names from the
prefix inside Lua (``revoke_all`` cannot list them in advance); the hash tag keeps them in the
slot of the declared keys. The claim script reads ``fz`` and ``r:<session>`` before any replay
key, so a freeze or a revocation recorded before the claim runs refuses it, on every replica,
with nothing written.

Durability is the server's: run Redis with ``appendonly yes`` and ``appendfsync always`` if a claim
(or a revocation) must survive a Redis crash, not only a proxy restart (the proxy-crash case is
tested).
redis-py errors become :class:`policy.errors.StoreUnavailableError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import replace
from typing import Any, TypeVar, cast

import redis.asyncio as aioredis
import structlog
from redis.exceptions import RedisError

from policy.errors import RecordError, StoreUnavailableError
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
from policy.revocation import (
    BINDING_RETENTION_S,
    MAX_EVENTS,
    REVOCATION_MARGIN_S,
    UNBOUND_SESSION_TTL_S,
    EventKind,
    Freeze,
    Frozen,
    Revocation,
    Revoked,
    SessionBinding,
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

# KEYS: claim hash, budget zset, budget total, freeze, revocation, replay keys...
# ARGV: claim id, now ms, topic, rid, payload hash, session, micro, cap micro, budget ttl ms,
#       prefix, check revocation ('1' / ''), key ttl ms...
_CLAIM = (
    _TRIM
    + """
local fz = redis.call('GET', KEYS[4])
if fz then return {'frozen', fz} end
if ARGV[11] == '1' then
  local rv = redis.call('GET', KEYS[5])
  if rv then return {'revoked', rv} end
end
local now = tonumber(ARGV[2])
local n = #KEYS - 5
local held = {}
for i = 1, n do
  local v = redis.call('GET', KEYS[5 + i])
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
  local t = tonumber(ARGV[11 + i])
  if t > cttl then cttl = t end
end
local member = ''
if ARGV[7] ~= '' then member = ARGV[1] .. ':' .. ARGV[7] end
redis.call('HSET', KEYS[1], 'topic', ARGV[3], 'rid', ARGV[4], 'ph', ARGV[5], 'sess', ARGV[6],
  'at', ARGV[2], 'exp', now + cttl, 'state', 'in_flight', 'member', member,
  'keys', table.concat(KEYS, '\\n', 6))
redis.call('PEXPIRE', KEYS[1], cttl)
for i = 1, n do
  local t = tonumber(ARGV[11 + i])
  redis.call('SET', KEYS[5 + i], ARGV[1] .. '|' .. (now + t), 'PX', t)
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

# Shared Lua: append an event to the log (seq-scored, last ARGV-given many kept) and publish it.
_LOG = """
local function log_event(evkey, seqkey, body, channel, maxn)
  local seq = redis.call('INCR', seqkey)
  local msg = '{"seq":' .. seq .. ',' .. body .. '}'
  redis.call('ZADD', evkey, seq, msg)
  redis.call('ZREMRANGEBYSCORE', evkey, '-inf', seq - maxn)
  redis.call('PUBLISH', channel, msg)
end
"""

# KEYS: ri, ev, evseq, si. ARGV: prefix, revocation JSON, at ms, unbound keep ms, margin ms,
#   retention ms, channel, max events, session ('' = all bound sessions), dapp filter ('' = any),
#   at (seconds, exact text)
_REVOKE = (
    _LOG
    + """
local at = tonumber(ARGV[3])
local function revoke_one(sess)
  local rkey = ARGV[1] .. 'r:' .. sess
  if redis.call('EXISTS', rkey) == 1 then return false end
  local skey = ARGV[1] .. 's:' .. sess
  local b = redis.call('HMGET', skey, 'expms', 'ended')
  local keep = at + tonumber(ARGV[4])
  if b[1] then keep = math.max(at, tonumber(b[1])) + tonumber(ARGV[5]) end
  redis.call('SET', rkey, ARGV[2], 'PX', math.max(1, keep - at))
  redis.call('ZADD', KEYS[1], keep, sess)
  if b[1] and b[2] == '' then
    local purge = math.max(tonumber(b[1]), at) + tonumber(ARGV[6])
    redis.call('HSET', skey, 'ended', ARGV[11], 'end', 'revoked')
    redis.call('ZADD', KEYS[4], purge, sess)
    if redis.call('PTTL', skey) < purge - at then redis.call('PEXPIRE', skey, purge - at) end
  end
  log_event(KEYS[2], KEYS[3], '"kind":"revoke","session":' .. cjson.encode(sess)
    .. ',"revocation":' .. ARGV[2], ARGV[7], tonumber(ARGV[8]))
  return true
end
local done = {}
if ARGV[9] ~= '' then
  if revoke_one(ARGV[9]) then table.insert(done, ARGV[9]) end
  return done
end
for _, sess in ipairs(redis.call('ZRANGE', KEYS[4], 0, -1)) do
  local b = redis.call('HMGET', ARGV[1] .. 's:' .. sess, 'expms', 'dapp')
  if b[1] and tonumber(b[1]) > at and (ARGV[10] == '' or b[2] == ARGV[10]) then
    if revoke_one(sess) then table.insert(done, sess) end
  end
end
return done
"""
)

# KEYS: fz, ev, evseq. ARGV: freeze JSON, channel, max events.
_FREEZE = (
    _LOG
    + """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
log_event(KEYS[2], KEYS[3], '"kind":"freeze","freeze":' .. ARGV[1], ARGV[2], tonumber(ARGV[3]))
return 1
"""
)

# KEYS: fz, ev, evseq. ARGV: "by" freeze JSON, channel, max events.
_UNFREEZE = (
    _LOG
    + """
local lifted = redis.call('GET', KEYS[1])
if not lifted then return false end
redis.call('DEL', KEYS[1])
log_event(KEYS[2], KEYS[3], '"kind":"unfreeze","freeze":' .. lifted .. ',"by":' .. ARGV[1],
  ARGV[2], tonumber(ARGV[3]))
return lifted
"""
)

# KEYS: s:<session>, si, r:<session>, ri. ARGV: binding JSON, expires ms, dapp, ended (text or ''),
#   end (or ''), purge ms, base ms (TTL origin), session, margin ms
_BIND = """
local base = tonumber(ARGV[7])
local purge = tonumber(ARGV[6])
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'json', ARGV[1], 'expms', ARGV[2], 'dapp', ARGV[3], 'ended', ARGV[4],
  'end', ARGV[5])
redis.call('PEXPIRE', KEYS[1], math.max(1, purge - base))
redis.call('ZADD', KEYS[2], purge, ARGV[8])
local keep = tonumber(ARGV[2]) + tonumber(ARGV[9])
local old = redis.call('ZSCORE', KEYS[4], ARGV[8])
if old and tonumber(old) < keep and redis.call('EXISTS', KEYS[3]) == 1 then
  redis.call('ZADD', KEYS[4], keep, ARGV[8])
  redis.call('PEXPIRE', KEYS[3], math.max(1, keep - base))
end
return 1
"""

# KEYS: s:<session>, si. ARGV: ended (text), end, at ms, retention ms, session.
_END = """
local b = redis.call('HMGET', KEYS[1], 'expms', 'ended')
if not b[1] or b[2] ~= '' then return 0 end
local at = tonumber(ARGV[3])
local purge = math.max(tonumber(b[1]), at) + tonumber(ARGV[4])
redis.call('HSET', KEYS[1], 'ended', ARGV[1], 'end', ARGV[2])
redis.call('ZADD', KEYS[2], purge, ARGV[5])
if redis.call('PTTL', KEYS[1]) < purge - at then redis.call('PEXPIRE', KEYS[1], purge - at) end
return 1
"""

# KEYS: index zset. ARGV: now ms, record key prefix. Drops records whose retention ended.
_PURGE_INDEX = """
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
for _, sess in ipairs(dead) do redis.call('DEL', ARGV[2] .. sess) end
if #dead > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1]) end
return #dead
"""

_WATCH_POLL_S = 1.0
_WATCH_RETRY_S = 0.2
_WATCH_CONFIRM_TRIES = 10


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
        self._revoke = client.register_script(_REVOKE)
        self._freeze = client.register_script(_FREEZE)
        self._unfreeze = client.register_script(_UNFREEZE)
        self._bind = client.register_script(_BIND)
        self._end = client.register_script(_END)
        self._purge_index = client.register_script(_PURGE_INDEX)
        #: the pub/sub channel carrying every revoke / freeze / unfreeze event
        self.channel = f"{prefix}events"
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
        session: str | None = None,
        decided: Callable[[ClaimOutcome], None] | None = None,
    ) -> ClaimOutcome:
        """Atomically check freeze and revocation, claim every key, charge the budget (one script)."""
        outcome = await self._claim_script(keys, owner, budget, now, session)
        if decided is not None:
            decided(outcome)
        return outcome

    async def _claim_script(
        self,
        keys: Sequence[ReplayKey],
        owner: RequestIdentity,
        budget: BudgetCharge | None,
        now: float,
        session: str | None,
    ) -> ClaimOutcome:
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
            "" if session is None else "1",
            *(k.ttl_s * 1000 for k in unique),
        ]
        redis_keys = [
            f"{self._prefix}c:{claim_id}",
            *self._budget_keys("" if budget is None else budget.envelope_id),
            f"{self._prefix}fz",
            f"{self._prefix}r:{'' if session is None else session}",
            *(f"{self._prefix}k:{k.storage_key}" for k in unique),
        ]
        reply = await self._call(self._claim, redis_keys, args)
        kind = reply[0]
        if kind == "frozen":
            return Frozen(_parse(Freeze, reply[1]))
        if kind == "revoked":
            assert session is not None
            return Revoked(_parse(Revocation, reply[1]).for_session(session))
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
        for index, kind in (("ri", "r:"), ("si", "s:")):
            removed += int(
                await self._call(
                    self._purge_index, [self._prefix + index], [_ms(now), self._prefix + kind]
                )
            )
        return removed

    async def size(self) -> int:
        """Replay keys + claims + budget charges currently in Redis."""
        total = 0
        for kind in ("k", "c"):
            total += len([key async for key in self._scan(kind)])
        try:
            for key in [key async for key in self._scan("b")]:
                total += int(await self._redis.zcard(key))
            for index in ("ri", "si"):
                total += int(await self._redis.zcard(self._prefix + index))
        except (RedisError, OSError) as exc:
            raise StoreUnavailableError(f"replay store (redis) failed: {exc}") from exc
        return total

    async def close(self) -> None:
        """Close the connection pool (idempotent)."""
        if not self._closed:
            self._closed = True
            await self._redis.aclose()

    # --- revocation, freeze, bindings, events -------------------------------------------------------

    def _event_keys(self) -> list[str]:
        return [f"{self._prefix}ev", f"{self._prefix}evseq"]

    async def _revoke_script(
        self, revocation: Revocation, session: str, dapp: str | None
    ) -> list[str]:
        record = replace(revocation, session=None) if revocation.session is None else revocation
        keys = [f"{self._prefix}ri", *self._event_keys(), f"{self._prefix}si"]
        args: list[object] = [
            self._prefix,
            json.dumps(record.to_dict()),
            _ms(revocation.at),
            (UNBOUND_SESSION_TTL_S + REVOCATION_MARGIN_S) * 1000,
            REVOCATION_MARGIN_S * 1000,
            BINDING_RETENTION_S * 1000,
            self.channel,
            MAX_EVENTS,
            session,
            dapp or "",
            repr(float(revocation.at)),
        ]
        return [str(s) for s in await self._call(self._revoke, keys, args)]

    async def revoke(self, revocation: Revocation) -> bool:
        """Record a revocation (first wins); ``session`` None revokes every bound session."""
        if revocation.session is None:
            return bool(await self.revoke_all(revocation))
        return bool(await self._revoke_script(revocation, revocation.session, None))

    async def revoke_all(self, revocation: Revocation, *, dapp: str | None = None) -> list[str]:
        """Revoke every bound, unexpired, not yet revoked session (of ``dapp`` when given)."""
        return await self._revoke_script(revocation, "", dapp)

    async def revocation(self, session: str) -> Revocation | None:
        """The revocation of ``session``, if any."""
        value = await self._get(f"{self._prefix}r:{session}")
        return None if value is None else _parse(Revocation, value).for_session(session)

    async def revocations(self) -> list[Revocation]:
        """Every kept revocation, oldest first."""
        try:
            sessions = [str(s) for s in await self._redis.zrange(f"{self._prefix}ri", 0, -1)]
            values = (
                await self._redis.mget([f"{self._prefix}r:{s}" for s in sessions])
                if sessions
                else []
            )
        except (RedisError, OSError) as exc:
            raise StoreUnavailableError(f"replay store (redis) failed: {exc}") from exc
        found = [
            _parse(Revocation, str(v)).for_session(s)
            for s, v in zip(sessions, values, strict=True)
            if v is not None
        ]
        return sorted(found, key=lambda r: (r.at, r.session or ""))

    async def freeze(self, freeze: Freeze) -> bool:
        """Freeze all signing (first freeze kept)."""
        args: list[object] = [json.dumps(freeze.to_dict()), self.channel, MAX_EVENTS]
        keys = [f"{self._prefix}fz", *self._event_keys()]
        return bool(await self._call(self._freeze, keys, args))

    async def unfreeze(self, actor: str, reason: str, at: float) -> Freeze | None:
        """Lift the freeze; returns the lifted one."""
        by = Freeze(actor, reason, at)
        args: list[object] = [json.dumps(by.to_dict()), self.channel, MAX_EVENTS]
        keys = [f"{self._prefix}fz", *self._event_keys()]
        lifted = await self._call(self._unfreeze, keys, args)
        return None if lifted is None else _parse(Freeze, lifted)

    async def frozen(self) -> Freeze | None:
        """The active freeze, if any."""
        value = await self._get(f"{self._prefix}fz")
        return None if value is None else _parse(Freeze, value)

    async def bind(self, binding: SessionBinding) -> None:
        """Record or replace a binding; a revoked session's revocation is kept at least as long."""
        keys = [
            f"{self._prefix}s:{binding.session}",
            f"{self._prefix}si",
            f"{self._prefix}r:{binding.session}",
            f"{self._prefix}ri",
        ]
        base = max(binding.approved_at, binding.ended_at or binding.approved_at)
        args: list[object] = [
            json.dumps(binding.to_dict()),
            binding.expires_at * 1000,
            binding.dapp,
            "" if binding.ended_at is None else repr(float(binding.ended_at)),
            binding.end or "",
            _ms(binding.purge_at),
            _ms(base),
            binding.session,
            REVOCATION_MARGIN_S * 1000,
        ]
        await self._call(self._bind, keys, args)

    async def binding(self, session: str) -> SessionBinding | None:
        """The binding of ``session``, if kept."""
        try:
            row: list[Any] = await self._redis.hmget(
                f"{self._prefix}s:{session}", ["json", "ended", "end"]
            )
        except (RedisError, OSError) as exc:
            raise StoreUnavailableError(f"replay store (redis) failed: {exc}") from exc
        return None if row[0] is None else _binding(row)

    async def bindings(self) -> list[SessionBinding]:
        """Every kept binding, by approval time."""
        try:
            sessions = [str(s) for s in await self._redis.zrange(f"{self._prefix}si", 0, -1)]
            pipe = self._redis.pipeline(transaction=False)
            for session in sessions:
                pipe.hmget(f"{self._prefix}s:{session}", ["json", "ended", "end"])
            rows: list[list[Any]] = await pipe.execute() if sessions else []
        except (RedisError, OSError) as exc:
            raise StoreUnavailableError(f"replay store (redis) failed: {exc}") from exc
        found = [_binding(row) for row in rows if row[0] is not None]
        return sorted(found, key=lambda b: (b.approved_at, b.session))

    async def end_binding(self, session: str, end: str, at: float) -> bool:
        """Mark a binding ended (first end kept)."""
        keys = [f"{self._prefix}s:{session}", f"{self._prefix}si"]
        args: list[object] = [
            repr(float(at)),
            end,
            _ms(at),
            BINDING_RETENTION_S * 1000,
            session,
        ]
        return bool(await self._call(self._end, keys, args))

    async def events_since(self, cursor: int | None) -> tuple[list[dict[str, Any]], int]:
        """Logged events after ``cursor`` and the new cursor (None: start at the head)."""
        try:
            if cursor is None:
                head = await self._redis.get(f"{self._prefix}evseq")
                return [], int(head or 0)
            raw = await self._redis.zrangebyscore(
                f"{self._prefix}ev", f"({cursor}", "+inf", start=0, num=MAX_EVENTS
            )
        except (RedisError, OSError) as exc:
            raise StoreUnavailableError(f"replay store (redis) failed: {exc}") from exc
        events = [_event(str(text)) for text in raw]
        return events, (events[-1]["seq"] if events else cursor)

    async def watch(self, *, cursor: int | None = None) -> AsyncIterator[dict[str, Any]]:
        """Yield events as any replica records them: pub/sub on :attr:`channel`, with the event
        log read after (re)subscribing so nothing between ``cursor`` and the subscription is lost.

        ``cursor`` None: events recorded after the subscription is confirmed. Reconnects on its
        own after a Redis fault (every claim checks the store anyway); cancel the task to stop.
        """
        while True:
            pubsub = self._redis.pubsub()
            try:
                await pubsub.subscribe(self.channel)
                for _ in range(_WATCH_CONFIRM_TRIES):  # until the server confirms it
                    msg = await pubsub.get_message(timeout=_WATCH_POLL_S)
                    if msg is not None and msg.get("type") == "subscribe":
                        break
                else:
                    raise StoreUnavailableError("replay store (redis): subscription not confirmed")
                missed, head = await self.events_since(cursor)
                for event in missed:
                    yield event
                cursor = head
                while True:
                    msg = await pubsub.get_message(
                        ignore_subscribe_messages=True, timeout=_WATCH_POLL_S
                    )
                    if msg is None or msg.get("type") != "message":
                        continue
                    event = _event(str(msg["data"]))
                    if event["seq"] <= cursor:
                        continue
                    if event["seq"] > cursor + 1:  # a gap: read the log instead
                        caught, cursor = await self.events_since(cursor)
                        for missed_event in caught:
                            yield missed_event
                        continue
                    cursor = event["seq"]
                    yield event
            except (RedisError, OSError, StoreUnavailableError) as exc:
                if self._closed:
                    raise StoreUnavailableError("replay store is closed") from exc
                log.warning("replay_store_watch_error", backend="redis", error=str(exc))
                await asyncio.sleep(_WATCH_RETRY_S)
            finally:
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def _get(self, key: str) -> str | None:
        if self._closed:
            raise StoreUnavailableError("replay store is closed")
        try:
            value = await self._redis.get(key)
        except (RedisError, OSError) as exc:
            raise StoreUnavailableError(f"replay store (redis) failed: {exc}") from exc
        return None if value is None else str(value)

    async def _scan(self, kind: str) -> Any:
        if self._closed:
            raise StoreUnavailableError("replay store is closed")
        pattern = _glob_escape(f"{self._prefix}{kind}:") + "*"
        try:
            async for key in self._redis.scan_iter(match=pattern, count=_SCAN_COUNT):
                yield cast(str, key)
        except (RedisError, OSError) as exc:
            raise StoreUnavailableError(f"replay store (redis) failed: {exc}") from exc


R = TypeVar("R", Revocation, Freeze, SessionBinding)


def _parse(kind: type[R], text: str) -> R:
    """A stored JSON record; a corrupt one makes the store unavailable (callers fail closed)."""
    try:
        return kind.from_dict(json.loads(text))
    except (ValueError, RecordError) as exc:
        log.warning("replay_store_error", backend="redis", error=f"corrupt {kind.__name__}")
        raise StoreUnavailableError(f"replay store (redis): corrupt {kind.__name__}") from exc


def _binding(row: list[Any]) -> SessionBinding:
    binding = _parse(SessionBinding, row[0])
    if row[1]:
        try:
            ended = float(row[1])
        except ValueError as exc:
            raise StoreUnavailableError("replay store (redis): corrupt binding end") from exc
        binding = replace(binding, ended_at=ended, end=row[2] or None)
    return binding


def _event(text: str) -> dict[str, Any]:
    """A logged / published event; a revoke event's session moves into its revocation."""
    try:
        event = json.loads(text)
        if not isinstance(event, dict) or not isinstance(event.get("seq"), int):
            raise ValueError("not an event")
    except ValueError as exc:
        raise StoreUnavailableError("replay store (redis): corrupt event") from exc
    if event.get("kind") == EventKind.REVOKE.value and "session" in event:
        session = event.pop("session")
        if isinstance(event.get("revocation"), dict):
            event["revocation"]["session"] = session
    return event


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
