"""Metrics: stable names in the exposition, one sample per denial reason, isolated registries."""

from __future__ import annotations

from pathlib import Path

from contracts import replay_contract
from prometheus_client.parser import text_string_to_metric_families

from proxy.metrics import Metrics


def _samples(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(metrics.exposition().decode()):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def test_documented_metric_names_are_exposed() -> None:
    metrics = Metrics.create()
    metrics.session_lifetime.labels("swap.execute", "expiry").observe(3600)
    metrics.time_to_revoke.labels("policy").observe(0.01)
    metrics.context_mismatches.labels("chain").inc()
    metrics.post_revocation_attempts.inc()
    metrics.replay_refusals.labels("payload").inc()
    metrics.record_request(
        method="personal_sign", action_class="message.sign", allowed=True, reasons=()
    )
    metrics.record_request(
        method="personal_sign", action_class="siwe.login", allowed=False, reasons=("expired",)
    )
    names = {name for name, _ in _samples(metrics)}
    for expected in (
        "wcproxy_requests_total",
        "wcproxy_session_lifetime_seconds_count",
        "wcproxy_time_to_revoke_seconds_count",
        "wcproxy_context_mismatch_total",
        "wcproxy_post_revocation_attempts_total",
        "wcproxy_replay_refusals_total",
        "wcproxy_boundary_hits_total",
    ):
        assert expected in names, expected


def test_a_denial_counts_once_per_reason_and_as_boundary_hits() -> None:
    metrics = Metrics.create()
    metrics.record_request(
        method="eth_sendTransaction",
        action_class="native.transfer",
        allowed=False,
        reasons=("value_cap_exceeded", "destination_not_allowed"),
    )
    samples = _samples(metrics)
    key = (
        "wcproxy_requests_total",
        (
            ("action_class", "native.transfer"),
            ("decision", "deny"),
            ("method", "eth_sendTransaction"),
            ("reason", "value_cap_exceeded"),
        ),
    )
    assert samples[key] == 1.0
    hits = (
        "wcproxy_boundary_hits_total",
        (("action_class", "native.transfer"), ("reason", "destination_not_allowed")),
    )
    assert samples[hits] == 1.0


def test_registries_are_isolated() -> None:
    first, second = Metrics.create(), Metrics.create()
    first.post_revocation_attempts.inc(3)
    assert _samples(second)[("wcproxy_post_revocation_attempts_total", ())] == 0.0


async def test_an_sqlite_store_s_write_grouping_is_exported(tmp_path: Path) -> None:
    from policy.replay import Claim
    from proxy.stores.replay_sqlite import SqliteReplayStore

    contract = replay_contract()
    metrics = Metrics.create()
    store = await SqliteReplayStore.open(tmp_path / "r.db")
    try:
        metrics.watch_store(store.batcher.counters)
        before = _samples(metrics)
        claim = await store.claim(
            [contract.rpc(1)], owner=contract.owner(1), budget=None, now=contract.NOW
        )
        assert isinstance(claim, Claim)
        after = _samples(metrics)
    finally:
        await store.close()
    for name in ("batches", "commits", "fsyncs"):  # one claim: one batch, commit and fsync more
        key = (f"wcproxy_store_{name}_total", ())
        assert after[key] == before[key] + 1, name
    assert ("wcproxy_store_checkpoints_total", ()) in after
