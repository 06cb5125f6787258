"""session-handshake.json reproduced byte for byte by DappEngine + WalletEngine (injected keys/IVs/ids/clock)."""

from __future__ import annotations

import base64

from vectors import load
from wc_engine_pair import DAPP_META, SESSION_NS, WALLET_META, scripted

from walletconnect.engine.commands import ApproveSession, ProposeSession, Publish, Subscribe
from walletconnect.engine.core import EngineConfig
from walletconnect.engine.dapp import DappEngine
from walletconnect.engine.events import ProposalReceived, SessionSettled
from walletconnect.engine.wallet import WalletEngine

V = load("session-handshake")
IN, OUT = V["inputs"], V["outputs"]
NOW = 1_700_000_000.0


def _iv(name: str) -> bytes:
    return bytes.fromhex(IN["ivs_hex"][name])


def test_handshake_vector_byte_for_byte() -> None:
    dapp = DappEngine(
        EngineConfig(metadata=DAPP_META),
        entropy=scripted(
            bytes.fromhex(IN["pairing_sym_key_hex"]),
            bytes.fromhex(IN["dapp_private_key_hex"]),
            (100).to_bytes(2, "big"),
            _iv("propose"),
            _iv("settle_ack"),
        ),
    )
    wallet = WalletEngine(
        EngineConfig(metadata=WALLET_META),
        entropy=scripted(
            bytes.fromhex(IN["wallet_private_key_hex"]),
            (200).to_bytes(2, "big"),
            _iv("approve_result"),
            _iv("settle"),
        ),
    )
    pairing, uri = dapp.create_pairing(NOW)
    assert pairing.topic == OUT["pairing_topic_hex"]
    assert uri == OUT["uri"]
    proposal = dapp.connect(
        pairing.topic,
        NOW,
        optional_namespaces=OUT["propose"]["payload"]["params"]["optionalNamespaces"],
    )
    assert proposal.id == OUT["propose"]["payload"]["id"]
    assert proposal.proposer_public_key == OUT["dapp_public_key_hex"]
    [propose] = dapp.messages_to_send()
    assert isinstance(propose, ProposeSession)
    params = OUT["propose"]["relay_request_params"]
    assert (
        propose.session_proposal == OUT["propose"]["envelope_base64"] == params["sessionProposal"]
    )
    assert (propose.pairing_topic, propose.ttl_s, propose.correlation_id) == (
        params["pairingTopic"],
        params["ttl"],
        params["correlationId"],
    )

    wallet.pair(uri, NOW)
    assert wallet.messages_to_send() == [Subscribe(pairing.topic)]
    wallet.receive_message(pairing.topic, propose.session_proposal, NOW, NOW)
    [received] = wallet.events_received()
    assert isinstance(received, ProposalReceived)
    assert received.proposal.proposer_metadata == DAPP_META

    session = wallet.approve(proposal.id, SESSION_NS, NOW)
    assert session.topic == OUT["session_topic_hex"]
    assert session.expiry == OUT["settle"]["payload"]["params"]["expiry"]
    [approve] = wallet.messages_to_send()
    assert isinstance(approve, ApproveSession)
    core = OUT["wc_approveSession_relay_params_core"]
    assert approve.session_topic == core["sessionTopic"]
    assert approve.pairing_topic == core["pairingTopic"]
    assert approve.session_proposal_response == core["sessionProposalResponse"]
    assert approve.session_settlement_request == core["sessionSettlementRequest"]
    assert approve.correlation_id == proposal.id
    assert approve.approved_chains == ("eip155:1",)

    dapp.receive_message(pairing.topic, approve.session_proposal_response, NOW, NOW)
    assert dapp.messages_to_send() == [Subscribe(session.topic)]
    dapp.receive_message(session.topic, approve.session_settlement_request, NOW, NOW)
    [ack] = dapp.messages_to_send()
    expected = OUT["settle_ack"]["relay_publish"]
    assert isinstance(ack, Publish)
    assert (ack.topic, ack.message, ack.ttl_s, ack.prompt, ack.tag) == (
        expected["topic"],
        expected["message"],
        expected["ttl"],
        expected["prompt"],
        expected["tag"],
    )
    assert base64.b64decode(ack.message)[1:13] == _iv("settle_ack")
    settled = [e for e in dapp.events_received() if isinstance(e, SessionSettled)]
    assert settled[0].session.namespaces == SESSION_NS
    assert settled[0].session.controller_public_key == OUT["wallet_public_key_hex"]
