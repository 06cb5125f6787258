"""Protocols the proxy implements for the policy layer: the replay-nonce store and its atomic contract (pure).

Implementations: :class:`policy.memory.MemoryReplayStore` (reference, tests), and the I/O adapters in
``proxy.stores`` (SQLite embedded, Redis for replicas). All pass the same contract suite.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from policy.replay import (
    BudgetCharge,
    BudgetUsage,
    Claim,
    ClaimOutcome,
    ClaimRecord,
    ReplayKey,
    RequestIdentity,
)
from policy.revocation import Freeze, Revocation, SessionBinding

__all__ = ["ReplayStore"]


class ReplayStore(Protocol):
    """Exactly-once signing: claim every replay key and the budget, sign, then complete or abort.

    The pipeline, between ``PolicyEngine.decide()`` and the signer::

        outcome = await store.claim(keys, owner=owner, budget=charge, now=now)
        match outcome:
            case Claim():       sign, then ``complete(claim, response_json, now)``;
                                if the signer definitely did not sign: ``abort(claim, now)``
            case Duplicate():   in flight -> stay silent; else re-send ``stored_result``
            case Replay():      refuse, naming ``layer`` and ``first_seen``
            case BudgetExceeded(): refuse (USD cap)
            case Revoked():     refuse: the session is revoked (count a post-revocation attempt)
            case Frozen():      refuse: emergency stop in force

    Contract every implementation keeps (the contract suite tests each point):

    * **Atomic, all or nothing.** ``claim`` checks every key and the budget and records them in one
      transaction: two concurrent claims sharing any key, in one process or across processes and
      replicas, never both win; concurrent charges never take the rolling spend over the cap.
    * **Durable before it returns.** A won claim survives a crash of the claiming process; its keys
      stay "in flight" until their TTL, so a crash between claim and complete never leads to a
      second signature (a retry gets ``Duplicate(in_flight=True)``, a new request ``Replay``).
      ``decided`` may come earlier: a claim seen by later calls but then not made durable fails
      ``claim`` with :class:`policy.errors.StoreUnavailableError`, and so does every claim made
      after it on that handle (they are never durable without it).
    * **Duplicate vs replay.** When an existing key belongs to the *same request* (same topic,
      JSON-RPC id and payload hash, see :meth:`RequestIdentity.same_request`) the outcome is
      :class:`Duplicate` carrying the stored result (or ``in_flight``). Otherwise the first held key,
      in the order given, yields :class:`Replay` with its layer and first sighting. Replay is
      checked before the budget; refused and duplicate claims charge nothing.
    * **Expiry.** A key is live until ``claim time + key.ttl_s``; expired keys count as absent
      and ``purge`` deletes them, so the store stays bounded. A claim record lives as long as its
      longest key; a budget charge until ``claim time + period_s``.
    * **Revocation in the same step.** With ``session=`` (the session's topic), the claim is refused
      with :class:`policy.revocation.Revoked` when that session is revoked, in the same transaction /
      Lua script as the key check: a claim that starts after ``revoke()`` returned — on any handle,
      process or replica — is refused. An active freeze refuses *every* claim (with or without
      ``session``) with :class:`policy.revocation.Frozen`; the freeze is checked first, then the
      revocation, then the keys, so a refused claim holds and charges nothing.
    * **Revocations are durable.** The first revocation of a session wins and is kept; it survives
      restarts and is never purged before the session would have expired
      (:func:`policy.revocation.revocation_keep_until`). ``unfreeze`` lifts the freeze only:
      revoked sessions stay revoked. Session bindings are purged after
      :func:`policy.revocation.binding_purge_at`.
    * **Events.** ``revoke`` (each session), ``freeze`` and ``unfreeze`` append an event dict
      (``{"seq": int, "kind": "revoke" | "freeze" | "unfreeze", ...}``, see
      :func:`policy.revocation.revoke_event`) to a bounded log in the same transaction;
      ``events_since(cursor)`` reads it, so other handles / processes / replicas learn of a
      revocation without waiting for their next claim (``proxy.stores.watch`` polls it; Redis also
      publishes each event on a channel).
    * **Failures.** Backend faults raise :class:`policy.errors.StoreUnavailableError` (callers
      fail closed: an unavailable store denies). Nothing else escapes.
    """

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
        """Atomically claim every key (and charge the budget) for ``owner``, or say why not.

        ``session``: also refuse (``Revoked``) when this session is revoked — same atomic step.
        ``decided``: called once with the outcome, before ``claim`` returns, as soon as every later
        call on this store sees it (SQLite: at the commit, before the fsync). A caller that orders
        its claims may start deciding the next one then; it acts on this one (signs) only once
        ``claim`` has returned it. Not called when ``claim`` raises before deciding.
        """
        ...

    async def complete(self, claim: Claim, result: str, now: float) -> bool:
        """Store the JSON response of a signed claim; keys stay held until their TTL.

        Returns False when the claim is no longer in flight (completed before, aborted, or expired).
        """
        ...

    async def abort(self, claim: Claim, now: float) -> bool:
        """Release an in-flight claim whose signer definitely did not sign: delete its keys, refund.

        Never abort after an uncertain signer outcome (timeout after sending): leave it in flight.
        Returns False when the claim was not in flight.
        """
        ...

    async def lookup(self, topic: str, request_id: int, now: float) -> ClaimRecord | None:
        """The live claim holding the rpc-id key ``(topic, request_id)``, if any."""
        ...

    async def usage(self, envelope_id: str, now: float) -> BudgetUsage:
        """Live charges of an envelope (for the policy engine's EnvelopeUsage)."""
        ...

    async def purge(self, now: float) -> int:
        """Delete expired keys, claims and charges, and revocations / bindings past their retention;
        returns how many entries went."""
        ...

    async def size(self) -> int:
        """Entries stored (keys + claims + charges + revocations + bindings, expired-but-not-purged
        included; the bounded event log and the freeze flag are not counted)."""
        ...

    async def close(self) -> None:
        """Release connections / threads. Idempotent."""
        ...

    # --- revocation, freeze, session bindings -----------------------------------------------------

    async def revoke(self, revocation: Revocation) -> bool:
        """Record a revocation; False when the session was already revoked (the first one is kept).

        Ends the session's binding (``end="revoked"``, at ``revocation.at``) if it had not ended.
        ``revocation.session`` None revokes every bound session, as :meth:`revoke_all`.
        """
        ...

    async def revoke_all(self, revocation: Revocation, *, dapp: str | None = None) -> list[str]:
        """Atomically revoke every bound session not yet expired at ``revocation.at`` (only those
        of origin ``dapp`` when given) that is not revoked yet; returns those sessions (in no
        particular order). Each gets ``revocation.for_session(session)`` and its own event."""
        ...

    async def revocation(self, session: str) -> Revocation | None:
        """The revocation of ``session``, if any."""
        ...

    async def revocations(self) -> list[Revocation]:
        """Every kept revocation, oldest first."""
        ...

    async def freeze(self, freeze: Freeze) -> bool:
        """Freeze all signing; False when already frozen (the first freeze is kept)."""
        ...

    async def unfreeze(self, actor: str, reason: str, at: float) -> Freeze | None:
        """Lift the freeze; returns the lifted one (None when not frozen)."""
        ...

    async def frozen(self) -> Freeze | None:
        """The active freeze, if any."""
        ...

    async def bind(self, binding: SessionBinding) -> None:
        """Record (or replace) a session's binding; extends its revocation's retention if needed."""
        ...

    async def binding(self, session: str) -> SessionBinding | None:
        """The binding of ``session``, if kept."""
        ...

    async def bindings(self) -> list[SessionBinding]:
        """Every kept binding, by approval time."""
        ...

    async def end_binding(self, session: str, end: str, at: float) -> bool:
        """Mark a binding ended (``end``: expiry / revoked / disconnect ...); False when unknown or
        already ended (the first end is kept)."""
        ...

    async def events_since(self, cursor: int | None) -> tuple[list[dict[str, Any]], int]:
        """Events after ``cursor`` (oldest first, at most :data:`policy.revocation.MAX_EVENTS`)
        and the new cursor. ``None`` starts at the head: no events, just the current cursor."""
        ...
