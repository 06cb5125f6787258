"""DappEngine: the dApp role of the Sign protocol (pairing URI, propose, settle, request); pure.

Used by the bench and for bridging to an upstream wallet. Follows SignClient 2.25's dApp: the
proposal goes out through the relay composite ``wc_proposeSession`` (no irn_subscribe for the
pairing topic), the wallet's response arrives on the pairing topic, we derive the session key and
subscribe to the session topic, the settle arrives there and is acknowledged with tag 1103.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from walletconnect.crypto import derive_sym_key, hash_key
from walletconnect.engine.commands import ProposeSession, Subscribe
from walletconnect.engine.core import EngineConfig, EngineCore, Entropy, InboundRequest
from walletconnect.engine.events import (
    ProposalRejected,
    SessionEventReceived,
    SessionSettled,
    SessionUpdated,
)
from walletconnect.engine.records import (
    PairingRecord,
    PairingState,
    ProposalRecord,
    Role,
    SessionRecord,
    SessionState,
)
from walletconnect.engine.rpc import RpcMessage, encode_json, request_payload
from walletconnect.engine.scopes import (
    is_chain_id,
    scope_for_chain,
    session_chains,
    validate_session_namespaces,
)
from walletconnect.engine.states import PairingInput, SessionInput
from walletconnect.errors import (
    LocalProtocolError,
    NamespaceError,
    RemoteProtocolError,
    sdk_error,
)
from walletconnect.uri import PairingUri, format_uri

__all__ = ["DappEngine"]


class DappEngine(EngineCore):
    """The dApp side: create a pairing URI, propose, receive the settle, send requests."""

    def __init__(
        self, config: EngineConfig | None = None, *, entropy: Entropy | None = None
    ) -> None:
        super().__init__(Role.DAPP, config, entropy=entropy)
        self._request_handlers.update(
            {
                "wc_sessionSettle": self._on_settle,
                "wc_sessionUpdate": self._on_update,
                "wc_sessionEvent": self._on_event,
            }
        )
        self._response_handlers["wc_sessionPropose"] = self._on_proposal_response

    # ------------------------------------------------------------------ pairing + proposal

    def create_pairing(self, now: float) -> tuple[PairingRecord, str]:
        """A new pairing (random sym key, expiry now + 300 s) and its ``wc:`` URI.

        No subscribe is queued: ``connect`` uses ``wc_proposeSession``, which subscribes us.
        """
        sym = self._entropy(32)
        topic = hash_key(sym)
        expiry = int(now) + self.config.pairing_expiry_s
        pairing = PairingRecord(topic=topic, expiry=expiry)
        self._set_sym_key(topic, sym)
        self._save_pairing(pairing)
        uri = format_uri(PairingUri(topic=topic, sym_key=sym, expiry_timestamp=expiry))
        return pairing, uri

    def connect(
        self,
        pairing_topic: str,
        now: float,
        *,
        optional_namespaces: Mapping[str, Any],
        required_namespaces: Mapping[str, Any] | None = None,
        session_properties: Mapping[str, str] | None = None,
    ) -> ProposalRecord:
        """Propose a session on ``pairing_topic`` (``wc_proposeSession``, tag 1100, ttl 300).

        Entropy use, in order: proposer key pair (32), proposal id (2), IV (12).
        """
        self._pairing_step(pairing_topic, PairingInput.SEND_PROPOSAL)
        _private, public = self._new_keypair()
        rpc_id = self._new_id(now)
        expiry = int(now) + self.config.proposal_expiry_s
        metadata = dict(self.config.metadata)
        params: dict[str, Any] = {
            "requiredNamespaces": dict(required_namespaces or {}),
            "optionalNamespaces": dict(optional_namespaces),
            "relays": [{"protocol": "irn"}],
            "proposer": {"publicKey": public, "metadata": metadata},
            "expiryTimestamp": expiry,
            "pairingTopic": pairing_topic,
        }
        if session_properties is not None:
            params["sessionProperties"] = dict(session_properties)
        params["id"] = rpc_id
        text = encode_json(request_payload(rpc_id, "wc_sessionPropose", params))
        envelope = self._seal(pairing_topic, text)
        self.history.send_request(
            pairing_topic, rpc_id, "wc_sessionPropose", int(now) + self.config.history_ttl_s
        )
        proposal = ProposalRecord(
            id=rpc_id,
            pairing_topic=pairing_topic,
            proposer_public_key=public,
            proposer_metadata=metadata,
            required_namespaces=params["requiredNamespaces"],
            optional_namespaces=params["optionalNamespaces"],
            expiry=expiry,
            session_properties=params.get("sessionProperties"),
        )
        self._save_proposal(proposal)
        self._out.append(ProposeSession(pairing_topic, envelope, rpc_id))
        return proposal

    def _on_proposal_response(self, topic: str, msg: RpcMessage, now: float) -> None:
        proposal = self.proposals.get(msg.id)
        if proposal is None:
            self._drop(topic, "unexpected", msg.id)
            return
        if msg.error is not None:
            self._drop_proposal(proposal.id)
            code = msg.error.get("code")
            message = msg.error.get("message")
            self._emit(
                ProposalRejected(
                    proposal.id,
                    topic,
                    code if isinstance(code, int) else 0,
                    message if isinstance(message, str) else "",
                )
            )
            return
        result = msg.result if isinstance(msg.result, dict) else {}
        responder = result.get("responderPublicKey")
        private = self._private_keys.get(proposal.proposer_public_key)
        if not isinstance(responder, str) or len(responder) != 64 or private is None:
            self._drop(topic, "invalid", msg.id)
            return
        try:
            sym = derive_sym_key(private, bytes.fromhex(responder))
        except ValueError:
            self._drop(topic, "invalid", msg.id)
            return
        session_topic = hash_key(sym)
        self._set_sym_key(session_topic, sym)
        self._save_proposal(replace(proposal, session_topic=session_topic))
        if topic in self.pairings:
            pairing = self._pairing_step(topic, PairingInput.ACTIVATE)
            self._save_pairing(replace(pairing, expiry=int(now) + self.config.pairing_expiry_s))
        self._out.append(Subscribe(session_topic))

    def _on_settle(self, req: InboundRequest) -> None:
        proposal = next((p for p in self.proposals.values() if p.session_topic == req.topic), None)
        if proposal is None:
            raise RemoteProtocolError("settle without a proposal")
        p = req.params
        controller = p.get("controller")
        controller_key = controller.get("publicKey") if isinstance(controller, dict) else None
        metadata = controller.get("metadata") if isinstance(controller, dict) else None
        expiry = p.get("expiry")
        invalid = sdk_error("INVALID_SESSION_SETTLE_REQUEST")
        if (
            not isinstance(controller_key, str)
            or not isinstance(metadata, dict)
            or not isinstance(expiry, int)
            or isinstance(expiry, bool)
            or expiry <= req.now
        ):
            raise RemoteProtocolError("bad settle", invalid)
        try:
            namespaces = validate_session_namespaces(
                p.get("namespaces"), proposal.required_namespaces
            )
        except NamespaceError as exc:
            raise RemoteProtocolError("bad settle namespaces", exc.sdk_error) from exc
        session = SessionRecord(
            topic=req.topic,
            pairing_topic=proposal.pairing_topic,
            role=Role.DAPP,
            self_public_key=proposal.proposer_public_key,
            peer_public_key=controller_key,
            controller_public_key=controller_key,
            namespaces=namespaces,
            expiry=expiry,
            self_metadata=dict(self.config.metadata),
            peer_metadata=metadata,
            state=SessionState.SETTLING,
            required_namespaces=proposal.required_namespaces,
            optional_namespaces=proposal.optional_namespaces,
            session_properties=p.get("sessionProperties")
            if isinstance(p.get("sessionProperties"), dict)
            else None,
            scoped_properties=p.get("scopedProperties")
            if isinstance(p.get("scopedProperties"), dict)
            else None,
        )
        nxt = self._session_step(session, SessionInput.SEND_SETTLE_ACK)
        assert nxt is not None
        session = replace(session, state=nxt)
        self._save_session(session)
        self._drop_proposal(proposal.id)
        pairing = self.pairings.get(proposal.pairing_topic)
        if pairing is not None and pairing.state is PairingState.ACTIVE:
            self._save_pairing(replace(pairing, peer_metadata=metadata))
        self.send_result(req.topic, req.id, req.method, True)
        self._emit(SessionSettled(session, proposal.id))

    # ------------------------------------------------------------------ requests

    def request(
        self,
        topic: str,
        chain_id: str,
        method: str,
        params: Any,
        now: float,
        *,
        expiry_s: int | None = None,
    ) -> int:
        """wc_sessionRequest (tag 1108, ttl = expiry, default 900 s); returns the JSON-RPC id.

        Raises LocalProtocolError if the session is gone/expired or the chain / method is not
        in its namespaces (the SDK checks the same on the sender side).
        """
        session = self.live_session(topic, now, SessionInput.SEND_REQUEST)
        if chain_id not in session_chains(session.namespaces):
            raise LocalProtocolError(f"chain {chain_id} not in session")
        if method not in scope_for_chain(session.namespaces, chain_id, "methods"):
            raise LocalProtocolError(f"method {method} not approved on {chain_id}")
        ttl = self.config.request_expiry_s if expiry_s is None else int(expiry_s)
        body = {
            "request": {"method": method, "params": params, "expiryTimestamp": int(now) + ttl},
            "chainId": chain_id,
        }
        tvf = {"rpcMethods": [method], "chainId": chain_id}
        return self.send_request(topic, "wc_sessionRequest", body, now, ttl=ttl, tvf=tvf)

    # ------------------------------------------------------------------ inbound update / event

    def _on_update(self, req: InboundRequest) -> None:
        session = self._session_for_inbound(req, SessionInput.RECEIVE_UPDATE)
        if session.is_controller:
            raise RemoteProtocolError(
                "only the controller may update", sdk_error("UNAUTHORIZED_UPDATE_REQUEST")
            )
        if req.id // 1000 < session.last_update_id // 1000:
            raise RemoteProtocolError("out-of-order update", sdk_error("INVALID_UPDATE_REQUEST"))
        try:
            namespaces = validate_session_namespaces(
                req.params.get("namespaces"), session.required_namespaces
            )
        except NamespaceError as exc:
            raise RemoteProtocolError("bad update namespaces", exc.sdk_error) from exc
        self._save_session(replace(session, namespaces=namespaces, last_update_id=req.id))
        self.send_result(req.topic, req.id, req.method, True)
        self._emit(SessionUpdated(req.topic, namespaces))

    def _on_event(self, req: InboundRequest) -> None:
        session = self._session_for_inbound(req, SessionInput.RECEIVE_EVENT)
        event = req.params.get("event")
        chain_id = req.params.get("chainId")
        name = event.get("name") if isinstance(event, dict) else None
        if not isinstance(name, str) or not name:
            raise RemoteProtocolError("event without name", sdk_error("INVALID_EVENT"))
        if not is_chain_id(chain_id) or chain_id not in session_chains(session.namespaces):
            raise RemoteProtocolError(
                "event chain not in session", sdk_error("UNSUPPORTED_CHAINS", str(chain_id))
            )
        assert isinstance(chain_id, str)
        assert isinstance(event, dict)
        if name not in scope_for_chain(session.namespaces, chain_id, "events"):
            raise RemoteProtocolError("event not approved", sdk_error("UNAUTHORIZED_EVENT", name))
        self._no_reply(req.topic, req.id)
        self._emit(SessionEventReceived(req.topic, name, event.get("data"), chain_id))
