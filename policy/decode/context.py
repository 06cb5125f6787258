"""The mutable accumulator used while decoding one request, and the class-severity order (pure, no I/O).

Decoders append facts to a :class:`Collector`; :meth:`Collector.finish` freezes them into an
:class:`policy.actions.Action`. :class:`Ctx` carries per-request settings plus the call budget.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from policy.actions import (
    NON_DELEGABLE_CLASSES,
    Action,
    ActionClass,
    Approval,
    Call,
    ProtocolNonce,
    TokenAmount,
)
from policy.decode.limits import DecodeLimits
from policy.errors import DecodeError
from policy.tokens import TokenLookup

__all__ = ["SEVERITY", "CallSite", "Collector", "Ctx", "most_sensitive"]

#: Most sensitive first. ``Action.action_class`` is the first of these present in ``classes``.
SEVERITY: tuple[ActionClass, ...] = (
    ActionClass.AUTHORITY_SET_CODE,
    ActionClass.ADMIN_UPGRADE,
    ActionClass.ADMIN_AUTHORITY,
    ActionClass.ADMIN_TREASURY,
    ActionClass.ADMIN_CONTROL,
    ActionClass.AUTHORITY_GRANT,
    ActionClass.RAW_SIGN,
    ActionClass.NFT_APPROVE_ALL,
    ActionClass.CHAIN_ADD,
    ActionClass.CHAIN_SWITCH,
    ActionClass.CONTRACT_DEPLOY,
    ActionClass.CONTRACT_CALL,
    ActionClass.ERC20_APPROVE,
    ActionClass.PERMIT_SIGN,
    ActionClass.NFT_APPROVE,
    ActionClass.ORDER_SIGN,
    ActionClass.SWAP_EXECUTE,
    ActionClass.ERC20_TRANSFER,
    ActionClass.NFT_TRANSFER,
    ActionClass.NATIVE_TRANSFER,
    ActionClass.TYPED_DATA_SIGN,
    ActionClass.SIWE_LOGIN,
    ActionClass.MESSAGE_SIGN,
    ActionClass.PERMISSION_REVOKE,
)
_RANK = {c: i for i, c in enumerate(SEVERITY)}


def most_sensitive(classes: Iterable[ActionClass]) -> ActionClass:
    """The most sensitive class of a non-empty collection (see :data:`SEVERITY`)."""
    return min(classes, key=_RANK.__getitem__)


@dataclass(frozen=True, slots=True)
class CallSite:
    """One contract interaction to decode.

    ``sender`` is the account whose authority the call runs with (``msg.sender`` for a plain call,
    the smart account for a wrapper's child), when known. ``path`` names the call for reasons,
    e.g. ``"tx"``, ``"calls[1]"``, ``"tx>multicall[0]"``.
    """

    chain_id: int
    target: str | None
    value: int
    data: bytes
    sender: str | None
    depth: int
    path: str
    delegatecall: bool = False


@dataclass(slots=True)
class Collector:
    """Facts gathered while decoding; ``finish`` builds the frozen Action."""

    classes: set[ActionClass] = field(default_factory=set)
    chain_ids: set[int] = field(default_factory=set)
    chain_unbound: bool = False
    accounts: set[str] = field(default_factory=set)
    destinations: set[str] = field(default_factory=set)
    native_value: int = 0
    token_amounts: list[TokenAmount] = field(default_factory=list)
    inflows: list[TokenAmount] = field(default_factory=list)
    approvals: list[Approval] = field(default_factory=list)
    deadlines: list[int] = field(default_factory=list)
    nonces: list[ProtocolNonce] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    non_delegable: list[str] = field(default_factory=list)
    details: list[tuple[str, str]] = field(default_factory=list)
    domain: str | None = None
    typed_data: tuple[str, str] | None = None
    expires_at: int | None = None

    def add_class(self, cls: ActionClass, reason: str | None = None) -> None:
        """Record a class; a non-delegable class must come with a reason (one is made up if not)."""
        self.classes.add(cls)
        if cls in NON_DELEGABLE_CLASSES:
            self.non_delegable.append(reason or f"{cls.value}")

    def never(self, cls: ActionClass, reason: str) -> None:
        """Record a non-delegable fact (the class need not be in NON_DELEGABLE_CLASSES)."""
        self.classes.add(cls)
        self.non_delegable.append(reason)

    def detail(self, key: str, value: object) -> None:
        """Append one display/audit fact."""
        self.details.append((key, str(value)))

    def finish(self, method: str, payload_hash: str) -> Action:
        """Freeze into an Action (the most sensitive class first)."""
        if not self.classes:
            raise DecodeError("undecodable", f"{method}: nothing was decoded")
        return Action(
            method=method,
            action_class=most_sensitive(self.classes),
            classes=frozenset(self.classes),
            payload_hash=payload_hash,
            chain_ids=frozenset(self.chain_ids),
            chain_unbound=self.chain_unbound,
            accounts=frozenset(self.accounts),
            destinations=frozenset(self.destinations),
            native_value=self.native_value,
            token_amounts=tuple(self.token_amounts),
            approvals=tuple(self.approvals),
            deadlines=tuple(self.deadlines),
            nonces=tuple(dict.fromkeys(self.nonces)),
            calls=tuple(self.calls),
            non_delegable=tuple(dict.fromkeys(self.non_delegable)),
            domain=self.domain,
            typed_data=self.typed_data,
            expires_at=self.expires_at,
            details=tuple(self.details),
            inflows=tuple(self.inflows),
        )


@dataclass(slots=True)
class Ctx:
    """Per-request decoding state: settings, the collector, and the call budget."""

    tokens: TokenLookup | None
    limits: DecodeLimits
    out: Collector
    origin: str | None = None
    calls_seen: int = 0
    recurse: Callable[[Ctx, CallSite], frozenset[ActionClass]] | None = None

    def budget_call(self, site: CallSite) -> None:
        """Charge one call against ``max_calls`` and check ``max_depth``."""
        if site.depth > self.limits.max_depth:
            raise DecodeError(
                "depth_exceeded", f"{site.path}: nesting deeper than {self.limits.max_depth}"
            )
        self.calls_seen += 1
        if self.calls_seen > self.limits.max_calls:
            raise DecodeError(
                "too_large", f"more than {self.limits.max_calls} calls in one request"
            )

    def decode_child(self, site: CallSite) -> frozenset[ActionClass]:
        """Decode a nested call with the same rules (set up by ``calldata.new_ctx``)."""
        if self.recurse is None:  # pragma: no cover - construction bug
            raise DecodeError("undecodable", "no call decoder configured")
        return self.recurse(self, site)
