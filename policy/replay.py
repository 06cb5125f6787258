"""Layered replay semantics: uniqueness keys, id freshness, claim outcomes and budget charges (pure).

A request is signed at most once. Before the signer runs, the proxy *claims* one uniqueness key per
replay layer in a :class:`policy.interfaces.ReplayStore`, atomically with the envelope's rolling USD
budget. This module derives those keys from a decoded request and defines the outcome values; the
stores (``policy.memory``, ``proxy.stores``) implement the atomic claim.

Layers and their keys (every key string is the tuple below, lowercased and ``|``-joined):

=====================  =========================================  =====================================
layer                  key                                        TTL (seconds from the claim)
=====================  =========================================  =====================================
relay_delivery         (topic, relay message hash)                id window + future skew
rpc_id                 (topic, JSON-RPC id)                       id window + future skew
payload                (account, method family, payload hash)     horizon
chain_nonce            (chain, from, nonce)                       horizon
permit_nonce           (chain, token, owner, nonce)               horizon
permit2_nonce          (chain, owner, token, spender, nonce)      horizon
permit2_bit            (chain, owner, word, bit)                  horizon
siwe_nonce             (domain, nonce)                            horizon
batch_id               (from, app, id)                            horizon
seaport_order          (chain, offerer, counter, order hash)      horizon
authorization_nonce    (chain, authority, nonce)                  horizon
=====================  =========================================  =====================================

*horizon* = the latest of: the envelope's expiry, every deadline / expiry found in the payload, the
request's own expiry, ``now + default_ttl_s``, and ``now + id window + skew`` — capped at
``now + max_ttl_s`` so the store never grows without bound. Transport layers only need to outlive the
id freshness window: an id older than the window is refused by :func:`check_request_id` anyway.

The method family puts ``eth_sendTransaction`` and ``eth_signTransaction`` (and the typed-data
versions) in one bucket: they produce the same signature over the same payload, so re-submitting a
payload under the sibling method is still a replay.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from enum import StrEnum
from typing import NamedTuple

from policy.actions import Action, NonceKind
from policy.request import SigningRequest
from policy.revocation import Frozen, Revoked

__all__ = [
    "MAX_KEY_CHARS",
    "MAX_USD",
    "BudgetCharge",
    "BudgetExceeded",
    "BudgetUsage",
    "Claim",
    "ClaimOutcome",
    "ClaimRecord",
    "Duplicate",
    "Frozen",
    "Replay",
    "ReplayKey",
    "ReplayLayer",
    "ReplayPolicy",
    "RequestIdentity",
    "Revoked",
    "Sighting",
    "check_request_id",
    "derive_keys",
    "method_family",
    "micro_to_usd",
    "new_claim_id",
    "request_id_time",
    "rpc_id_key",
    "unique_keys",
    "usd_to_micro",
]

#: A key string longer than this is stored as ``sha256:<hex>`` of itself (bounded storage).
MAX_KEY_CHARS = 256
#: Largest USD amount a budget accepts; micro-USD stays below 2**53 (exact in Redis' Lua doubles).
MAX_USD = Decimal(9_000_000_000)
_MICRO = Decimal(1_000_000)


class ReplayLayer(StrEnum):
    """One uniqueness layer; protocol-nonce layers share their values with :class:`NonceKind`."""

    RELAY_DELIVERY = "relay_delivery"
    RPC_ID = "rpc_id"
    PAYLOAD = "payload"
    CHAIN_NONCE = NonceKind.CHAIN.value
    PERMIT_NONCE = NonceKind.EIP2612.value
    PERMIT2_NONCE = NonceKind.PERMIT2_ORDERED.value
    PERMIT2_BIT = NonceKind.PERMIT2_UNORDERED.value
    SIWE_NONCE = NonceKind.SIWE.value
    BATCH_ID = NonceKind.BATCH_ID.value
    SEAPORT_ORDER = NonceKind.SEAPORT.value
    AUTHORIZATION_NONCE = NonceKind.AUTHORIZATION.value


_TRANSPORT_LAYERS = frozenset({ReplayLayer.RELAY_DELIVERY, ReplayLayer.RPC_ID})

_METHOD_FAMILY = {
    "eth_sendTransaction": "transaction",
    "eth_signTransaction": "transaction",
    "eth_signTypedData": "typed_data",
    "eth_signTypedData_v3": "typed_data",
    "eth_signTypedData_v4": "typed_data",
}


@dataclass(frozen=True, slots=True)
class ReplayPolicy:
    """Windows and TTL bounds for replay keys (operator configuration).

    ``id_window_s``: a JSON-RPC id whose embedded timestamp is older than this is refused (the SDK's
    request TTL is 900 s, so older requests cannot legitimately arrive). ``id_future_skew_s``: ids
    this far ahead of ``now`` are refused too. ``default_ttl_s``: how long payload and nonce keys live
    when nothing in the request says longer (7 days = a session's lifetime). ``max_ttl_s``: the cap.
    """

    id_window_s: int = 900
    id_future_skew_s: int = 60
    default_ttl_s: int = 7 * 86_400
    max_ttl_s: int = 90 * 86_400

    def __post_init__(self) -> None:
        if min(self.id_window_s, self.id_future_skew_s, self.default_ttl_s) <= 0:
            raise ValueError("replay windows and TTLs must be positive")
        if self.max_ttl_s < max(self.default_ttl_s, self.id_window_s + self.id_future_skew_s):
            raise ValueError("max_ttl_s must cover default_ttl_s and the id window")

    @property
    def transport_ttl_s(self) -> int:
        """TTL of relay-delivery and rpc-id keys: they only need to outlive id freshness."""
        return self.id_window_s + self.id_future_skew_s


@dataclass(frozen=True, slots=True)
class ReplayKey:
    """One uniqueness key: ``key`` is the canonical lowercase string of the layer's tuple."""

    layer: ReplayLayer
    key: str
    ttl_s: int

    @classmethod
    def of(cls, layer: ReplayLayer, parts: tuple[object, ...], ttl_s: int) -> ReplayKey:
        """Build a key from its tuple: components lowercased, ``%``/``|`` escaped, long keys hashed."""
        text = "|".join(
            str(p).strip().lower().replace("%", "%25").replace("|", "%7c") for p in parts
        )
        if len(text) > MAX_KEY_CHARS:
            text = "sha256:" + hashlib.sha256(text.encode()).hexdigest()
        return cls(layer, text, max(1, int(ttl_s)))

    @property
    def storage_key(self) -> str:
        """The layer-qualified key as backends persist it."""
        return f"{self.layer.value}|{self.key}"


@dataclass(frozen=True, slots=True)
class RequestIdentity:
    """Who claims: a request is the same request iff topic, JSON-RPC id and payload hash agree."""

    topic: str
    request_id: int | None
    payload_hash: str
    session: str | None = None

    def same_request(self, other: RequestIdentity) -> bool:
        """True for a duplicate delivery / retry of one request (never for requests without an id)."""
        return (
            self.request_id is not None
            and self.request_id == other.request_id
            and self.topic == other.topic
            and self.payload_hash.lower() == other.payload_hash.lower()
        )


@dataclass(frozen=True, slots=True)
class Sighting:
    """When and where a key was first claimed (for the audit log and metrics)."""

    at: float
    session: str | None
    request_id: int | None
    topic: str | None = None


@dataclass(frozen=True, slots=True)
class BudgetCharge:
    """A USD amount to charge to an envelope's rolling budget, atomically with the claim.

    A charge counts against ``envelope_id`` from the claim until ``claim time + period_s``; the claim
    is refused when the live charges plus ``usd`` would exceed ``cap_usd``. Charges are rounded up and
    the cap down to whole micro-USD, so rounding never lets a budget be overspent.
    """

    envelope_id: str
    usd: Decimal
    period_s: int
    cap_usd: Decimal

    def __post_init__(self) -> None:
        if not self.envelope_id or len(self.envelope_id) > MAX_KEY_CHARS:
            raise ValueError("envelope_id must be 1..256 characters")
        for amount in (self.usd, self.cap_usd):
            if not amount.is_finite() or amount < 0 or amount > MAX_USD:
                raise ValueError(f"USD amount out of range: {amount}")
        if self.period_s <= 0:
            raise ValueError("period_s must be positive")

    @property
    def micro_usd(self) -> int:
        """The charge in micro-USD, rounded up."""
        return usd_to_micro(self.usd, up=True)

    @property
    def cap_micro_usd(self) -> int:
        """The cap in micro-USD, rounded down."""
        return usd_to_micro(self.cap_usd, up=False)


class BudgetUsage(NamedTuple):
    """Live charges of one envelope: total USD and how many claims charged it."""

    spent_usd: Decimal
    calls: int


@dataclass(frozen=True, slots=True)
class Claim:
    """A won claim: every key is now "in flight" for this owner until complete() or abort()."""

    claim_id: str
    owner: RequestIdentity
    keys: tuple[ReplayKey, ...]
    at: float
    budget: BudgetCharge | None = None


@dataclass(frozen=True, slots=True)
class Replay:
    """Refused: a key of ``layer`` is already held by another request (or the id is not fresh)."""

    layer: ReplayLayer
    reason: str
    first_seen: Sighting | None = None


@dataclass(frozen=True, slots=True)
class Duplicate:
    """The same request again (same topic, id and payload): not an attack, never re-signed.

    ``in_flight`` True: another worker/replica holds the claim (or died holding it) — stay silent or
    answer "outcome unknown". Otherwise ``stored_result`` is the JSON response to re-send.
    """

    stored_result: str | None
    in_flight: bool
    first_seen: Sighting


@dataclass(frozen=True, slots=True)
class BudgetExceeded:
    """Refused: the charge would take the envelope's rolling spend over its cap."""

    envelope_id: str
    spent_usd: Decimal
    charge_usd: Decimal
    cap_usd: Decimal


#: ``Revoked`` / ``Frozen`` (defined in :mod:`policy.revocation`, re-exported here) come from claims
#: made with ``session=``: the revocation and freeze are checked in the same atomic step.
ClaimOutcome = Claim | Replay | Duplicate | BudgetExceeded | Revoked | Frozen


@dataclass(frozen=True, slots=True)
class ClaimRecord:
    """What a store remembers about one claimed request (``lookup`` result)."""

    owner: RequestIdentity
    at: float
    in_flight: bool
    result: str | None


def new_claim_id() -> str:
    """A fresh random claim id (unique across processes and replicas)."""
    return secrets.token_hex(16)


def usd_to_micro(usd: Decimal, *, up: bool) -> int:
    """USD as whole micro-USD, rounded up (charges) or down (caps)."""
    return int((usd * _MICRO).to_integral_value(rounding=ROUND_CEILING if up else ROUND_FLOOR))


def micro_to_usd(micro: int) -> Decimal:
    """Micro-USD back to a Decimal USD amount."""
    return Decimal(micro) / _MICRO


def rpc_id_key(topic: str, request_id: int) -> ReplayKey:
    """The rpc-id layer key for ``(topic, request_id)`` (what ``lookup`` reads; TTL irrelevant)."""
    return ReplayKey.of(ReplayLayer.RPC_ID, (topic, request_id), 1)


def unique_keys(keys: Iterable[ReplayKey]) -> tuple[ReplayKey, ...]:
    """Keys without repeats, first occurrence's position kept; a repeated key keeps its longest TTL."""
    unique: dict[tuple[ReplayLayer, str], ReplayKey] = {}
    for key in keys:
        seen = unique.get((key.layer, key.key))
        if seen is None or seen.ttl_s < key.ttl_s:
            unique[(key.layer, key.key)] = key
    return tuple(unique.values())


def method_family(method: str) -> str:
    """The signing family of a method: siblings that sign the same bytes share one."""
    return _METHOD_FAMILY.get(method, method.lower())


def request_id_time(request_id: int) -> float:
    """The Unix time (seconds) embedded in an SDK ``payloadId`` (``ms * 1000 + random``)."""
    return (request_id // 1000) / 1000


def check_request_id(request_id: object, *, now: float, policy: ReplayPolicy) -> Replay | None:
    """Id freshness: a refusal (layer ``rpc_id``) for a missing, malformed, stale or future id.

    The SDK's ids embed a millisecond timestamp (``id // 1000``). Refusing old ids is what lets the
    rpc-id layer forget ids after ``policy.transport_ttl_s``. A stale *duplicate* delivery also lands
    here: callers that want silence for it should ``lookup`` the id first.
    """
    if request_id is None:
        return Replay(ReplayLayer.RPC_ID, "id_missing")
    if isinstance(request_id, bool) or not isinstance(request_id, int) or request_id < 0:
        return Replay(ReplayLayer.RPC_ID, "id_invalid")
    issued = request_id_time(request_id)
    if issued < now - policy.id_window_s:
        return Replay(ReplayLayer.RPC_ID, "id_too_old")
    if issued > now + policy.id_future_skew_s:
        return Replay(ReplayLayer.RPC_ID, "id_in_future")
    return None


def _horizon_ttl(
    request: SigningRequest,
    action: Action,
    *,
    now: float,
    policy: ReplayPolicy,
    envelope_expires_at: int | None,
) -> int:
    ends = [now + policy.default_ttl_s, now + policy.transport_ttl_s]
    ends.extend(float(d) for d in action.deadlines)
    ends.extend(float(t) for t in (action.expires_at, request.expires_at, envelope_expires_at) if t)
    for approval in action.approvals:
        if approval.expires_at:
            ends.append(float(approval.expires_at))
    ttl = max(ends) - now
    return int(min(ttl, policy.max_ttl_s)) + 1


def derive_keys(
    request: SigningRequest,
    action: Action,
    *,
    topic: str,
    relay_message_hash: str | None,
    now: float,
    policy: ReplayPolicy,
    envelope_expires_at: int | None = None,
    allow_replacement: bool = False,
) -> tuple[ReplayKey, ...]:
    """Every uniqueness key a request must claim, transport layers first (see the module table).

    ``allow_replacement`` (from the envelope) drops the chain-nonce layer so a speed-up or cancel
    transaction may reuse a nonce; the payload layer still refuses the identical transaction.
    Keys are de-duplicated; the same key twice keeps the longer TTL.
    """
    transport = policy.transport_ttl_s
    horizon = _horizon_ttl(
        request, action, now=now, policy=policy, envelope_expires_at=envelope_expires_at
    )
    keys: list[ReplayKey] = []
    if relay_message_hash:
        keys.append(
            ReplayKey.of(ReplayLayer.RELAY_DELIVERY, (topic, relay_message_hash), transport)
        )
    if request.request_id is not None:
        keys.append(ReplayKey.of(ReplayLayer.RPC_ID, (topic, request.request_id), transport))
    account = request.account or ",".join(sorted(a.lower() for a in action.accounts)) or "-"
    keys.append(
        ReplayKey.of(
            ReplayLayer.PAYLOAD,
            (account, method_family(request.method), action.payload_hash),
            horizon,
        )
    )
    for nonce in action.nonces:
        layer = ReplayLayer(nonce.kind.value)
        if allow_replacement and layer is ReplayLayer.CHAIN_NONCE:
            continue
        keys.append(ReplayKey.of(layer, nonce.key, horizon))
    return unique_keys(keys)
