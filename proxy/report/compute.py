"""Delegation-health figures computed from audit records: the weekly report's numbers (pure, no I/O).

Feed records (parsed audit-log lines, see :mod:`proxy.audit.record`) to a :class:`ReportBuilder` in log
order, then call :meth:`ReportBuilder.finish`; :func:`compute` does both for an iterable. Time comes in
as ``since`` / ``now`` (unix seconds); a record's time is its ``time`` field. Records after ``now`` are
ignored; records before ``since`` only feed session tracking (a session approved before the window can
still be alive at ``now``).

Definitions (the JSON document's contract, see :meth:`Report.document`):

* *delegated execution*: a ``request`` record whose ``details.delegated`` is true.
* *denied by policy*: a delegated execution with decision ``deny`` and at least one reason in
  :data:`POLICY_DENY_REASONS` (malformed input and infrastructure failures are not policy denials).
  ``denial_rate = policy_denied / delegated`` (``null`` when there is no delegated execution).
* *boundary hit*: one (action class, policy reason) pair of a denied request (a request denied for two
  policy reasons hits two boundaries), like ``wcproxy_boundary_hits_total`` but policy reasons only.
  ``overall.boundary_hits`` lists every pair; each week's and dApp's list only the top ``top``.
* *post-revocation attempt*: a request with ``details.post_revocation`` true or reason ``session_revoked``.
* *context mismatch*: a request whose ``details.context_mismatch`` lists kinds (chain, account, origin);
  ``rate`` = mismatching requests / requests.
* *percentiles*: nearest rank (the smallest observed value with at least p% of samples at or below
  it), so every percentile is a value that was actually recorded.
* *long-lived session*: approved (at any time up to ``now``), not ended, not revoked, not past its
  ``expires_at``, and older than the threshold at ``now``.

Hostile or damaged records never raise: a record without a readable ``time`` is counted in
``records.skipped`` and otherwise ignored; fields of the wrong type are treated as absent. Numbers in
``details`` may be JSON numbers or numeric strings (the audit writer stores floats as strings).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from policy.errors import DenyReason

__all__ = [
    "DEFAULT_LONG_LIVED_HOURS",
    "DEFAULT_TOP",
    "NON_POLICY_REASONS",
    "POLICY_DENY_REASONS",
    "REPORT_FORMAT",
    "Report",
    "ReportBuilder",
    "compute",
    "iso_week",
    "nearest_rank",
]

REPORT_FORMAT = "wcproxy.report/1"
DEFAULT_LONG_LIVED_HOURS = 24.0
#: How many slowest revocations, top boundary hits and long-lived sessions the document lists.
DEFAULT_TOP = 10

#: Deny reasons that are not a policy decision: the input could not be judged (malformed or
#: unsupported) or infrastructure failed. They never count as "denied by policy".
NON_POLICY_REASONS: frozenset[str] = frozenset(
    {
        DenyReason.UNDECODABLE.value,
        DenyReason.UNSUPPORTED_METHOD.value,
        DenyReason.STORE_UNAVAILABLE.value,
        DenyReason.ENVELOPE_UNRESOLVED.value,
    }
)
#: Deny reasons that count as "denied by policy" (every other :class:`DenyReason`).
POLICY_DENY_REASONS: frozenset[str] = frozenset(
    reason.value for reason in DenyReason if reason.value not in NON_POLICY_REASONS
)

_NONE = "(none)"
_MAX_DAYS = 366  # the daily series is filled with zero days only for windows up to this long
_MAX_LABEL = 200  # labels taken from records are cut to this length


# --------------------------------------------------------------------------------------------------
# Small helpers


def nearest_rank(ordered: list[float], percent: int) -> float | None:
    """The ``percent`` percentile of the sorted ``ordered`` by nearest rank (None when empty)."""
    if not ordered:
        return None
    rank = -(-percent * len(ordered) // 100)  # ceil without float rounding
    return ordered[max(rank, 1) - 1]


def iso_week(moment: datetime) -> str:
    """``YYYY-Www`` (ISO 8601 week, UTC)."""
    year, week, _ = moment.isocalendar()
    return f"{year}-W{week:02d}"


def _parse_time(value: Any) -> float | None:
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _num(value: Any) -> float | None:
    """A finite number from a JSON number or numeric string; None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str) and len(value) <= 64:
        try:
            number = float(value)
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _label(value: Any, default: str = _NONE) -> str:
    if isinstance(value, str) and value:
        return value[:_MAX_LABEL]
    return default


def _opt_label(value: Any) -> str | None:
    return value[:_MAX_LABEL] if isinstance(value, str) and value else None


def _labels(value: Any) -> list[str]:
    if not isinstance(value, list):
        return []
    return [item[:_MAX_LABEL] for item in value if isinstance(item, str) and item]


def _iso(unix: float) -> str:
    return datetime.fromtimestamp(unix, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _stats(values: list[float], percents: tuple[int, ...]) -> dict[str, Any]:
    ordered = sorted(values)
    out: dict[str, Any] = {"count": len(ordered)}
    for percent in percents:
        out[f"p{percent}"] = nearest_rank(ordered, percent)
    out["max"] = ordered[-1] if ordered else None
    return out


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


# --------------------------------------------------------------------------------------------------
# Accumulators


@dataclass(frozen=True, slots=True)
class _Request:
    """The fields of one ``request`` record the figures use, parsed once."""

    decision: Any
    reasons: list[str]
    policy: tuple[str, ...]  # policy reasons, each once
    delegated: bool
    action_class: str
    mismatch: tuple[str, ...]  # context mismatch kinds, each once
    post_revocation: bool
    layer: str | None

    @property
    def policy_denied(self) -> bool:
        """Denied by policy (the numerator of the denial rate, when delegated)."""
        return self.decision == "deny" and bool(self.policy)

    @classmethod
    def parse(cls, record: Mapping[str, Any], details: Mapping[str, Any]) -> _Request:
        reasons = _labels(record.get("reasons"))
        return cls(
            decision=record.get("decision"),
            reasons=reasons,
            policy=tuple(dict.fromkeys(r for r in reasons if r in POLICY_DENY_REASONS)),
            delegated=details.get("delegated") is True,
            action_class=_label(record.get("action_class")),
            mismatch=tuple(dict.fromkeys(_labels(details.get("context_mismatch")))),
            post_revocation=details.get("post_revocation") is True
            or DenyReason.SESSION_REVOKED.value in reasons,
            layer=_opt_label(record.get("replay_layer")),
        )


@dataclass(slots=True)
class _Group:
    """Running counts for one slice of the window (overall, one ISO week or one dApp)."""

    requests: int = 0
    allowed: int = 0
    denied: int = 0
    errors: int = 0
    delegated: int = 0
    policy_denied: int = 0
    by_reason: Counter[str] = field(default_factory=Counter)
    mismatch_requests: int = 0
    mismatch_kinds: Counter[str] = field(default_factory=Counter)
    post_revocation: int = 0
    boundary: Counter[tuple[str, str]] = field(default_factory=Counter)
    replay: Counter[str] = field(default_factory=Counter)
    approved: int = 0
    ended: Counter[str] = field(default_factory=Counter)
    lifetimes: dict[str, dict[str, list[float]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(list))
    )
    revocations: Counter[str] = field(default_factory=Counter)
    revocation_rules: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    ttr: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    alerts: Counter[str] = field(default_factory=Counter)
    emergency_stops: int = 0
    emergency_resumes: int = 0

    def add_request(self, req: _Request) -> None:
        self.requests += 1
        if req.decision == "allow":
            self.allowed += 1
        elif req.decision == "deny":
            self.denied += 1
        else:
            self.errors += 1  # "error" and anything unrecognised: never silently an allow
        self.by_reason.update(req.reasons)
        if req.delegated:
            self.delegated += 1
            if req.policy_denied:
                self.policy_denied += 1
        if req.decision == "deny":
            for reason in req.policy:
                self.boundary[(req.action_class, reason)] += 1
        if req.mismatch:
            self.mismatch_requests += 1
            self.mismatch_kinds.update(req.mismatch)
        if req.post_revocation:
            self.post_revocation += 1
        if req.layer is not None:
            self.replay[req.layer] += 1

    def add_ended(self, details: Mapping[str, Any]) -> None:
        end = _label(details.get("end"), "unknown")
        self.ended[end] += 1
        lifetime = _num(details.get("lifetime_s"))
        if lifetime is None:
            return
        for action_class in dict.fromkeys(_labels(details.get("action_classes")) or [_NONE]):
            self.lifetimes[action_class][end].append(lifetime)

    def add_revocation(self, details: Mapping[str, Any]) -> None:
        path = _label(details.get("path"), "unknown")
        self.revocations[path] += 1
        self.revocation_rules[path][_label(details.get("rule"))] += 1
        seconds = _num(details.get("time_to_revoke_s"))
        if seconds is not None:
            self.ttr[path].append(seconds)

    def figures(self, top: int | None) -> dict[str, Any]:
        """This slice as JSON data (``top`` cuts the boundary-hit list; None keeps all)."""
        lifetime: dict[str, Any] = {}
        for action_class in sorted(self.lifetimes):
            by_end = self.lifetimes[action_class]
            every = [value for values in by_end.values() for value in values]
            entry = _stats(every, (50, 90))
            entry["by_end"] = {end: _stats(by_end[end], (50, 90)) for end in sorted(by_end)}
            lifetime[action_class] = entry
        revoke: dict[str, Any] = {}
        for path in sorted(self.revocations):
            entry = {"revocations": self.revocations[path]}
            entry.update(_stats(self.ttr.get(path, []), (50, 99)))
            entry["rules"] = dict(sorted(self.revocation_rules[path].items()))
            revoke[path] = entry
        hits = sorted(self.boundary.items(), key=lambda item: (-item[1], item[0]))
        if top is not None:
            hits = hits[:top]
        return {
            "requests": {
                "total": self.requests,
                "allowed": self.allowed,
                "denied": self.denied,
                "errors": self.errors,
                "delegated": self.delegated,
                "policy_denied": self.policy_denied,
                "denial_rate": _rate(self.policy_denied, self.delegated),
                "by_reason": dict(sorted(self.by_reason.items())),
            },
            "sessions": {"approved": self.approved, "ended": dict(sorted(self.ended.items()))},
            "session_lifetime": lifetime,
            "time_to_revoke": revoke,
            "alerts": dict(sorted(self.alerts.items())),
            "context_mismatch": {
                "requests": self.mismatch_requests,
                "rate": _rate(self.mismatch_requests, self.requests),
                "by_kind": {
                    kind: {"count": count, "rate": _rate(count, self.requests)}
                    for kind, count in sorted(self.mismatch_kinds.items())
                },
            },
            "post_revocation_attempts": self.post_revocation,
            "boundary_hits": [
                {"action_class": action_class, "reason": reason, "count": count}
                for (action_class, reason), count in hits
            ],
            "replay_refusals": dict(sorted(self.replay.items())),
            "emergency": {"stops": self.emergency_stops, "resumes": self.emergency_resumes},
        }


@dataclass(slots=True)
class _Day:
    requests: int = 0
    allowed: int = 0
    denied: int = 0
    errors: int = 0
    delegated: int = 0
    policy_denied: int = 0


@dataclass(slots=True)
class _Live:
    """A session approved and not (yet) seen ending."""

    approved_at: float
    dapp: str | None
    action_classes: list[str]
    rule: str | None
    expires_at: float | None


@dataclass(frozen=True, slots=True)
class Report:
    """The computed report: the JSON document plus raw samples the charts need.

    ``document`` is JSON-ready data (see the module docstring and :meth:`ReportBuilder.finish`).
    ``ttr_samples``: every time-to-revoke (seconds) per revocation path in the window;
    ``lifetime_samples``: every session lifetime (seconds) per action class in the window.
    """

    document: dict[str, Any]
    ttr_samples: dict[str, list[float]]
    lifetime_samples: dict[str, list[float]]


class ReportBuilder:
    """Accumulates records one at a time (log order), then :meth:`finish` builds the :class:`Report`."""

    def __init__(
        self,
        *,
        since: float,
        now: float,
        long_lived_hours: float = DEFAULT_LONG_LIVED_HOURS,
        top: int = DEFAULT_TOP,
    ) -> None:
        if not (math.isfinite(since) and math.isfinite(now)) or since > now:
            raise ValueError("the report window needs finite since <= now")
        if not math.isfinite(long_lived_hours) or long_lived_hours < 0:
            raise ValueError("long_lived_hours must be a finite number >= 0")
        self.since = since
        self.now = now
        self.long_lived_hours = long_lived_hours
        self.top = max(top, 0)
        self.read = 0
        self.skipped = 0
        self.in_window = 0
        self.before = 0
        self.after = 0
        self._overall = _Group()
        self._weeks: dict[str, _Group] = defaultdict(_Group)
        self._dapps: dict[str, _Group] = defaultdict(_Group)
        self._days: dict[str, _Day] = defaultdict(_Day)
        self._revocations: list[dict[str, Any]] = []
        self._emergencies: list[dict[str, Any]] = []
        self._live: dict[str, _Live] = {}

    # -- feeding ----------------------------------------------------------------------------------

    def add(self, record: Any) -> None:
        """Account for one parsed audit record (anything else is counted as skipped)."""
        self.read += 1
        if not isinstance(record, Mapping):
            self.skipped += 1
            return
        at = _parse_time(record.get("time"))
        if at is None:
            self.skipped += 1
            return
        if at > self.now:
            self.after += 1
            return
        event = record.get("event")
        raw_details = record.get("details")
        details: Mapping[str, Any] = raw_details if isinstance(raw_details, Mapping) else {}
        self._track_sessions(event, record, details, at)
        if at < self.since:
            self.before += 1
            return
        self.in_window += 1
        moment = datetime.fromtimestamp(at, tz=UTC)
        dapp = _opt_label(record.get("dapp"))
        groups = [self._overall, self._weeks[iso_week(moment)]]
        if dapp is not None:
            groups.append(self._dapps[dapp])
        if event == "request":
            req = _Request.parse(record, details)
            for group in groups:
                group.add_request(req)
            self._add_day(moment, req)
        elif event == "session_approved":
            for group in groups:
                group.approved += 1
        elif event == "session_ended":
            for group in groups:
                group.add_ended(details)
        elif event == "revocation":
            for group in groups:
                group.add_revocation(details)
            self._revocations.append(
                {
                    "time": _iso(at),
                    "session": _opt_label(record.get("session")),
                    "dapp": dapp,
                    "path": _label(details.get("path"), "unknown"),
                    "rule": _opt_label(details.get("rule")),
                    "actor": _opt_label(details.get("actor")),
                    "seconds": _num(details.get("time_to_revoke_s")),
                }
            )
        elif event == "alert":
            for group in groups:
                group.alerts[_label(details.get("rule"))] += 1
        elif event in ("emergency_stop", "emergency_resume"):
            for group in groups:
                if event == "emergency_stop":
                    group.emergency_stops += 1
                else:
                    group.emergency_resumes += 1
            self._emergencies.append(
                {
                    "time": _iso(at),
                    "event": event,
                    "actor": _opt_label(details.get("actor")),
                    "reason": _opt_label(details.get("reason")),
                }
            )

    def _add_day(self, moment: datetime, req: _Request) -> None:
        day = self._days[moment.date().isoformat()]
        day.requests += 1
        if req.decision == "allow":
            day.allowed += 1
        elif req.decision == "deny":
            day.denied += 1
        else:
            day.errors += 1
        if req.delegated:
            day.delegated += 1
            if req.policy_denied:
                day.policy_denied += 1

    def _track_sessions(
        self, event: Any, record: Mapping[str, Any], details: Mapping[str, Any], at: float
    ) -> None:
        session = _opt_label(record.get("session"))
        if event == "session_approved" and session is not None:
            self._live[session] = _Live(
                approved_at=at,
                dapp=_opt_label(record.get("dapp")),
                action_classes=_labels(details.get("action_classes")),
                rule=_opt_label(details.get("rule")),
                expires_at=_num(details.get("expires_at")),
            )
        elif event in ("session_ended", "revocation") and session is not None:
            self._live.pop(session, None)
        elif event == "emergency_stop" or (event == "revocation" and session is None):
            dapp = _opt_label(record.get("dapp")) if event == "revocation" else None
            for topic, live in list(self._live.items()):
                if dapp is None or live.dapp == dapp:
                    del self._live[topic]

    # -- result -----------------------------------------------------------------------------------

    def _daily(self) -> list[dict[str, Any]]:
        first = datetime.fromtimestamp(self.since, tz=UTC).date()
        last = datetime.fromtimestamp(self.now, tz=UTC).date()
        keys = set(self._days)
        if (last - first).days < _MAX_DAYS:
            keys.update(
                (first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)
            )
        out = []
        for key in sorted(keys):
            day = self._days.get(key, _Day())
            out.append(
                {
                    "date": key,
                    "requests": day.requests,
                    "allowed": day.allowed,
                    "denied": day.denied,
                    "errors": day.errors,
                    "delegated": day.delegated,
                    "policy_denied": day.policy_denied,
                    "denial_rate": _rate(day.policy_denied, day.delegated),
                }
            )
        return out

    def _long_lived(self) -> dict[str, Any]:
        threshold_s = self.long_lived_hours * 3600.0
        alive = {
            topic: live
            for topic, live in self._live.items()
            if live.expires_at is None or live.expires_at > self.now
        }
        old = sorted(
            (
                (topic, live)
                for topic, live in alive.items()
                if self.now - live.approved_at > threshold_s
            ),
            key=lambda item: (item[1].approved_at, item[0]),
        )
        return {
            "threshold_hours": self.long_lived_hours,
            "alive": len(alive),
            "count": len(old),
            "sessions": [
                {
                    "session": topic,
                    "dapp": live.dapp,
                    "approved_at": _iso(live.approved_at),
                    "age_hours": (self.now - live.approved_at) / 3600.0,
                    "action_classes": live.action_classes,
                    "rule": live.rule,
                    "expires_at": None if live.expires_at is None else _iso(live.expires_at),
                }
                for topic, live in old[: self.top]
            ],
        }

    def finish(self) -> Report:
        """Build the report document (see the module docstring for every definition)."""
        timed = [entry for entry in self._revocations if entry["seconds"] is not None]
        slowest = sorted(timed, key=lambda entry: (-entry["seconds"], entry["time"]))[: self.top]
        document: dict[str, Any] = {
            "format": REPORT_FORMAT,
            "window": {
                "since": _iso(self.since),
                "since_unix": self.since,
                "now": _iso(self.now),
                "now_unix": self.now,
            },
            "records": {
                "read": self.read,
                "in_window": self.in_window,
                "before_window": self.before,
                "after_now": self.after,
                "skipped": self.skipped,
            },
            "policy_reasons": sorted(POLICY_DENY_REASONS),
            "overall": self._overall.figures(None),
            "weeks": {week: self._weeks[week].figures(self.top) for week in sorted(self._weeks)},
            "dapps": {dapp: self._dapps[dapp].figures(self.top) for dapp in sorted(self._dapps)},
            "daily": self._daily(),
            "slowest_revocations": slowest,
            "long_lived_sessions": self._long_lived(),
            "emergencies": self._emergencies,
        }
        lifetimes = {
            action_class: sorted(value for values in by_end.values() for value in values)
            for action_class, by_end in sorted(self._overall.lifetimes.items())
        }
        ttr = {path: sorted(values) for path, values in sorted(self._overall.ttr.items())}
        return Report(document=document, ttr_samples=ttr, lifetime_samples=lifetimes)


def compute(
    records: Iterable[Any],
    *,
    since: float,
    now: float,
    long_lived_hours: float = DEFAULT_LONG_LIVED_HOURS,
    top: int = DEFAULT_TOP,
) -> Report:
    """Compute the report over ``records`` (parsed audit lines, log order) for ``[since, now]``.

    Raises:
        ValueError: ``since > now`` or a non-finite bound/threshold.
    """
    builder = ReportBuilder(since=since, now=now, long_lived_hours=long_lived_hours, top=top)
    for record in records:
        builder.add(record)
    return builder.finish()
