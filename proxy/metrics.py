"""Prometheus metric definitions on an injected registry, and helpers to record decisions (pure).

Names are stable and documented in the README: ``wcproxy_requests_total{method,action_class,decision,reason}``,
``wcproxy_session_lifetime_seconds{action_class,end}``, ``wcproxy_time_to_revoke_seconds{path}``,
``wcproxy_context_mismatch_total{kind}``, ``wcproxy_post_revocation_attempts_total``,
``wcproxy_boundary_hits_total{action_class,reason}``, ``wcproxy_replay_refusals_total{layer}``, plus
decision and signer latency histograms, and for an SQLite store ``wcproxy_store_{batches,commits,
fsyncs,checkpoints}_total`` (how well writes are grouped: fsyncs per request is a request's disk cost).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

__all__ = ["LATENCY_BUCKETS_S", "STORE_COUNTERS", "Metrics"]

#: The store counters exported by :meth:`Metrics.watch_store`, with their help texts.
STORE_COUNTERS = {
    "batches": "Store operation batches run (each a transaction, or reads alone).",
    "commits": "Store write transactions committed.",
    "fsyncs": "WAL fsyncs (one makes every commit before it durable).",
    "checkpoints": "WAL checkpoints into the database file.",
}

LATENCY_BUCKETS_S = (
    0.00005,
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    1.0,
)
_LIFETIME_BUCKETS_S = (60, 300, 900, 1800, 3600, 4 * 3600, 12 * 3600, 86400, 7 * 86400, 30 * 86400)
_REVOKE_BUCKETS_S = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30, 300)


@dataclass(slots=True)
class Metrics:
    """Every wcproxy metric, registered on one registry (a fresh one per daemon, so tests stay isolated)."""

    registry: CollectorRegistry
    requests: Counter
    boundary_hits: Counter
    replay_refusals: Counter
    context_mismatches: Counter
    post_revocation_attempts: Counter
    revocations: Counter
    alerts: Counter
    session_lifetime: Histogram
    time_to_revoke: Histogram
    decision_latency: Histogram
    signer_latency: Histogram
    request_latency: Histogram
    active_sessions: Gauge
    frozen: Gauge

    @classmethod
    def create(cls, registry: CollectorRegistry | None = None) -> Metrics:
        """Register every metric on ``registry`` (a new one by default)."""
        reg = registry if registry is not None else CollectorRegistry()
        return cls(
            registry=reg,
            requests=Counter(
                "wcproxy_requests",
                "Signing requests by method, action class, decision and reason.",
                ["method", "action_class", "decision", "reason"],
                registry=reg,
            ),
            boundary_hits=Counter(
                "wcproxy_boundary_hits",
                "Policy limits hit by delegated actions, per action class and reason.",
                ["action_class", "reason"],
                registry=reg,
            ),
            replay_refusals=Counter(
                "wcproxy_replay_refusals",
                "Requests refused by the replay store, per layer.",
                ["layer"],
                registry=reg,
            ),
            context_mismatches=Counter(
                "wcproxy_context_mismatch",
                "Chain, account or origin disagreements between request, session and payload.",
                ["kind"],
                registry=reg,
            ),
            post_revocation_attempts=Counter(
                "wcproxy_post_revocation_attempts",
                "Requests received on a session after it was revoked.",
                registry=reg,
            ),
            revocations=Counter(
                "wcproxy_revocations",
                "Sessions revoked, per path (user, policy, emergency) and rule.",
                ["path", "rule"],
                registry=reg,
            ),
            alerts=Counter(
                "wcproxy_alerts",
                "Alerts raised by policy revocation rules, per rule and severity.",
                ["rule", "severity"],
                registry=reg,
            ),
            session_lifetime=Histogram(
                "wcproxy_session_lifetime_seconds",
                "Session lifetime from approval to its end, by action class and how it ended.",
                ["action_class", "end"],
                buckets=_LIFETIME_BUCKETS_S,
                registry=reg,
            ),
            time_to_revoke=Histogram(
                "wcproxy_time_to_revoke_seconds",
                "Time from a critical alert to the effective revocation, per revocation path.",
                ["path"],
                buckets=_REVOKE_BUCKETS_S,
                registry=reg,
            ),
            decision_latency=Histogram(
                "wcproxy_decision_latency_seconds",
                "Time to decode and judge a request (policy + replay claim).",
                buckets=LATENCY_BUCKETS_S,
                registry=reg,
            ),
            signer_latency=Histogram(
                "wcproxy_signer_latency_seconds",
                "Time the signer took, per backend.",
                ["signer"],
                buckets=LATENCY_BUCKETS_S,
                registry=reg,
            ),
            request_latency=Histogram(
                "wcproxy_request_latency_seconds",
                "Time from receiving a request to publishing its response.",
                buckets=LATENCY_BUCKETS_S,
                registry=reg,
            ),
            active_sessions=Gauge(
                "wcproxy_active_sessions", "Sessions currently alive.", registry=reg
            ),
            frozen=Gauge(
                "wcproxy_signing_frozen", "1 while an emergency stop freezes signing.", registry=reg
            ),
        )

    def record_request(
        self, *, method: str, action_class: str, allowed: bool, reasons: tuple[str, ...]
    ) -> None:
        """Count one decided request: one sample per reason for a denial, one ``allow`` sample otherwise."""
        if allowed:
            self.requests.labels(method, action_class, "allow", "").inc()
            return
        for reason in reasons or ("unknown",):
            self.requests.labels(method, action_class, "deny", reason).inc()
            self.boundary_hits.labels(action_class, reason).inc()

    def watch_store(self, counters: Callable[[], Mapping[str, int]]) -> None:
        """Export ``counters()`` (keys of :data:`STORE_COUNTERS`) as ``wcproxy_store_*_total``,
        read at each scrape (the store keeps them; nothing is counted twice)."""
        self.registry.register(_StoreCollector(counters))

    def exposition(self) -> bytes:
        """The registry in Prometheus text format."""
        return generate_latest(self.registry)


class _StoreCollector(Collector):
    def __init__(self, counters: Callable[[], Mapping[str, int]]) -> None:
        self._counters = counters

    def collect(self) -> Iterator[Metric]:
        values = self._counters()
        for name, help_text in STORE_COUNTERS.items():
            if name in values:
                yield CounterMetricFamily(f"wcproxy_store_{name}", help_text, value=values[name])
