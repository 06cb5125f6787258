"""In-memory reference implementation of :class:`policy.interfaces.ReplayStore` (pure, no I/O).

Single process only (tests, ``memory:`` store URL). Every method runs to completion without an
``await`` inside, so on one event loop each call is atomic. ``now`` is always passed in.
Revocations, the freeze, session bindings and the event log live beside the replay keys;
``events_since`` is the pure way to follow events (``proxy.stores.watch`` polls it).
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

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
    MAX_EVENTS,
    Freeze,
    Frozen,
    Revocation,
    Revoked,
    SessionBinding,
    freeze_event,
    revocation_keep_until,
    revoke_event,
    unfreeze_event,
)

__all__ = ["MemoryReplayStore"]


@dataclass(slots=True)
class _ClaimRow:
    owner: RequestIdentity
    at: float
    expires_at: float
    storage_keys: tuple[str, ...]
    in_flight: bool = True
    result: str | None = None


@dataclass(slots=True)
class _Charge:
    envelope_id: str
    micro_usd: int
    expires_at: float
    counted: bool = True  # still in its envelope's running total


@dataclass(slots=True)
class _Ledger:
    """An envelope's live charges as a running total, expired ones leaving it in expiry order."""

    micro: int = 0
    calls: int = 0
    expiries: list[tuple[float, str]] = field(default_factory=list)  # heap of (expires_at, claim)
    swept_to: float = float("-inf")  # the latest ``now`` the total was brought up to


@dataclass(slots=True)
class MemoryReplayStore:
    """Dictionaries keyed like the SQLite tables: keys, claims, budget charges."""

    claim_ids: Callable[[], str] = new_claim_id
    _keys: dict[str, tuple[str, float]] = field(default_factory=dict)  # storage key -> (claim, exp)
    _claims: dict[str, _ClaimRow] = field(default_factory=dict)
    _charges: dict[str, _Charge] = field(default_factory=dict)  # claim id -> charge
    _by_envelope: dict[str, set[str]] = field(default_factory=dict)  # envelope -> claim ids
    _ledgers: dict[str, _Ledger] = field(default_factory=dict)  # envelope -> running total
    _revocations: dict[str, tuple[Revocation, float]] = field(default_factory=dict)  # -> keep until
    _freeze: Freeze | None = None
    _bindings: dict[str, SessionBinding] = field(default_factory=dict)
    _events: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=MAX_EVENTS))
    _seq: int = 0

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
        """Atomically check freeze and revocation, claim every key and charge the budget."""
        outcome = self._claim(keys, owner, budget, now, session)
        if decided is not None:
            decided(outcome)
        return outcome

    def _claim(
        self,
        keys: Sequence[ReplayKey],
        owner: RequestIdentity,
        budget: BudgetCharge | None,
        now: float,
        session: str | None,
    ) -> ClaimOutcome:
        if self._freeze is not None:
            return Frozen(self._freeze)
        if session is not None and session in self._revocations:
            return Revoked(self._revocations[session][0])
        keys = unique_keys(keys)
        held: list[tuple[ReplayKey, _ClaimRow]] = []
        for key in keys:
            entry = self._keys.get(key.storage_key)
            if entry is None or entry[1] <= now:
                continue
            row = self._claims.get(entry[0])
            if row is not None:
                held.append((key, row))
        for _key, row in held:
            if row.owner.same_request(owner):
                return Duplicate(row.result, row.in_flight, _sighting(row))
        if held:
            key, row = held[0]
            return Replay(key.layer, "already_claimed", _sighting(row))
        if budget is not None:
            spent = self._spent_micro(budget.envelope_id, now)[0]
            if spent + budget.micro_usd > budget.cap_micro_usd:
                return BudgetExceeded(
                    budget.envelope_id, micro_to_usd(spent), budget.usd, budget.cap_usd
                )
        claim_id = self.claim_ids()
        storage_keys = tuple(k.storage_key for k in keys)
        expires = max((now + k.ttl_s for k in keys), default=now + 1)
        self._claims[claim_id] = _ClaimRow(owner, now, expires, storage_keys)
        for key in keys:
            self._keys[key.storage_key] = (claim_id, now + key.ttl_s)
        if budget is not None:
            charge = _Charge(budget.envelope_id, budget.micro_usd, now + budget.period_s)
            self._charges[claim_id] = charge
            self._by_envelope.setdefault(budget.envelope_id, set()).add(claim_id)
            ledger = self._ledgers.setdefault(budget.envelope_id, _Ledger())
            ledger.micro += charge.micro_usd
            ledger.calls += 1
            heapq.heappush(ledger.expiries, (charge.expires_at, claim_id))
        return Claim(claim_id, owner, tuple(keys), now, budget)

    async def complete(self, claim: Claim, result: str, now: float) -> bool:
        """Store the response of a signed, still in-flight claim."""
        row = self._live_claim(claim.claim_id, now)
        if row is None or not row.in_flight:
            return False
        row.in_flight = False
        row.result = result
        return True

    async def abort(self, claim: Claim, now: float) -> bool:
        """Release an in-flight claim: delete its keys and refund its charge."""
        row = self._live_claim(claim.claim_id, now)
        if row is None or not row.in_flight:
            return False
        for storage_key in row.storage_keys:
            entry = self._keys.get(storage_key)
            if entry is not None and entry[0] == claim.claim_id:
                del self._keys[storage_key]
        del self._claims[claim.claim_id]
        self._drop_charge(claim.claim_id)
        return True

    async def lookup(self, topic: str, request_id: int, now: float) -> ClaimRecord | None:
        """The live claim holding the rpc-id key (topic, request_id)."""
        entry = self._keys.get(rpc_id_key(topic, request_id).storage_key)
        if entry is None or entry[1] <= now:
            return None
        row = self._live_claim(entry[0], now)
        if row is None:
            return None
        return ClaimRecord(row.owner, row.at, row.in_flight, row.result)

    async def usage(self, envelope_id: str, now: float) -> BudgetUsage:
        """Live charges of an envelope."""
        spent, calls = self._spent_micro(envelope_id, now)
        return BudgetUsage(micro_to_usd(spent), calls)

    async def purge(self, now: float) -> int:
        """Delete expired keys, claims and charges; revocations and bindings past retention."""
        dead_keys = [k for k, (_c, exp) in self._keys.items() if exp <= now]
        dead_claims = [c for c, row in self._claims.items() if row.expires_at <= now]
        dead_charges = [c for c, ch in self._charges.items() if ch.expires_at <= now]
        for k in dead_keys:
            del self._keys[k]
        for c in dead_claims:
            del self._claims[c]
        for c in dead_charges:
            self._drop_charge(c)
        dead_revocations = [s for s, (_r, keep) in self._revocations.items() if keep <= now]
        dead_bindings = [s for s, b in self._bindings.items() if b.purge_at <= now]
        for s in dead_revocations:
            del self._revocations[s]
        for s in dead_bindings:
            del self._bindings[s]
        return (
            len(dead_keys)
            + len(dead_claims)
            + len(dead_charges)
            + len(dead_revocations)
            + len(dead_bindings)
        )

    async def size(self) -> int:
        """Entries stored, expired-but-not-purged included."""
        return (
            len(self._keys)
            + len(self._claims)
            + len(self._charges)
            + len(self._revocations)
            + len(self._bindings)
        )

    async def close(self) -> None:
        """Nothing to release."""

    # --- revocation, freeze, bindings, events -------------------------------------------------------

    async def revoke(self, revocation: Revocation) -> bool:
        """Record a revocation (first wins); ``session`` None revokes every bound session."""
        if revocation.session is None:
            return bool(await self.revoke_all(revocation))
        return self._revoke(revocation.session, revocation)

    async def revoke_all(self, revocation: Revocation, *, dapp: str | None = None) -> list[str]:
        """Revoke every bound, unexpired, not yet revoked session (of ``dapp`` when given)."""
        targets = [
            b.session
            for b in sorted(self._bindings.values(), key=lambda b: (b.approved_at, b.session))
            if b.expires_at > revocation.at and (dapp is None or b.dapp == dapp)
        ]
        return [s for s in targets if self._revoke(s, revocation)]

    async def revocation(self, session: str) -> Revocation | None:
        """The revocation of ``session``, if any."""
        entry = self._revocations.get(session)
        return None if entry is None else entry[0]

    async def revocations(self) -> list[Revocation]:
        """Every kept revocation, oldest first."""
        return sorted((r for r, _keep in self._revocations.values()), key=_revocation_order)

    async def freeze(self, freeze: Freeze) -> bool:
        """Freeze all signing (first freeze kept)."""
        if self._freeze is not None:
            return False
        self._freeze = freeze
        self._log(freeze_event(freeze))
        return True

    async def unfreeze(self, actor: str, reason: str, at: float) -> Freeze | None:
        """Lift the freeze; returns the lifted one."""
        lifted, self._freeze = self._freeze, None
        if lifted is not None:
            self._log(unfreeze_event(lifted, Freeze(actor, reason, at)))
        return lifted

    async def frozen(self) -> Freeze | None:
        """The active freeze, if any."""
        return self._freeze

    async def bind(self, binding: SessionBinding) -> None:
        """Record or replace a binding; a revoked session's revocation is kept at least as long."""
        self._bindings[binding.session] = binding
        entry = self._revocations.get(binding.session)
        if entry is not None:
            keep = revocation_keep_until(entry[0].at, binding.expires_at)
            self._revocations[binding.session] = (entry[0], max(entry[1], keep))

    async def binding(self, session: str) -> SessionBinding | None:
        """The binding of ``session``, if kept."""
        return self._bindings.get(session)

    async def bindings(self) -> list[SessionBinding]:
        """Every kept binding, by approval time."""
        return sorted(self._bindings.values(), key=lambda b: (b.approved_at, b.session))

    async def end_binding(self, session: str, end: str, at: float) -> bool:
        """Mark a binding ended (first end kept)."""
        return self._end(session, end, at)

    async def events_since(self, cursor: int | None) -> tuple[list[dict[str, Any]], int]:
        """Logged events after ``cursor`` and the new cursor (None: start at the head)."""
        if cursor is None:
            return [], self._seq
        events = [dict(e) for e in self._events if e["seq"] > cursor]
        return events, max(cursor, self._seq) if not events else events[-1]["seq"]

    def _revoke(self, session: str, revocation: Revocation) -> bool:
        if session in self._revocations:
            return False
        record = revocation.for_session(session)
        binding = self._bindings.get(session)
        keep = revocation_keep_until(record.at, None if binding is None else binding.expires_at)
        self._revocations[session] = (record, keep)
        self._end(session, "revoked", record.at)
        self._log(revoke_event(record))
        return True

    def _end(self, session: str, end: str, at: float) -> bool:
        binding = self._bindings.get(session)
        if binding is None or binding.ended_at is not None:
            return False
        self._bindings[session] = replace(binding, ended_at=at, end=end)
        return True

    def _log(self, event: dict[str, Any]) -> None:
        self._seq += 1
        self._events.append({"seq": self._seq, **event})

    def _live_claim(self, claim_id: str, now: float) -> _ClaimRow | None:
        row = self._claims.get(claim_id)
        return row if row is not None and row.expires_at > now else None

    def _drop_charge(self, claim_id: str) -> None:
        charge = self._charges.pop(claim_id, None)
        if charge is None:
            return
        ids = self._by_envelope[charge.envelope_id]
        ids.discard(claim_id)
        ledger = self._ledgers[charge.envelope_id]
        if charge.counted:
            charge.counted = False
            ledger.micro -= charge.micro_usd
            ledger.calls -= 1
        if not ids:
            del self._by_envelope[charge.envelope_id]
            del self._ledgers[charge.envelope_id]

    def _spent_micro(self, envelope_id: str, now: float) -> tuple[int, int]:
        """Live charges (micro-USD, count): amortised O(log n) per charge as time moves forward."""
        ledger = self._ledgers.get(envelope_id)
        if ledger is None:
            return 0, 0
        if now < ledger.swept_to:  # asked about an earlier moment: count from scratch
            charges = (self._charges[c] for c in self._by_envelope.get(envelope_id, ()))
            live = [c.micro_usd for c in charges if c.expires_at > now]
            return sum(live), len(live)
        ledger.swept_to = now
        while ledger.expiries and ledger.expiries[0][0] <= now:
            _expires, claim_id = heapq.heappop(ledger.expiries)
            charge = self._charges.get(claim_id)
            if charge is not None and charge.counted:
                charge.counted = False
                ledger.micro -= charge.micro_usd
                ledger.calls -= 1
        return ledger.micro, ledger.calls


def _revocation_order(revocation: Revocation) -> tuple[float, str]:
    return revocation.at, revocation.session or ""


def _sighting(row: _ClaimRow) -> Sighting:
    return Sighting(row.at, row.owner.session, row.owner.request_id, row.owner.topic)
