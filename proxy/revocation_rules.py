"""The policy revocation path: evaluates ``[[revocation.rules]]`` over request outcomes (pure, no I/O).

The daemon feeds :meth:`RuleEvaluator.observe` one :class:`RequestFacts` per request outcome (time
comes in as ``facts.at``); it returns the rules that fire. A rule fires when its trigger matched
``threshold`` times within ``window_s`` for one session (``threshold`` 1: on every match). After
firing, the rule's count for that session starts again, so an ``alert`` rule fires once per
``threshold`` matches, not on every request after. State is per session, bounded
(:data:`MAX_TRACKED_SESSIONS`, at most ``threshold`` timestamps per rule) and dropped with
:meth:`RuleEvaluator.forget` when the session ends. Counts are per daemon (replicas count apart).

Triggers (the names ``proxy.config.RevocationTrigger`` accepts):

* ``replay``: the replay store or the id-freshness check refused the request (any layer);
* ``non_delegable``: the policy denied it as ``non_delegable``;
* ``context_mismatch``: chain / account / origin disagreement (``context_mismatch``, ``chain_mismatch``);
* ``denials``: any refusal by policy, replay or as malformed (not faults, expiry, freeze or revocation);
* ``budget_exhausted``: the budget (USD cap or call count) ran out;
* ``expired_envelope``: a request on a session whose envelope has expired.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal

from proxy.config import RevocationRule

__all__ = ["MAX_TRACKED_SESSIONS", "RequestFacts", "RuleEvaluator", "RuleFiring", "matches"]

#: Sessions whose counters are kept at once; the least recently seen is dropped beyond this.
MAX_TRACKED_SESSIONS = 10_000

_DENIAL_KINDS = frozenset({"policy", "replay", "malformed"})
_CONTEXT_REASONS = frozenset({"context_mismatch", "chain_mismatch"})
_BUDGET_REASONS = frozenset({"budget_exhausted", "max_calls_exceeded"})


@dataclass(frozen=True, slots=True)
class RequestFacts:
    """What one request outcome says, for the rules.

    ``kind`` is the refusal kind (``policy``, ``replay``, ``malformed``, ``unavailable``,
    ``expired``, ``revoked``, ``frozen``...), ``"allow"`` for a signed one, ``"duplicate"`` for a
    silent duplicate. ``reasons`` are the reason codes; ``replay_layer`` the replay layer hit.
    """

    session: str
    at: float
    kind: str
    reasons: tuple[str, ...] = ()
    replay_layer: str | None = None


@dataclass(frozen=True, slots=True)
class RuleFiring:
    """A rule that fired for a session: what to do and the evidence (``count`` matches since ``first_at``)."""

    rule: str
    trigger: str
    action: Literal["revoke", "alert"]
    session: str
    at: float
    count: int
    first_at: float
    reasons: tuple[str, ...] = field(default=())


_TRIGGERS: dict[str, Callable[[RequestFacts], bool]] = {
    "replay": lambda f: f.replay_layer is not None or "replay_detected" in f.reasons,
    "non_delegable": lambda f: "non_delegable" in f.reasons,
    "context_mismatch": lambda f: not _CONTEXT_REASONS.isdisjoint(f.reasons),
    "denials": lambda f: f.kind in _DENIAL_KINDS,
    "budget_exhausted": lambda f: not _BUDGET_REASONS.isdisjoint(f.reasons),
    "expired_envelope": lambda f: "expired" in f.reasons,
}


def matches(trigger: str, facts: RequestFacts) -> bool:
    """Whether ``facts`` is one occurrence of ``trigger`` (unknown triggers never match)."""
    test = _TRIGGERS.get(trigger)
    return test is not None and test(facts)


class RuleEvaluator:
    """Counts trigger matches per session and rule; ``observe`` returns the rules that fire."""

    def __init__(self, rules: Iterable[RevocationRule]) -> None:
        self.rules = tuple(rules)
        unknown = sorted({r.trigger for r in self.rules} - set(_TRIGGERS))
        if unknown:
            raise ValueError(f"unknown revocation trigger(s): {', '.join(unknown)}")
        self._seen: OrderedDict[str, dict[str, deque[float]]] = OrderedDict()

    def observe(self, facts: RequestFacts) -> list[RuleFiring]:
        """Account for one outcome; revoke-action firings come first."""
        if facts.kind in ("revoked", "frozen", "duplicate") or not self.rules:
            return []  # the session is already stopped, or nothing new happened
        fired: list[RuleFiring] = []
        for rule in self.rules:
            if not matches(rule.trigger, facts):
                continue
            times = self._times(facts.session, rule)
            times.append(facts.at)
            if rule.window_s is not None:
                while times and times[0] < facts.at - rule.window_s:
                    times.popleft()
            if len(times) >= rule.threshold:
                fired.append(
                    RuleFiring(
                        rule=rule.name,
                        trigger=rule.trigger,
                        action=rule.action,
                        session=facts.session,
                        at=facts.at,
                        count=len(times),
                        first_at=times[0],
                        reasons=facts.reasons,
                    )
                )
                times.clear()
        fired.sort(key=lambda f: f.action != "revoke")
        return fired

    def forget(self, session: str) -> None:
        """Drop a session's counters (it ended)."""
        self._seen.pop(session, None)

    def tracked(self) -> int:
        """Sessions with counters."""
        return len(self._seen)

    def _times(self, session: str, rule: RevocationRule) -> deque[float]:
        per_rule = self._seen.get(session)
        if per_rule is None:
            per_rule = self._seen[session] = {}
            while len(self._seen) > MAX_TRACKED_SESSIONS:
                self._seen.popitem(last=False)
        else:
            self._seen.move_to_end(session)
        times = per_rule.get(rule.name)
        if times is None:
            times = per_rule[rule.name] = deque(maxlen=rule.threshold)
        return times
