"""Protocols the proxy implements for the policy layer: the replay-nonce store and its atomic contract (pure).

Implementations: :class:`policy.memory.MemoryReplayStore` (reference, tests), and the I/O adapters in
``proxy.stores`` (SQLite embedded, Redis for replicas). All pass the same contract suite.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from policy.replay import (
    BudgetCharge,
    BudgetUsage,
    Claim,
    ClaimOutcome,
    ClaimRecord,
    ReplayKey,
    RequestIdentity,
)

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

    Contract every implementation keeps (the contract suite tests each point):

    * **Atomic, all or nothing.** ``claim`` checks every key and the budget and records them in one
      transaction: two concurrent claims sharing any key, in one process or across processes and
      replicas, never both win; concurrent charges never take the rolling spend over the cap.
    * **Durable before it returns.** A won claim survives a crash of the claiming process; its keys
      stay "in flight" until their TTL, so a crash between claim and complete never leads to a
      second signature (a retry gets ``Duplicate(in_flight=True)``, a new request ``Replay``).
    * **Duplicate vs replay.** When an existing key belongs to the *same request* (same topic,
      JSON-RPC id and payload hash, see :meth:`RequestIdentity.same_request`) the outcome is
      :class:`Duplicate` carrying the stored result (or ``in_flight``). Otherwise the first held key,
      in the order given, yields :class:`Replay` with its layer and first sighting. Replay is
      checked before the budget; refused and duplicate claims charge nothing.
    * **Expiry.** A key is live until ``claim time + key.ttl_s``; expired keys count as absent
      and ``purge`` deletes them, so the store stays bounded. A claim record lives as long as its
      longest key; a budget charge until ``claim time + period_s``.
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
    ) -> ClaimOutcome:
        """Atomically claim every key (and charge the budget) for ``owner``, or say why not."""
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
        """Delete expired keys, claims and charges; returns how many entries went."""
        ...

    async def size(self) -> int:
        """Entries stored (keys + claims + charges, expired-but-not-purged included)."""
        ...

    async def close(self) -> None:
        """Release connections / threads. Idempotent."""
        ...
