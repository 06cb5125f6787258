"""The daemon refuses a request reusing an answered JSON-RPC id with other content: 5010, layer rpc_id.

The dApp side is the attack bench's raw path (our DappClient's engine never reuses an id itself):
the first request is signed, a second one with the same id and another message is refused as a
replay of the id layer, counted in ``wcproxy_replay_refusals_total{layer="rpc_id"}`` and audited.
A true duplicate (the same request re-encrypted) still gets the stored signature back.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from proxy.attack.runner import run_bench
from proxy.attack.scenario import Scenario, load_corpus
from proxy.attack.target import Arena, Profile, SelfTarget

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "config" / "example.toml"
SCENARIOS = ROOT / "proxy" / "scenarios"


class _Watched(SelfTarget):
    """SelfTarget that keeps each daemon's metric samples before the daemon stops."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.samples: dict[str, float] = {}

    @asynccontextmanager
    async def arena(self, profile: Profile, scenarios: Sequence[Scenario]) -> AsyncIterator[Arena]:
        async with super().arena(profile, scenarios) as arena:
            try:
                yield arena
            finally:
                daemon = getattr(arena, "daemon")  # noqa: B009 - the self arena's daemon
                for family in daemon.metrics.registry.collect():
                    for sample in family.samples:
                        labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
                        self.samples[f"{sample.name}{{{labels}}}"] = sample.value


def _scenario(name: str) -> Scenario:
    [scenario] = [s for s in load_corpus([SCENARIOS]) if s.name == name]
    return scenario


async def test_reused_id_with_other_payload_is_refused_as_rpc_id_replay(tmp_path: Path) -> None:
    target = _Watched(CONFIG, work_dir=tmp_path)
    [result] = await run_bench(
        target, [_scenario("reused-rpc-id-other-payload")], timeout_s=15.0, quiet_s=1.0
    )
    assert result.ok, result.reason
    setup, attack = result.steps
    assert setup.reason_class == "signed"
    assert attack.outcome == "blocked"
    assert attack.reason_class == "replay"
    assert attack.detail == "5010 replay (rpc_id)"  # code 5010, data.kind replay, data.layer rpc_id
    assert target.samples["wcproxy_replay_refusals_total{layer=rpc_id}"] == 1.0
    [audit] = list(tmp_path.glob("daemon-*/audit.jsonl"))
    records = [json.loads(line) for line in audit.read_text().splitlines()]
    denied = [r for r in records if r.get("event") == "request" and r.get("decision") == "deny"]
    assert len(denied) == 1
    assert denied[0]["replay_layer"] == "rpc_id"
    assert denied[0]["reasons"] == ["replay_detected"]
    assert denied[0]["method"] == "personal_sign"
    assert denied[0]["details"]["error_code"] == 5010
    signed = [r for r in records if r.get("event") == "request" and r.get("decision") == "allow"]
    assert len(signed) == 1  # the reused id never reached the signing path


async def test_reencrypted_duplicate_still_gets_the_stored_answer(tmp_path: Path) -> None:
    target = _Watched(CONFIG, work_dir=tmp_path)
    [result] = await run_bench(
        target, [_scenario("reencrypted-duplicate")], timeout_s=15.0, quiet_s=1.0
    )
    assert result.ok, result.reason
    assert result.steps[-1].reason_class == "duplicate"
    assert target.samples.get("wcproxy_replay_refusals_total{layer=rpc_id}", 0.0) == 0.0


async def test_a_reused_id_feeds_the_policy_revocation_rules(tmp_path: Path) -> None:
    import tomllib

    import tomli_w

    data = tomllib.loads(CONFIG.read_text())
    data["pricing"]["token_list"] = str(ROOT / "config" / data["pricing"]["token_list"])
    for rule in data["session_rules"]:
        rule["envelope"] = str(ROOT / "config" / rule["envelope"])
    data["revocation"] = {"rules": [{"name": "no-replays", "trigger": "replay"}]}
    config = tmp_path / "replay-revokes.toml"
    config.write_text(tomli_w.dumps(data))
    target = _Watched(config, work_dir=tmp_path)
    [result] = await run_bench(
        target, [_scenario("reused-rpc-id-other-payload")], timeout_s=15.0, quiet_s=1.0
    )
    assert result.ok, result.reason
    assert result.steps[-1].detail == "5010 replay (rpc_id)"  # the refusal itself still goes out
    [audit] = list(tmp_path.glob("daemon-*/audit.jsonl"))
    records = [json.loads(line) for line in audit.read_text().splitlines()]
    [alert] = [r for r in records if r.get("event") == "alert"]
    assert alert["details"]["rule"] == "no-replays"
    revocations = [r for r in records if r.get("event") == "revocation"]
    assert len(revocations) == 1
    assert revocations[0]["session"] == alert["session"]
