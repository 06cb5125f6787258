"""WalletEngine: the wallet role of the Sign protocol (pair, approve, reject, respond, emit, update); pure.

Consumes decrypted-on-arrival relay messages and clock ticks, emits relay commands and events
(see :mod:`walletconnect.engine.core` for the shared loop). Behaviour follows SignClient /
WalletKit 2.25 as observed on the wire, with our own stricter checks where the SDK has none:
proposals are validated on arrival, requests are checked against the session namespaces and the
request expiry, nothing is ever answered on an expired session, and duplicates (same topic,
JSON-RPC id and decrypted content, whatever the envelope bytes) never reach the application
twice. A ``wc_sessionRequest`` that reuses an id with *other* content is a replay of the id: it
never reaches the application's request path, it becomes a :class:`RequestIdReused` event to be
answered with an error via :meth:`WalletEngine.refuse_reused_id`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import structlog

from walletconnect.crypto import derive_sym_key, hash_key
from walletconnect.engine.commands import ApproveSession, Subscribe, Unsubscribe
from walletconnect.engine.core import (
    EngineConfig,
    EngineCore,
    Entropy,
    InboundRequest,
)
from walletconnect.engine.events import (
    ProposalReceived,
    RequestExpired,
    RequestIdReused,
    RequestReceived,
    RevokedRequestReceived,
    SessionAcknowledged,
    SessionDeleted,
    SessionSettled,
    SessionUpdated,
)
from walletconnect.engine.records import (
    HistoryRecord,
    PairingRecord,
    PairingState,
    PendingRequest,
    ProposalRecord,
    Role,
    SessionRecord,
    SessionState,
)
from walletconnect.engine.rpc import (
    JSONRPC_INVALID_PARAMS,
    RpcMessage,
    encode_json,
    error_payload,
    opts_for,
    request_payload,
    result_payload,
)
from walletconnect.engine.scopes import (
    proposal_error,
    scope_for_chain,
    session_chains,
    validate_session_namespaces,
)
from walletconnect.engine.states import PairingInput, SessionInput
from walletconnect.errors import (
    LocalProtocolError,
    RemoteProtocolError,
    SdkErrorInfo,
    sdk_error,
)
from walletconnect.storage import RecordKind
from walletconnect.uri import parse_uri

__all__ = ["MAX_REUSED_PENDING", "MAX_REVOKED_PENDING", "Tombstone", "WalletEngine"]

log = structlog.get_logger(__name__)

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_UNSET: Any = object()
#: Requests on revoked topics awaiting their error answer; the oldest are forgotten beyond this.
MAX_REVOKED_PENDING = 10_000
#: Reused-id refusals awaiting their error answer; the oldest are forgotten beyond this.
MAX_REUSED_PENDING = 10_000


@dataclass(frozen=True, slots=True)
class Tombstone:
    """A revoked session whose topic stays watched (sym key and subscription kept) until ``until``.

    Every ``wc_sessionRequest`` on it becomes a :class:`RevokedRequestReceived` event instead of
    reaching the application's signing path; ``code``/``message`` are the revocation reason.
    """

    topic: str
    until: float
    code: int
    message: str


class WalletEngine(EngineCore):
    """The wallet side: pair from a URI, answer proposals and requests, emit events.

    Verbs take ``now`` (unix seconds) and raise :class:`LocalProtocolError` (or
    :class:`~walletconnect.errors.NamespaceError` for bad namespaces) when illegal; inbound
    messages never raise. Drain ``messages_to_send()``, ``events_received()`` and
    ``changes_to_persist()`` after every call.
    """

    def __init__(
        self, config: EngineConfig | None = None, *, entropy: Entropy | None = None
    ) -> None:
        super().__init__(Role.WALLET, config, entropy=entropy)
        self._request_handlers.update(
            {
                "wc_sessionPropose": self._on_propose,
                "wc_sessionRequest": self._on_request,
                "wc_sessionUpdate": self._on_update,
            }
        )
        self._response_handlers["wc_sessionSettle"] = self._on_settle_response
        self.tombstones: dict[str, Tombstone] = {}
        self._revoked_pending: dict[str, float] = {}
        # history key -> (forget after, refusals owed): reused ids awaiting refuse_reused_id.
        self._reused_pending: dict[str, tuple[float, int]] = {}

    # ------------------------------------------------------------------ pairing

    def pair(self, uri: str, now: float) -> PairingRecord:
        """Pair from a ``wc:`` URI: store the pairing and its key, subscribe to its topic.

        Raises UriError for a malformed or expired URI, LocalProtocolError if the pairing is
        already active (as the SDK's "Pairing already exists").
        """
        parsed = parse_uri(uri, now=int(now))
        existing = self.pairings.get(parsed.topic)
        if existing is not None and existing.state is PairingState.ACTIVE:
            raise LocalProtocolError(f"pairing {parsed.topic} already exists")
        expiry = parsed.expiry_timestamp or int(now) + self.config.pairing_expiry_s
        pairing = PairingRecord(
            topic=parsed.topic,
            expiry=int(expiry),
            relay_protocol=parsed.relay_protocol or "irn",
            methods=tuple(parsed.methods or ()),
        )
        self._set_sym_key(parsed.topic, parsed.sym_key)
        self._save_pairing(pairing)
        self._out.append(Subscribe(parsed.topic))
        return pairing

    # ------------------------------------------------------------------ proposals

    def _on_propose(self, req: InboundRequest) -> None:
        if req.topic not in self.pairings:
            raise RemoteProtocolError("proposal on a topic without a pairing")
        proposal = self._parse_proposal(req)
        if proposal is None:
            return
        pairing = self._pairing_step(req.topic, PairingInput.RECEIVE_PROPOSAL)
        self._save_pairing(replace(pairing, peer_metadata=proposal.proposer_metadata))
        self._save_proposal(proposal)
        self._emit(ProposalReceived(proposal))

    def _parse_proposal(self, req: InboundRequest) -> ProposalRecord | None:
        p = req.params
        proposer = p.get("proposer")
        public_key = proposer.get("publicKey") if isinstance(proposer, dict) else None
        metadata = proposer.get("metadata") if isinstance(proposer, dict) else None
        required = p.get("requiredNamespaces", {})
        optional = p.get("optionalNamespaces", {})
        relays = p.get("relays", [{"protocol": "irn"}])
        props = p.get("sessionProperties")
        problems = [
            not isinstance(public_key, str) or not _HEX64.match(public_key),
            not isinstance(metadata, dict),
            not isinstance(required, dict)
            or not all(isinstance(v, dict) for v in required.values()),
            not isinstance(optional, dict)
            or not all(isinstance(v, dict) for v in optional.values()),
            not isinstance(relays, list),
            props is not None and not isinstance(props, dict),
        ]
        error: SdkErrorInfo | dict[str, Any] | None = None
        if any(problems):
            error = {"code": JSONRPC_INVALID_PARAMS, "message": "Invalid params"}
        else:
            error = proposal_error(required, optional)
        if error is not None:
            # Auto-reject (tag 1121), as the SDK does for proposals it cannot process.
            self.send_error(req.topic, req.id, "wc_sessionPropose", error, kind="autoReject")
            self._drop(req.topic, "invalid", req.id, answered=True)
            return None
        assert isinstance(public_key, str)
        assert isinstance(metadata, dict)
        expiry_ts = p.get("expiryTimestamp")
        own_expiry = int(req.now) + self.config.proposal_expiry_s
        expiry = min(expiry_ts, own_expiry) if _is_int(expiry_ts) else own_expiry
        scoped = p.get("scopedProperties")
        requests = p.get("requests")
        return ProposalRecord(
            id=req.id,
            pairing_topic=req.topic,
            proposer_public_key=public_key,
            proposer_metadata=metadata,
            required_namespaces=required,
            optional_namespaces=optional,
            expiry=int(expiry),
            relays=relays,
            session_properties=props,
            scoped_properties=scoped if isinstance(scoped, dict) else None,
            requests=requests if isinstance(requests, dict) else None,
            verify_context=self._verify_context(metadata, req.attestation),
        )

    def _live_proposal(self, proposal_id: int, now: float) -> ProposalRecord:
        proposal = self.proposals.get(proposal_id)
        if proposal is None:
            raise LocalProtocolError(f"no pending proposal {proposal_id}")
        if now >= proposal.expiry:
            self.expire(now)
            raise LocalProtocolError(f"proposal {proposal_id} expired")
        return proposal

    def approve(
        self,
        proposal_id: int,
        namespaces: Mapping[str, Any],
        now: float,
        *,
        session_properties: Mapping[str, str] | None = None,
        scoped_properties: Mapping[str, Any] | None = None,
        expiry: int | None = None,
    ) -> SessionRecord:
        """Approve a proposal with session ``namespaces`` (CAIP-10 accounts, methods, events).

        ``expiry`` (unix seconds) caps the session: the settle carries min(expiry, now + 7 d)
        and no later extend moves it past the cap (the SDK default is now + 7 d, uncapped).

        Validates like the SDK's ``approve()`` (5100-5104 / 9 via NamespaceError), derives the
        session key, queues one :class:`ApproveSession` (``wc_approveSession``), stores the
        session (state SETTLING until the dApp's 1103 ack) and activates the pairing (expiry
        now + 300 s). Entropy use, in order: session key pair (32), settle id (2), two IVs (12).
        """
        proposal = self._live_proposal(proposal_id, now)
        approved = validate_session_namespaces(namespaces, proposal.required_namespaces)
        if expiry is not None and expiry <= now:
            raise LocalProtocolError("session expiry cap is in the past")
        cap = expiry
        expiry = int(now) + self.config.session_expiry_s
        if cap is not None:
            expiry = min(expiry, int(cap))
        private, public = self._new_keypair()
        sym = derive_sym_key(private, bytes.fromhex(proposal.proposer_public_key))
        session_topic = hash_key(sym)
        self._set_sym_key(session_topic, sym)
        settle_id = self._new_id(now)
        relay = {"protocol": "irn"}
        settle_params: dict[str, Any] = {
            "relay": relay,
            "namespaces": approved,
            "controller": {"publicKey": public, "metadata": dict(self.config.metadata)},
            "expiry": expiry,
        }
        if session_properties is not None:
            settle_params["sessionProperties"] = dict(session_properties)
        if scoped_properties is not None:
            settle_params["scopedProperties"] = dict(scoped_properties)
        response_text = encode_json(
            result_payload(proposal.id, {"relay": relay, "responderPublicKey": public})
        )
        settle_text = encode_json(request_payload(settle_id, "wc_sessionSettle", settle_params))
        response_env = self._seal(proposal.pairing_topic, response_text)
        settle_env = self._seal(session_topic, settle_text)
        res = opts_for("wc_sessionPropose", "res")
        if self.history.get(proposal.pairing_topic, proposal.id) is not None:
            self.history.answer(
                proposal.pairing_topic, proposal.id, response_text, tag=res.tag, ttl=res.ttl
            )
        self.history.send_request(
            session_topic, settle_id, "wc_sessionSettle", int(now) + self.config.history_ttl_s
        )
        session = SessionRecord(
            topic=session_topic,
            pairing_topic=proposal.pairing_topic,
            role=Role.WALLET,
            self_public_key=public,
            peer_public_key=proposal.proposer_public_key,
            controller_public_key=public,
            namespaces=approved,
            expiry=expiry,
            self_metadata=dict(self.config.metadata),
            peer_metadata=proposal.proposer_metadata,
            state=SessionState.SETTLING,
            required_namespaces=proposal.required_namespaces,
            optional_namespaces=proposal.optional_namespaces,
            session_properties=dict(session_properties) if session_properties else None,
            scoped_properties=dict(scoped_properties) if scoped_properties else None,
            expiry_cap=int(cap) if cap is not None else None,
        )
        self._save_session(session)
        self._drop_proposal(proposal.id)
        if proposal.pairing_topic in self.pairings:
            pairing = self._pairing_step(proposal.pairing_topic, PairingInput.ACTIVATE)
            self._save_pairing(
                replace(
                    pairing,
                    expiry=int(now) + self.config.pairing_expiry_s,
                    peer_metadata=proposal.proposer_metadata,
                )
            )
        chains = sorted(session_chains(approved))
        self._out.append(
            ApproveSession(
                session_topic=session_topic,
                pairing_topic=proposal.pairing_topic,
                session_proposal_response=response_env,
                session_settlement_request=settle_env,
                correlation_id=proposal.id,
                approved_chains=tuple(chains),
                approved_methods=tuple(_members(approved, "methods")),
                approved_events=tuple(_members(approved, "events")),
                session_properties=settle_params.get("sessionProperties"),
                scoped_properties=settle_params.get("scopedProperties"),
            )
        )
        self._emit(SessionSettled(session, proposal.id))
        return session

    def reject(self, proposal_id: int, now: float, reason: SdkErrorInfo | None = None) -> None:
        """Reject a proposal (tag 1120) with ``reason`` (default USER_REJECTED 5000)."""
        proposal = self._live_proposal(proposal_id, now)
        err = reason or sdk_error("USER_REJECTED")
        if self.history.get(proposal.pairing_topic, proposal.id) is None:
            self.history.receive_request(
                proposal.pairing_topic,
                proposal.id,
                "wc_sessionPropose",
                int(now) + self.config.history_ttl_s,
            )
        self.send_error(proposal.pairing_topic, proposal.id, "wc_sessionPropose", err, "reject")
        self._drop_proposal(proposal.id)

    def _on_settle_response(self, topic: str, msg: RpcMessage, now: float) -> None:
        session = self.sessions.get(topic)
        if session is None:
            return
        if msg.error is not None:
            self._remove_session(session)
            self._emit(
                SessionDeleted(
                    topic,
                    _code(msg.error),
                    str(msg.error.get("message", "")),
                    by_peer=True,
                )
            )
            return
        nxt = self._session_step(session, SessionInput.RECEIVE_SETTLE_ACK)
        if nxt is None:
            self._drop(topic, "unexpected", msg.id)
            return
        self._save_session(replace(session, state=nxt))
        self._emit(SessionAcknowledged(topic))

    # ------------------------------------------------------------------ requests

    def _on_request(self, req: InboundRequest) -> None:
        tombstone = self.tombstones.get(req.topic)
        if tombstone is not None and req.topic not in self.sessions:
            self._on_revoked_request(req, tombstone)
            return
        session = self._session_for_inbound(req, SessionInput.RECEIVE_REQUEST)
        request = req.params.get("request")
        chain_id = req.params.get("chainId")
        method = request.get("method") if isinstance(request, dict) else None
        if not isinstance(method, str) or not method:
            raise RemoteProtocolError("request without method", sdk_error("INVALID_METHOD"))
        if not isinstance(chain_id, str) or chain_id not in session_chains(session.namespaces):
            raise RemoteProtocolError(
                "chain not in session", sdk_error("UNSUPPORTED_CHAINS", str(chain_id))
            )
        if method not in scope_for_chain(session.namespaces, chain_id, "methods"):
            raise RemoteProtocolError(
                "method not approved", sdk_error("UNAUTHORIZED_METHOD", method)
            )
        assert isinstance(request, dict)
        expiry_ts = request.get("expiryTimestamp")
        base = req.published_at if req.published_at > 0 else req.now
        expiry = (
            expiry_ts
            if isinstance(expiry_ts, int) and not isinstance(expiry_ts, bool)
            else int(base) + self.config.request_expiry_s
        )
        if expiry <= req.now:
            # Honour the dApp's expiry: never emitted, never answered.
            self._no_reply(req.topic, req.id)
            self._drop(req.topic, "expired", req.id)
            self._emit(RequestExpired(req.topic, req.id))
            return
        pending = PendingRequest(
            topic=req.topic,
            id=req.id,
            method=method,
            params=request.get("params"),
            chain_id=chain_id,
            expiry=expiry,
            received_at=req.now,
            verify_context=self._verify_context(session.peer_metadata, req.attestation),
        )
        key = self._pending_key(req.topic, req.id)
        self.pending[key] = pending
        self._put(RecordKind.PENDING_REQUEST, key, pending)
        self._emit(RequestReceived(pending))

    def respond(
        self,
        topic: str,
        rpc_id: int,
        now: float,
        *,
        result: Any = _UNSET,
        error: SdkErrorInfo | Mapping[str, Any] | None = None,
    ) -> None:
        """Answer a pending wc_sessionRequest with ``result`` or ``error`` (tag 1109, ttl 900).

        Raises LocalProtocolError if the request is unknown, already answered or expired, or
        the session is gone or expired (nothing is sent then).
        """
        if (result is _UNSET) == (error is None):
            raise LocalProtocolError("respond() needs exactly one of result / error")
        key = self._pending_key(topic, rpc_id)
        pending = self.pending.get(key)
        if pending is None and key in self._revoked_pending:
            if error is None:
                raise LocalProtocolError(f"session {topic} is revoked: only an error may answer")
            del self._revoked_pending[key]
            self.send_error(topic, rpc_id, "wc_sessionRequest", error)
            return
        if pending is None:
            raise LocalProtocolError(f"no pending request {rpc_id} on {topic}")
        if now >= pending.expiry:
            self.expire(now)
            raise LocalProtocolError(f"request {rpc_id} expired")
        self.live_session(topic, now, SessionInput.RESPOND)
        del self.pending[key]
        self._delete(RecordKind.PENDING_REQUEST, key)
        if error is not None:
            self.send_error(topic, rpc_id, "wc_sessionRequest", error)
        else:
            self.send_result(topic, rpc_id, "wc_sessionRequest", result)

    def _on_reused_id(self, topic: str, msg: RpcMessage, record: HistoryRecord, now: float) -> None:
        if "wc_sessionRequest" not in (msg.method, record.method):
            super()._on_reused_id(topic, msg, record, now)
            return
        params = msg.params if isinstance(msg.params, dict) else {}
        request = params.get("request")
        method = request.get("method") if isinstance(request, dict) else None
        chain_id = params.get("chainId")
        key = self._pending_key(topic, msg.id)
        _, owed = self._reused_pending.pop(key, (0.0, 0))
        self._reused_pending[key] = (now + self.config.request_expiry_s, owed + 1)
        while len(self._reused_pending) > MAX_REUSED_PENDING:
            del self._reused_pending[next(iter(self._reused_pending))]
        self.stats["reused_id"] += 1
        log.info("wc.request_id_reused", topic=topic, id=msg.id, first_seen=record.first_seen)
        self._emit(
            RequestIdReused(
                topic=topic,
                id=msg.id,
                method=method if isinstance(method, str) else "",
                first_seen=record.first_seen,
                chain_id=chain_id if isinstance(chain_id, str) else None,
                received_at=now,
            )
        )

    def refuse_reused_id(
        self, topic: str, rpc_id: int, now: float, *, error: SdkErrorInfo | Mapping[str, Any]
    ) -> None:
        """Answer a :class:`RequestIdReused` with a JSON-RPC ``error`` (tag 1109, ttl 900).

        The earlier request's stored answer is kept (a true duplicate of it still gets that
        answer back). Raises LocalProtocolError when no refusal is owed for ``(topic, id)`` (or
        it expired) or the topic's key is gone.
        """
        key = self._pending_key(topic, rpc_id)
        until, owed = self._reused_pending.get(key, (0.0, 0))
        if owed <= 0 or until <= now:
            self._reused_pending.pop(key, None)
            raise LocalProtocolError(f"no reused id {rpc_id} awaiting a refusal on {topic}")
        if owed == 1:
            del self._reused_pending[key]
        else:
            self._reused_pending[key] = (until, owed - 1)
        err = error.to_dict() if isinstance(error, SdkErrorInfo) else dict(error)
        opts = opts_for("wc_sessionRequest", "res")
        self._publish(
            topic,
            encode_json(error_payload(rpc_id, err)),
            tag=opts.tag,
            ttl=opts.ttl,
            prompt=opts.prompt,
            correlation_id=rpc_id,
        )

    def pending_requests(self) -> list[PendingRequest]:
        """Requests not answered yet, oldest first (re-dispatch these after a restart)."""
        return sorted(self.pending.values(), key=lambda p: (p.received_at, p.id))

    def is_revoked_pending(self, topic: str, rpc_id: int) -> bool:
        """Whether ``rpc_id`` on ``topic`` is a request of a revoked session awaiting its error."""
        return self._pending_key(topic, rpc_id) in self._revoked_pending

    # ------------------------------------------------------------------ revocation (tombstones)

    def revoke(
        self,
        topic: str,
        now: float,
        *,
        reason: SdkErrorInfo,
        watch_until: float,
        notify: bool = True,
    ) -> bool:
        """End a session for good but keep watching its topic until ``watch_until``.

        With ``notify`` the dApp gets ``wc_sessionDelete`` with ``reason`` (skip it when another
        instance sharing the session already sent it). The session, its pending requests and its
        private key go; its sym key, history and relay subscription stay, as a :class:`Tombstone`,
        so later requests on the topic are seen (:class:`RevokedRequestReceived`) and can be
        refused. Requests pending at this moment may still be answered, with an error only.
        Returns False when there is no live session on ``topic`` (nothing done).
        """
        session = self.sessions.get(topic)
        if session is None:
            return False
        if notify and now < session.expiry:
            self.send_request(topic, "wc_sessionDelete", reason.to_dict(), now)
        self.sessions.pop(topic, None)
        self._delete(RecordKind.SESSION, topic)
        for key in [k for k, p in self.pending.items() if p.topic == topic]:
            pending = self.pending.pop(key)
            self._delete(RecordKind.PENDING_REQUEST, key)
            self._remember_revoked(key, float(pending.expiry))
        if self._private_keys.pop(session.self_public_key, None) is not None:
            self._delete(RecordKind.PRIVATE_KEY, session.self_public_key)
        self._emit(SessionDeleted(topic, reason.code, reason.message, by_peer=False))
        if watch_until > now:
            self.tombstones[topic] = Tombstone(topic, watch_until, reason.code, reason.message)
        else:
            self._bury(topic)
        return True

    def watch_revoked(
        self, topic: str, now: float, *, reason: SdkErrorInfo, watch_until: float
    ) -> bool:
        """Watch a revoked session's topic again after a restart (its sym key was kept).

        Returns False (and forgets the key) when ``watch_until`` has passed; False when the topic
        has a live session (revoke it instead) or no key.
        """
        if topic in self.sessions or topic in self.pairings or topic not in self._sym_keys:
            return False
        if watch_until <= now:
            self._bury(topic)
            return False
        known = topic in self.tombstones
        self.tombstones[topic] = Tombstone(topic, watch_until, reason.code, reason.message)
        if not known:
            self._out.append(Subscribe(topic))
        return True

    def _bury(self, topic: str) -> None:
        """Stop watching a revoked topic: forget its key and history, unsubscribe."""
        self.tombstones.pop(topic, None)
        self.history.drop_topic(topic)
        self._drop_sym_key(topic)
        self._out.append(Unsubscribe(topic))

    def _remember_revoked(self, key: str, expiry: float) -> None:
        self._revoked_pending[key] = expiry
        while len(self._revoked_pending) > MAX_REVOKED_PENDING:
            del self._revoked_pending[next(iter(self._revoked_pending))]

    def _on_revoked_request(self, req: InboundRequest, tombstone: Tombstone) -> None:
        request = req.params.get("request")
        method = request.get("method") if isinstance(request, dict) else None
        chain_id = req.params.get("chainId")
        self._remember_revoked(
            self._pending_key(req.topic, req.id), req.now + self.config.request_expiry_s
        )
        self._emit(
            RevokedRequestReceived(
                topic=req.topic,
                id=req.id,
                method=method if isinstance(method, str) else "",
                chain_id=chain_id if isinstance(chain_id, str) else None,
                params=request.get("params") if isinstance(request, dict) else None,
                received_at=req.now,
                code=tombstone.code,
                message=tombstone.message,
            )
        )

    def topics(self) -> list[str]:
        """Pairings, sessions and watched revoked topics (resubscribe these)."""
        return [*super().topics(), *(t for t in self.tombstones if t not in self.sessions)]

    def next_deadline(self) -> float | None:
        """The earliest expiry, tombstones included."""
        times = [t.until for t in self.tombstones.values()]
        base = super().next_deadline()
        if base is not None:
            times.append(base)
        return min(times, default=None)

    def expire(self, now: float) -> None:
        """Expire as the core does, and stop watching revoked topics past their ``until``."""
        super().expire(now)
        for topic in [t for t, stone in self.tombstones.items() if stone.until <= now]:
            self._bury(topic)
        for key in [k for k, until in self._revoked_pending.items() if until <= now]:
            del self._revoked_pending[key]
        for key in [k for k, (until, _) in self._reused_pending.items() if until <= now]:
            del self._reused_pending[key]

    # ------------------------------------------------------------------ update / events

    def _on_update(self, req: InboundRequest) -> None:
        session = self._session_for_inbound(req, SessionInput.RECEIVE_UPDATE)
        if session.is_controller:
            raise RemoteProtocolError(
                "only the controller may update", sdk_error("UNAUTHORIZED_UPDATE_REQUEST")
            )

    def update(self, topic: str, namespaces: Mapping[str, Any], now: float) -> int:
        """wc_sessionUpdate (controller): new namespaces, applied locally at once; returns the id."""
        session = self.live_session(topic, now, SessionInput.SEND_UPDATE)
        if not session.is_controller:
            raise LocalProtocolError("only the controller may update")
        approved = validate_session_namespaces(namespaces, session.required_namespaces)
        rpc_id = self.send_request(topic, "wc_sessionUpdate", {"namespaces": approved}, now)
        self._save_session(replace(session, namespaces=approved, last_update_id=rpc_id))
        self._emit(SessionUpdated(topic, approved))
        return rpc_id

    def emit(self, topic: str, name: str, data: Any, chain_id: str, now: float) -> int:
        """wc_sessionEvent (e.g. accountsChanged, chainChanged); the dApp sends no reply."""
        session = self.live_session(topic, now, SessionInput.SEND_EVENT)
        if chain_id not in session_chains(session.namespaces):
            raise LocalProtocolError(f"chain {chain_id} not in session")
        if name not in scope_for_chain(session.namespaces, chain_id, "events"):
            raise LocalProtocolError(f"event {name} not approved for {chain_id}")
        params = {"event": {"name": name, "data": data}, "chainId": chain_id}
        return self.send_request(topic, "wc_sessionEvent", params, now)


def _code(error: Mapping[str, Any]) -> int:
    code = error.get("code")
    return code if isinstance(code, int) and not isinstance(code, bool) else 0


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _members(namespaces: Mapping[str, Any], member: str) -> list[str]:
    out: list[str] = []
    for ns in namespaces.values():
        values = ns.get(member, []) if isinstance(ns, Mapping) else []
        out.extend(v for v in values if isinstance(v, str) and v not in out)
    return out
