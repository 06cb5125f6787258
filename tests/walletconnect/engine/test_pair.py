"""WalletEngine <-> DappEngine in memory through RelayServerProtocol: the whole Sign lifecycle."""

from __future__ import annotations

import base64
import json

import pytest
from wc_engine_pair import (
    ACCOUNT,
    OPTIONAL_NS,
    SESSION_NS,
    EnginePair,
    proposed_pair,
    settled_pair,
)

from walletconnect.crypto import derive_sym_key
from walletconnect.engine.commands import Publish, Unsubscribe
from walletconnect.engine.events import (
    MessageDropped,
    PairingExpired,
    PingReceived,
    ProposalReceived,
    ProposalRejected,
    RequestExpired,
    RequestReceived,
    ResponseReceived,
    SessionAcknowledged,
    SessionDeleted,
    SessionEventReceived,
    SessionExpired,
    SessionExtended,
    SessionSettled,
    SessionUpdated,
)
from walletconnect.engine.records import SessionState
from walletconnect.envelope import open_envelope, seal
from walletconnect.errors import LocalProtocolError, NamespaceError


def _of(events: list[object], kind: type) -> list:  # type: ignore[type-arg]
    return [e for e in events if isinstance(e, kind)]


def test_propose_approve_settle_ack() -> None:
    pair, topic = settled_pair()
    [settled] = _of(pair.take("dapp"), SessionSettled)
    assert settled.session.topic == topic
    assert settled.session.namespaces == SESSION_NS
    assert pair.wallet.sessions[topic].state is SessionState.SETTLED
    assert _of(pair.take("wallet"), SessionAcknowledged) == [SessionAcknowledged(topic)]
    # The relay composite was used: the wallet never irn_subscribe'd the session topic itself.
    assert topic in pair.relays["wallet"].topics
    assert pair.dapp.sessions[topic].expiry == pair.wallet.sessions[topic].expiry


def test_request_respond_and_error() -> None:
    pair, topic = settled_pair()
    pair.take("dapp")
    rid = pair.dapp.request(topic, "eip155:1", "personal_sign", ["0xdead", ACCOUNT], pair.now)
    pair.pump()
    [req] = _of(pair.take("wallet"), RequestReceived)
    assert (req.id, req.request.method, req.request.chain_id) == (rid, "personal_sign", "eip155:1")
    assert req.request.expiry == int(pair.now) + 900
    pair.wallet.respond(topic, rid, pair.now, result="0xsig")
    pair.pump()
    [resp] = _of(pair.take("dapp"), ResponseReceived)
    assert (resp.id, resp.result, resp.ok) == (rid, "0xsig", True)
    rid2 = pair.dapp.request(topic, "eip155:1", "eth_sendTransaction", [{}], pair.now)
    pair.pump()
    pair.wallet.respond(topic, rid2, pair.now, error={"code": 5000, "message": "User rejected."})
    pair.pump()
    [resp2] = _of(pair.take("dapp"), ResponseReceived)
    assert resp2.error == {"code": 5000, "message": "User rejected."}
    with pytest.raises(LocalProtocolError):
        pair.wallet.respond(topic, rid2, pair.now, result="again")
    tags = [c.tag for c in pair.commands["wallet"] if isinstance(c, Publish)]
    assert tags.count(1109) == 2


def test_request_validation_errors() -> None:
    pair, topic = settled_pair()
    pair.take("dapp")
    # bypass the dApp-side check by sending raw requests through the engine plumbing
    for chain, method, code in [
        ("eip155:137", "personal_sign", 5100),
        ("eip155:1", "eth_sign", 3001),
    ]:
        pair.dapp.send_request(
            topic,
            "wc_sessionRequest",
            {"request": {"method": method, "params": []}, "chainId": chain},
            pair.now,
        )
        pair.pump()
        [resp] = _of(pair.take("dapp"), ResponseReceived)
        assert resp.error is not None
        assert resp.error["code"] == code
    assert _of(pair.take("wallet"), RequestReceived) == []


def test_ping_extend_update_event_delete() -> None:
    pair, topic = settled_pair()
    pair.take("dapp")
    pair.take("wallet")
    pid = pair.dapp.ping(topic, pair.now)
    pair.pump()
    assert _of(pair.take("wallet"), PingReceived) == [PingReceived(topic, pid)]
    assert _of(pair.take("dapp"), ResponseReceived)[0].result is True

    pair.advance(3600)
    pair.wallet.extend(topic, pair.now)
    pair.pump()
    expected = int(pair.now) + 7 * 86400
    assert pair.wallet.sessions[topic].expiry == expected
    assert pair.dapp.sessions[topic].expiry == expected
    assert _of(pair.take("dapp"), SessionExtended) == [SessionExtended(topic, expected)]

    new_ns = json.loads(json.dumps(SESSION_NS))
    new_ns["eip155"]["accounts"].append("eip155:1:0x2222222222222222222222222222222222222222")
    pair.wallet.update(topic, new_ns, pair.now)
    pair.pump()
    assert _of(pair.take("dapp"), SessionUpdated)[0].namespaces == new_ns
    assert pair.dapp.sessions[topic].namespaces == new_ns

    pair.wallet.emit(topic, "accountsChanged", [ACCOUNT], "eip155:1", pair.now)
    pair.wallet.emit(topic, "chainChanged", 1, "eip155:1", pair.now)
    pair.pump()
    got = _of(pair.take("dapp"), SessionEventReceived)
    assert [(e.name, e.data) for e in got] == [("accountsChanged", [ACCOUNT]), ("chainChanged", 1)]
    # no reply to a successful event: the wallet saw no response
    methods = [r.method for r in _of(pair.take("wallet"), ResponseReceived)]
    assert methods == ["wc_sessionExtend", "wc_sessionUpdate"]
    with pytest.raises(LocalProtocolError):
        pair.wallet.emit(topic, "chainChanged", 1, "eip155:137", pair.now)

    pair.dapp.disconnect(topic, pair.now)
    pair.pump()
    [deleted] = _of(pair.take("wallet"), SessionDeleted)
    assert (deleted.code, deleted.by_peer) == (6000, True)
    assert topic not in pair.wallet.sessions
    assert topic not in pair.dapp.sessions
    # wc_sessionDelete gets no reply
    assert [c.tag for c in pair.commands["wallet"] if isinstance(c, Publish)].count(1113) == 0
    assert Unsubscribe(topic) in pair.commands["wallet"]
    with pytest.raises(LocalProtocolError):
        pair.wallet.ping(topic, pair.now)


def test_wallet_disconnect_reaches_dapp() -> None:
    pair, topic = settled_pair()
    pair.take("dapp")
    pair.wallet.disconnect(topic, pair.now)
    pair.pump()
    [deleted] = _of(pair.take("dapp"), SessionDeleted)
    assert deleted.by_peer
    assert topic not in pair.dapp.sessions


def test_reject_proposal() -> None:
    pair, proposal = proposed_pair()
    pair.wallet.reject(proposal.proposal.id, pair.now)
    pair.pump()
    [rejected] = _of(pair.take("dapp"), ProposalRejected)
    assert (rejected.code, rejected.message) == (5000, "User rejected.")
    assert [c.tag for c in pair.commands["wallet"] if isinstance(c, Publish)] == [1120]


def test_approve_validates_namespaces() -> None:
    pair, proposal = proposed_pair(
        optional_namespaces={}, required_namespaces={"eip155": OPTIONAL_NS["eip155"]}
    )
    pid = proposal.proposal.id
    bad_accounts = {"eip155": {**SESSION_NS["eip155"], "accounts": ["nope"]}}
    bad_methods = {"eip155": {**SESSION_NS["eip155"], "methods": [""]}}
    bad_events = {"eip155": {**SESSION_NS["eip155"], "events": "x"}}
    missing = {"eip155": {**SESSION_NS["eip155"], "methods": ["personal_sign"]}}
    for ns, code in [(bad_accounts, 5103), (bad_methods, 5101), (bad_events, 5102), (missing, 9)]:
        with pytest.raises(NamespaceError) as info:
            pair.wallet.approve(pid, ns, pair.now)
        assert info.value.code == code
    assert pair.wallet.messages_to_send() == []


def test_session_and_pairing_expiry() -> None:
    pair, topic = settled_pair()
    pair.take("wallet")
    pair.advance(301)
    assert _of(pair.take("wallet"), PairingExpired)
    assert topic in pair.wallet.sessions
    pair.advance(7 * 86400)
    assert _of(pair.take("wallet"), SessionExpired) == [SessionExpired(topic)]
    assert _of(pair.take("dapp"), SessionExpired) == [SessionExpired(topic)]
    with pytest.raises(LocalProtocolError):
        pair.dapp.request(topic, "eip155:1", "personal_sign", [], pair.now)


def test_expired_session_never_answers_pending_request() -> None:
    pair, topic = settled_pair()
    rid = pair.dapp.request(topic, "eip155:1", "personal_sign", [], pair.now, expiry_s=7 * 86400)
    pair.pump()
    assert _of(pair.take("wallet"), RequestReceived)
    pair.now += 7 * 86400 + 1  # no expire() tick: respond() itself must notice
    sent_before = len(pair.commands["wallet"])
    with pytest.raises(LocalProtocolError):
        pair.wallet.respond(topic, rid, pair.now, result="0x")
    pair.pump()
    assert not [c for c in pair.commands["wallet"][sent_before:] if isinstance(c, Publish)]


def test_request_expiry_honoured() -> None:
    pair, topic = settled_pair()
    rid = pair.dapp.request(topic, "eip155:1", "personal_sign", [], pair.now, expiry_s=300)
    pair.pump()
    pair.advance(301)
    assert _of(pair.take("wallet"), RequestExpired) == [RequestExpired(topic, rid)]
    with pytest.raises(LocalProtocolError):
        pair.wallet.respond(topic, rid, pair.now, result="late")


def _session_key(pair: EnginePair, topic: str) -> bytes:
    return pair.wallet._sym_keys[topic]


def test_duplicates_reach_handler_once_and_answer_idempotently() -> None:
    pair, topic = settled_pair()
    pair.hold["wallet"] = True
    rid = pair.dapp.request(topic, "eip155:1", "personal_sign", ["0x01", ACCOUNT], pair.now)
    pair.pump()
    [cmd] = [c for c in pair.commands["dapp"] if isinstance(c, Publish) and c.tag == 1108]
    pair.hold["wallet"] = False
    key = _session_key(pair, topic)
    text = open_envelope(cmd.message, key)
    pair.deliver("wallet", topic, cmd.message)
    pair.deliver("wallet", topic, cmd.message)  # same bytes
    pair.deliver("wallet", topic, seal(text, key))  # re-encrypted, fresh IV
    assert len(_of(pair.take("wallet"), RequestReceived)) == 1
    pair.wallet.respond(topic, rid, pair.now, result="0xsig")
    pair.pump()
    pair.deliver("wallet", topic, seal(text, key))  # duplicate after the answer
    pair.pump()
    responses = [c for c in pair.commands["wallet"] if isinstance(c, Publish) and c.tag == 1109]
    assert len(responses) == 2
    bodies = {open_envelope(c.message, key) for c in responses}
    assert bodies == {
        json.dumps({"id": rid, "jsonrpc": "2.0", "result": "0xsig"}, separators=(",", ":"))
    }
    assert _of(pair.take("wallet"), RequestReceived) == []
    assert len(_of(pair.take("dapp"), ResponseReceived)) == 1  # the dApp resolves the id once


def _wallet_replies(pair: EnginePair, topic: str, start: int) -> list[dict]:  # type: ignore[type-arg]
    key = _session_key(pair, topic)
    return [
        json.loads(open_envelope(c.message, key))
        for c in pair.commands["wallet"][start:]
        if isinstance(c, Publish) and c.topic == topic
    ]


@pytest.mark.parametrize(
    ("plaintext", "expected_code"),
    [
        ('{"id":1700000000000001,"jsonrpc":"2.0","method":"wc_bogus","params":{}}', 10001),
        (
            '{"id":1700000000000002,"jsonrpc":"2.0","method":"wc_sessionRequest","params":[]}',
            -32602,
        ),
        ('{"id":1700000000000003,"jsonrpc":"1.0","method":"wc_sessionPing","params":{}}', -32600),
        (
            '{"id":1700000000000004,"jsonrpc":"2.0","method":"wc_sessionRequest","params":{"chainId":"eip155:1","request":{"method":"personal_sign","params":"'
            + "a" * 300_000
            + '"}}}',
            -32600,
        ),
        ("not json at all", None),
        ('{"jsonrpc":"2.0","result":true}', None),
    ],
)
def test_hostile_messages_answered_or_dropped_never_crash(
    plaintext: str, expected_code: int | None
) -> None:
    pair, topic = settled_pair()
    start = len(pair.commands["wallet"])
    pair.deliver("wallet", topic, seal(plaintext, _session_key(pair, topic)))
    replies = _wallet_replies(pair, topic, start)
    dropped = _of(pair.take("wallet"), MessageDropped)
    assert dropped
    if expected_code is None:
        assert replies == []
    else:
        assert [r["error"]["code"] for r in replies] == [expected_code]
        if expected_code == 10001:
            assert replies[0]["error"]["message"] == "Unsupported wc_ method. wc_bogus"
    # the engine still works afterwards
    rid = pair.dapp.request(topic, "eip155:1", "personal_sign", [], pair.now)
    pair.pump()
    assert [e.id for e in _of(pair.take("wallet"), RequestReceived)] == [rid]


def test_undecryptable_and_oversized_dropped_silently() -> None:
    pair, topic = settled_pair()
    start = len(pair.commands["wallet"])
    wrong = seal('{"id":1,"jsonrpc":"2.0","method":"wc_sessionPing","params":{}}', b"\x07" * 32)
    pair.deliver("wallet", topic, wrong)
    pair.deliver("wallet", topic, "!!!not base64!!!")
    pair.deliver("wallet", topic, "A" * (2 * 1024 * 1024))
    pair.deliver("wallet", "ab" * 32, wrong)
    assert _wallet_replies(pair, topic, start) == []
    reasons = [d.reason for d in _of(pair.take("wallet"), MessageDropped)]
    assert reasons == ["undecryptable", "undecryptable", "oversized", "unknown_topic"]
    assert pair.wallet.stats["dropped_undecryptable"] == 2


def test_pairing_ping_and_delete() -> None:
    pair = EnginePair()
    pairing, uri = pair.dapp.create_pairing(pair.now)
    pair.dapp.connect(pairing.topic, pair.now, optional_namespaces=OPTIONAL_NS)
    pair.wallet.pair(uri, pair.now)
    pair.pump()
    pid = pair.wallet.ping(pairing.topic, pair.now)
    pair.pump()
    assert _of(pair.take("dapp"), PingReceived) == [PingReceived(pairing.topic, pid)]
    [resp] = _of(pair.take("wallet"), ResponseReceived)
    assert (resp.id, resp.result) == (pid, True)
    assert [c.tag for c in pair.commands["dapp"] if isinstance(c, Publish)] == [1003]
    pair.wallet.disconnect(pairing.topic, pair.now)
    pair.pump()
    assert pairing.topic not in pair.dapp.pairings
    assert pairing.topic not in pair.wallet.pairings


def test_snapshot_restore_resumes_pending_request() -> None:
    pair, topic = settled_pair()
    rid = pair.dapp.request(topic, "eip155:1", "personal_sign", [], pair.now)
    pair.pump()
    snap = pair.wallet.snapshot()
    from walletconnect.engine.core import EngineConfig
    from walletconnect.engine.wallet import WalletEngine

    restarted = WalletEngine(EngineConfig(metadata=pair.wallet.config.metadata))
    restarted.restore(snap)
    assert [p.id for p in restarted.pending_requests()] == [rid]
    pair.engines["wallet"] = restarted
    pair.wallet = restarted
    restarted.respond(topic, rid, pair.now, result="0xsig")
    pair.pump()
    assert [e.result for e in _of(pair.take("dapp"), ResponseReceived)] == ["0xsig"]


def test_settle_key_agreement_matches() -> None:
    pair, topic = settled_pair()
    s = pair.wallet.sessions[topic]
    dkey = pair.dapp._sym_keys[topic]
    wpriv = pair.wallet._private_keys[s.self_public_key]
    assert derive_sym_key(wpriv, bytes.fromhex(s.peer_public_key)) == dkey
    assert base64.b64decode(pair.commands["dapp"][-1].message)[0] == 0  # type: ignore[union-attr]


def test_expiry_cap_bounds_settle_and_extends() -> None:
    pair = EnginePair()
    pairing, uri = pair.dapp.create_pairing(pair.now)
    pair.dapp.connect(pairing.topic, pair.now, optional_namespaces=OPTIONAL_NS)
    pair.wallet.pair(uri, pair.now)
    pair.pump()
    [proposal] = _of(pair.take("wallet"), ProposalReceived)
    cap = int(pair.now) + 3600
    session = pair.wallet.approve(proposal.proposal.id, SESSION_NS, pair.now, expiry=cap)
    pair.pump()
    assert session.expiry == cap
    assert pair.dapp.sessions[session.topic].expiry == cap
    pair.advance(60)
    pair.dapp.extend(session.topic, pair.now)  # the peer asks for 7 more days
    pair.pump()
    assert pair.wallet.sessions[session.topic].expiry == cap
    pair.wallet.extend(session.topic, pair.now)
    assert pair.wallet.sessions[session.topic].expiry == cap
    pair.advance(3600)
    assert session.topic not in pair.wallet.sessions


def test_malformed_proposal_auto_rejected_with_1121() -> None:
    pair = EnginePair()
    pairing, uri = pair.dapp.create_pairing(pair.now)
    pair.dapp.connect(
        pairing.topic,
        pair.now,
        optional_namespaces={"eip155": {"chains": ["not-a-caip2"], "methods": [], "events": []}},
    )
    pair.wallet.pair(uri, pair.now)
    pair.pump()
    assert _of(pair.take("wallet"), ProposalReceived) == []
    [rejected] = _of(pair.take("dapp"), ProposalRejected)
    assert rejected.code == 5100
    assert [c.tag for c in pair.commands["wallet"] if isinstance(c, Publish)] == [1121]


def test_ids_never_repeat_within_one_millisecond() -> None:
    pair, topic = settled_pair()
    ids = [pair.wallet.ping(topic, pair.now) for _ in range(300)]
    assert len(set(ids)) == 300
    assert ids == sorted(ids)
    assert all(len(str(i)) == 16 for i in ids)


def test_our_request_never_takes_an_id_the_peer_used_on_the_topic() -> None:
    pair, topic = settled_pair(drain=True)
    rid = pair.dapp.request(topic, "eip155:1", "personal_sign", ["0x01", ACCOUNT], pair.now)
    pair.pump()
    pair.wallet._last_id = rid - 1  # the wallet's next id would be exactly the dApp's
    pair.wallet.ping(topic, pair.now)
    ping_id = max(
        r.id for r in pair.wallet.history if r.direction == "out" and r.method == "wc_sessionPing"
    )
    assert ping_id != rid
    pair.wallet.respond(topic, rid, pair.now, result="0xsig")  # its record is still the request's
    pair.pump()
    assert [e.result for e in _of(pair.take("dapp"), ResponseReceived)] == ["0xsig"]
