"""Decision: the value a policy evaluation returns, allow or deny with every reason (pure, no I/O)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from policy.actions import Action
from policy.errors import DenyReason

__all__ = ["Decision", "action_to_dict"]

_ZERO = Decimal(0)
_MAX_MESSAGES_PER_REASON = 8
_MAX_MESSAGE_CHARS = 1000


@dataclass(frozen=True, slots=True)
class Decision:
    """Allow, or deny with every applicable reason.

    ``reasons`` is sorted by code and free of duplicates; ``messages[i]`` is the human explanation of
    ``reasons[i]`` (no secrets). ``usd_value`` is the action's spend exposure (None when it could not be
    valued or the request was not decoded). ``budget_charge_usd`` is what the caller charges to the
    envelope's budget atomically with its replay claim (zero on deny). ``envelope_id`` names the
    envelope judged against (for the audit log).
    """

    allowed: bool
    reasons: tuple[DenyReason, ...] = ()
    messages: tuple[str, ...] = ()
    usd_value: Decimal | None = None
    budget_charge_usd: Decimal = _ZERO
    action: Action | None = None
    envelope_id: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.allowed == bool(self.reasons):
            raise ValueError("a Decision is allowed exactly when it has no reasons")
        if len(self.messages) != len(self.reasons):
            raise ValueError("one message per reason")
        if not self.allowed and self.budget_charge_usd != 0:
            raise ValueError("a denial charges nothing")

    @classmethod
    def allow(
        cls,
        *,
        usd_value: Decimal | None,
        action: Action | None,
        envelope_id: str | None = None,
    ) -> Decision:
        """An allow; the budget charge is the action's USD value."""
        return cls(
            allowed=True,
            usd_value=usd_value,
            budget_charge_usd=usd_value if usd_value is not None else _ZERO,
            action=action,
            envelope_id=envelope_id,
        )

    @classmethod
    def deny(
        cls,
        findings: Mapping[DenyReason, Iterable[str]],
        *,
        usd_value: Decimal | None = None,
        action: Action | None = None,
        envelope_id: str | None = None,
    ) -> Decision:
        """A denial from ``{reason: [detail, ...]}`` (at least one reason); details are joined per reason."""
        if not findings:
            raise ValueError("a denial needs at least one reason")
        reasons = tuple(sorted(findings, key=lambda r: r.value))
        messages = tuple(_join(findings[r]) for r in reasons)
        return cls(
            allowed=False,
            reasons=reasons,
            messages=messages,
            usd_value=usd_value,
            action=action,
            envelope_id=envelope_id,
        )

    @property
    def denied(self) -> bool:
        """Not allowed."""
        return not self.allowed

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form for the CLI and the audit log (Decimals as strings)."""
        return {
            "allowed": self.allowed,
            "reasons": [r.value for r in self.reasons],
            "messages": list(self.messages),
            "usd_value": None if self.usd_value is None else str(self.usd_value),
            "budget_charge_usd": str(self.budget_charge_usd),
            "envelope_id": self.envelope_id,
            "action": None if self.action is None else action_to_dict(self.action),
        }

    def to_json(self) -> str:
        """:meth:`as_dict` as compact JSON with sorted keys."""
        return json.dumps(self.as_dict(), sort_keys=True, separators=(",", ":"))


def _join(details: Iterable[str]) -> str:
    unique = list(dict.fromkeys(details))
    text = "; ".join(unique[:_MAX_MESSAGES_PER_REASON])
    if len(unique) > _MAX_MESSAGES_PER_REASON:
        text += f"; (+{len(unique) - _MAX_MESSAGES_PER_REASON} more)"
    return text[:_MAX_MESSAGE_CHARS]


def action_to_dict(action: Action) -> dict[str, Any]:
    """A JSON-ready summary of an action (sets sorted, ints as decimal strings where they may be huge)."""
    return {
        "method": action.method,
        "action_class": action.action_class.value,
        "classes": sorted(c.value for c in action.classes),
        "payload_hash": action.payload_hash,
        "chain_ids": sorted(action.chain_ids),
        "chain_unbound": action.chain_unbound,
        "accounts": sorted(action.accounts),
        "destinations": sorted(action.destinations),
        "native_value": str(action.native_value),
        "token_amounts": [
            {
                "chain_id": t.chain_id,
                "token": t.token,
                "amount": str(t.amount),
                "token_id": None if t.token_id is None else str(t.token_id),
            }
            for t in action.token_amounts
        ],
        "approvals": [
            {
                "chain_id": a.chain_id,
                "token": a.token,
                "spender": a.spender,
                "amount": None if a.amount is None else str(a.amount),
                "all_tokens": a.all_tokens,
                "expires_at": a.expires_at,
            }
            for a in action.approvals
        ],
        "deadlines": list(action.deadlines),
        "calls": [
            {
                "chain_id": c.chain_id,
                "target": c.target,
                "value": str(c.value),
                "selector": c.selector,
                "function": c.function,
                "action_class": c.action_class.value,
                "delegatecall": c.delegatecall,
                "depth": c.depth,
            }
            for c in action.calls
        ],
        "non_delegable": list(action.non_delegable),
        "domain": action.domain,
        "typed_data": None if action.typed_data is None else list(action.typed_data),
        "expires_at": action.expires_at,
    }
