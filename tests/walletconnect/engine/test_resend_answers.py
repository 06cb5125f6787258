"""After a restart the wallet re-sends recent answers whose publish a crash may have lost."""

from __future__ import annotations

from wc_engine_pair import ACCOUNT, EnginePair, settled_pair

from walletconnect.engine.core import EngineConfig
from walletconnect.engine.events import MessageDropped, ResponseReceived
from walletconnect.engine.wallet import WalletEngine


def _restart(pair: EnginePair) -> WalletEngine:
    restarted = WalletEngine(EngineConfig(metadata=pair.wallet.config.metadata))
    restarted.restore(pair.wallet.snapshot())
    pair.engines["wallet"] = restarted
    pair.wallet = restarted
    return restarted


def _answered_but_lost(pair: EnginePair, topic: str, result: str) -> int:
    rid = pair.dapp.request(topic, "eip155:1", "personal_sign", ["0x01", ACCOUNT], pair.now)
    pair.pump()
    pair.take("wallet")
    pair.wallet.respond(topic, rid, pair.now, result=result)
    pair.wallet.changes_to_persist()
    pair.wallet.messages_to_send()  # persisted as answered, then the process died before publishing
    return rid


def test_a_lost_answer_reaches_the_dapp_after_a_restart() -> None:
    pair, topic = settled_pair(drain=True)
    rid = _answered_but_lost(pair, topic, "0xsig")
    pair.pump()
    assert not [e for e in pair.take("dapp") if isinstance(e, ResponseReceived)]
    restarted = _restart(pair)
    assert restarted.resend_recent_answers(pair.now + 5, window_s=60, limit=10) == 1
    pair.pump()
    [response] = [e for e in pair.take("dapp") if isinstance(e, ResponseReceived)]
    assert (response.id, response.result) == (rid, "0xsig")


def test_an_answer_the_dapp_already_has_is_ignored_there() -> None:
    pair, topic = settled_pair(drain=True)
    rid = pair.dapp.request(topic, "eip155:1", "personal_sign", ["0x02", ACCOUNT], pair.now)
    pair.pump()
    pair.wallet.respond(topic, rid, pair.now, result="0xsig")
    pair.pump()
    assert len([e for e in pair.take("dapp") if isinstance(e, ResponseReceived)]) == 1
    _restart(pair).resend_recent_answers(pair.now + 1, window_s=60, limit=10)
    pair.pump()
    events = pair.take("dapp")
    assert not [e for e in events if isinstance(e, ResponseReceived)]
    assert [e.reason for e in events if isinstance(e, MessageDropped)] == ["unexpected"]


def test_only_recent_answers_and_at_most_the_limit_newest_first() -> None:
    pair, topic = settled_pair(drain=True)
    old = _answered_but_lost(pair, topic, "0xold")
    pair.advance(120)
    newer = []
    for i in range(3):
        pair.advance(1)
        newer.append(_answered_but_lost(pair, topic, f"0x{i:02x}"))
    restarted = _restart(pair)
    assert restarted.resend_recent_answers(pair.now, window_s=60, limit=2) == 2
    pair.pump()
    got = [e.id for e in pair.take("dapp") if isinstance(e, ResponseReceived)]
    assert got == newer[1:]  # the two newest, oldest of them first
    assert old not in got
