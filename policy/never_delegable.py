"""The never-delegable check: actions no envelope may grant, found before any allow rule (pure, no I/O).

Sources, all collected (a denial names every one): the decoder's own flags (``Action.non_delegable``,
e.g. an upgrade or ownership selector inside a wrapper), any class in
:data:`policy.actions.NON_DELEGABLE_CLASSES` on the action or on any decoded call (upgrades, authority,
Safe owner/module/guard changes, EIP-7702 authorizations, eth_sign, authority grants, chain switch/add,
setApprovalForAll), and unbounded approvals (``Approval.amount is None`` or ``all_tokens``).
"""

from __future__ import annotations

from policy.actions import NON_DELEGABLE_CLASSES, Action

__all__ = ["never_delegable_findings"]


def never_delegable_findings(action: Action) -> tuple[str, ...]:
    """Human reasons why ``action`` can never be delegated; empty when there are none."""
    classes = (action.classes | {action.action_class}) & NON_DELEGABLE_CLASSES
    if not (action.non_delegable or classes or action.approvals or action.calls):
        return ()
    found: list[str] = list(action.non_delegable)
    for cls in sorted(classes):
        found.append(f"action class {cls.value} is never delegable")
    for i, call in enumerate(action.calls):
        if call.action_class in NON_DELEGABLE_CLASSES and call.action_class not in classes:
            found.append(
                f"call {i} ({call.function or call.selector}) is {call.action_class.value}"
            )
    for a in action.approvals:
        if a.all_tokens:
            found.append(f"approval of a whole collection {a.token} to {a.spender}")
        elif a.amount is None:
            found.append(f"unlimited approval of {a.token} to {a.spender}")
    return tuple(dict.fromkeys(found))
