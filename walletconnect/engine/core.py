"""State and plumbing shared by both Sign engine roles; pure, no I/O.

:class:`EngineCore` owns the keychain, pairings, sessions, proposals, pending requests and the
JSON-RPC history; it decrypts inbound envelopes, de-duplicates on ``(topic, id)`` and content
(an id reused with other content goes to :meth:`EngineCore._on_reused_id`), dispatches by
method to handlers registered by the role engine, seals and queues outbound messages, and sweeps
expiries. It also implements the verbs and inbound methods both roles share: ping, extend,
disconnect, wc_sessionPing / wc_sessionExtend / wc_sessionDelete, wc_pairingPing /
wc_pairingDelete, session / pairing expiry.

Error scope is per message: a malformed, undecryptable, unknown-method or oversized message is
answered with a JSON-RPC error where a response is due, counted in :attr:`EngineCore.stats`,
logged, reported as :class:`MessageDropped`, and never raised out of ``receive_message``.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import structlog

from walletconnect import jsonsafe
from walletconnect.crypto import generate_keypair, hash_message
from walletconnect.engine.commands import Command, Publish, Unsubscribe
from walletconnect.engine.events import (
    EngineEvent,
    MessageDropped,
    PairingDeleted,
    PairingExpired,
    PingReceived,
    ProposalExpired,
    RequestExpired,
    ResponseReceived,
    SessionDeleted,
    SessionExpired,
    SessionExtended,
)
from walletconnect.engine.history import InboundStatus, JsonRpcHistory, content_hash
from walletconnect.engine.records import (
    HistoryRecord,
    PairingRecord,
    PendingRequest,
    ProposalRecord,
    Role,
    SessionRecord,
    SessionState,
    VerifyContext,
    history_key,
)
from walletconnect.engine.rpc import (
    JSONRPC_INVALID_PARAMS,
    JSONRPC_INVALID_REQUEST,
    RpcMessage,
    encode_json,
    error_payload,
    opts_for,
    parse_rpc,
    request_payload,
    result_payload,
)
from walletconnect.engine.states import PairingInput, SessionInput, pairing_next, session_next
from walletconnect.envelope import EnvelopeType, open_sealed, parse_envelope, seal
from walletconnect.errors import (
    CryptoError,
    JsonRpcParseError,
    LocalProtocolError,
    RemoteProtocolError,
    SdkErrorInfo,
    sdk_error,
)
from walletconnect.jsonrpc import payload_id
from walletconnect.storage import Delete, Put, RecordKind, StoreChange, StoreSnapshot

__all__ = [
    "EngineConfig",
    "EngineCore",
    "Entropy",
    "InboundRequest",
]

log = structlog.get_logger(__name__)

Entropy = Callable[[int], bytes]
"""A source of random bytes: ``entropy(n) -> n bytes`` (``os.urandom`` by default)."""

SESSION_EXPIRY_S = 7 * 24 * 3600
PAIRING_EXPIRY_S = 300
PROPOSAL_EXPIRY_S = 300
REQUEST_EXPIRY_S = 900
DAY_S = 86400


@dataclass(frozen=True, slots=True)
class EngineConfig:
    """Per-engine settings; every limit has a safe default."""

    metadata: Mapping[str, Any] = field(
        default_factory=lambda: {"name": "wcproxy", "description": "", "url": "", "icons": [""]}
    )
    max_message_chars: int = 1024 * 1024
    """Envelopes longer than this are dropped undecrypted (no id can be known)."""
    max_payload_bytes: int = 256 * 1024
    """Decrypted requests larger than this are refused with -32600 (if they carry an id)."""
    history_ttl_s: int = 30 * DAY_S
    session_expiry_s: int = SESSION_EXPIRY_S
    pairing_expiry_s: int = PAIRING_EXPIRY_S
    proposal_expiry_s: int = PROPOSAL_EXPIRY_S
    request_expiry_s: int = REQUEST_EXPIRY_S


@dataclass(frozen=True, slots=True)
class InboundRequest:
    """A decrypted, parsed, first-seen request handed to a method handler."""

    topic: str
    id: int
    method: str
    params: Any
    published_at: float
    now: float
    attestation: str | None = None
    encrypted_id: str = ""


RequestHandler = Callable[[InboundRequest], None]
ResponseHandler = Callable[[str, RpcMessage, float], None]


class EngineCore:
    """Shared engine state and message plumbing; role engines subclass it and add handlers."""

    role: Role

    def __init__(
        self, role: Role, config: EngineConfig | None = None, *, entropy: Entropy | None = None
    ) -> None:
        self.role = role
        self.config = config or EngineConfig()
        self._entropy: Entropy = entropy or os.urandom
        self._sym_keys: dict[str, bytes] = {}
        self._private_keys: dict[str, bytes] = {}
        self._client_seed: bytes | None = None
        self.pairings: dict[str, PairingRecord] = {}
        self.sessions: dict[str, SessionRecord] = {}
        self.proposals: dict[int, ProposalRecord] = {}
        self.pending: dict[str, PendingRequest] = {}
        self._changes: list[StoreChange] = []
        self.history = JsonRpcHistory(self._changes.append)
        self._out: list[Command] = []
        self._events: list[EngineEvent] = []
        self.stats: Counter[str] = Counter()
        self._last_id = 0
        self._request_handlers: dict[str, RequestHandler] = {
            "wc_sessionPing": self._on_session_ping,
            "wc_sessionExtend": self._on_session_extend,
            "wc_sessionDelete": self._on_session_delete,
            "wc_pairingPing": self._on_pairing_ping,
            "wc_pairingDelete": self._on_pairing_delete,
        }
        self._response_handlers: dict[str, ResponseHandler] = {}

    # ------------------------------------------------------------------ sans-I/O outputs

    def events_received(self) -> list[EngineEvent]:
        """Drain the events produced since the last call."""
        events, self._events = self._events, []
        return events

    def messages_to_send(self) -> list[Command]:
        """Drain the relay commands produced since the last call (in order)."""
        out, self._out = self._out, []
        return out

    def changes_to_persist(self) -> list[StoreChange]:
        """Drain the store changes produced since the last call (persist before sending)."""
        changes, self._changes[:] = list(self._changes), []
        return changes

    # ------------------------------------------------------------------ snapshot / restore

    def snapshot(self) -> StoreSnapshot:
        """Everything this engine keeps, as plain records."""
        return StoreSnapshot(
            client_seed=self._client_seed,
            sym_keys=dict(self._sym_keys),
            private_keys=dict(self._private_keys),
            pairings=dict(self.pairings),
            sessions=dict(self.sessions),
            proposals=dict(self.proposals),
            history={r.key: r for r in self.history},
            pending_requests=dict(self.pending),
        )

    def restore(self, snapshot: StoreSnapshot) -> None:
        """Replace the engine state with ``snapshot`` (after a restart). Reports no changes.

        Sessions of the other role in a shared snapshot are ignored.
        """
        self._client_seed = snapshot.client_seed
        self._sym_keys = dict(snapshot.sym_keys)
        self._private_keys = dict(snapshot.private_keys)
        self.pairings = dict(snapshot.pairings)
        self.sessions = {t: s for t, s in snapshot.sessions.items() if s.role is self.role}
        self.proposals = dict(snapshot.proposals)
        self.history.restore(snapshot.history)
        self.pending = dict(snapshot.pending_requests)

    @property
    def client_seed(self) -> bytes:
        """The Ed25519 relay identity seed, created on first use (persisted)."""
        if self._client_seed is None:
            self._client_seed = self._entropy(32)
            self._put(RecordKind.CLIENT_SEED, "client_ed25519_seed", self._client_seed)
        return self._client_seed

    def topics(self) -> list[str]:
        """Every topic we must be subscribed to (pairings and sessions) — resubscribe these."""
        return [*self.pairings, *self.sessions]

    # ------------------------------------------------------------------ small helpers

    def _put(self, kind: RecordKind, key: str, value: Any) -> None:
        self._changes.append(Put(kind, key, value))

    def _delete(self, kind: RecordKind, key: str) -> None:
        self._changes.append(Delete(kind, key))

    def _emit(self, event: EngineEvent) -> None:
        self._events.append(event)

    def _new_id(self, now: float) -> int:
        """A 16-digit ``payloadId`` (ms timestamp * 1000 + 3 random digits), strictly increasing.

        Monotonic so that a burst within one millisecond never reuses an id: the peer
        de-duplicates on (topic, id) and would drop the second message.
        """
        rpc_id = payload_id(int(now * 1000), int.from_bytes(self._entropy(2), "big"))
        rpc_id = max(rpc_id, self._last_id + 1)
        self._last_id = rpc_id
        return rpc_id

    def _new_keypair(self) -> tuple[bytes, str]:
        pair = generate_keypair(self._entropy(32))
        public = pair.public_key.hex()
        self._private_keys[public] = pair.private_key
        self._put(RecordKind.PRIVATE_KEY, public, pair.private_key)
        return pair.private_key, public

    def _set_sym_key(self, topic: str, key: bytes) -> None:
        self._sym_keys[topic] = key
        self._put(RecordKind.SYM_KEY, topic, key)

    def _drop_sym_key(self, topic: str) -> None:
        if self._sym_keys.pop(topic, None) is not None:
            self._delete(RecordKind.SYM_KEY, topic)

    def _iv(self) -> bytes:
        return self._entropy(12)

    def _seal(self, topic: str, text: str) -> str:
        key = self._sym_keys.get(topic)
        if key is None:
            raise LocalProtocolError(f"no key for topic {topic}")
        return seal(text, key, iv=self._iv())

    def _save_pairing(self, pairing: PairingRecord) -> None:
        self.pairings[pairing.topic] = pairing
        self._put(RecordKind.PAIRING, pairing.topic, pairing)

    def _save_session(self, session: SessionRecord) -> None:
        self.sessions[session.topic] = session
        self._put(RecordKind.SESSION, session.topic, session)

    def _save_proposal(self, proposal: ProposalRecord) -> None:
        self.proposals[proposal.id] = proposal
        self._put(RecordKind.PROPOSAL, str(proposal.id), proposal)

    def _drop_proposal(self, proposal_id: int) -> None:
        if self.proposals.pop(proposal_id, None) is not None:
            self._delete(RecordKind.PROPOSAL, str(proposal_id))

    def _pairing_step(self, topic: str, event: PairingInput) -> PairingRecord:
        pairing = self.pairings.get(topic)
        if pairing is None:
            raise LocalProtocolError(f"unknown pairing {topic}")
        nxt = pairing_next(pairing.state, event)
        if nxt is None:
            raise LocalProtocolError(f"{event} is illegal for a {pairing.state} pairing")
        return pairing if nxt is pairing.state else replace(pairing, state=nxt)

    def _session_step(self, session: SessionRecord, event: SessionInput) -> SessionState | None:
        return session_next(self.role, session.state, event)

    def live_session(self, topic: str, now: float, event: SessionInput) -> SessionRecord:
        """The session on ``topic`` if ``event`` is legal for it now; expires it if due.

        Raises LocalProtocolError for an unknown, expired or wrong-state session.
        """
        session = self.sessions.get(topic)
        if session is None:
            raise LocalProtocolError(f"no session {topic}")
        if now >= session.expiry:
            self._expire_session(session)
            raise LocalProtocolError(f"session {topic} expired")
        if self._session_step(session, event) is None:
            raise LocalProtocolError(f"{event} is illegal in session state {session.state}")
        return session

    # ------------------------------------------------------------------ outbound

    def _publish(
        self,
        topic: str,
        text: str,
        *,
        tag: int,
        ttl: int,
        prompt: bool,
        correlation_id: int | None,
        tvf: dict[str, Any] | None = None,
    ) -> None:
        self._out.append(
            Publish(topic, self._seal(topic, text), ttl, tag, prompt, correlation_id, tvf or {})
        )

    def send_request(
        self,
        topic: str,
        method: str,
        params: Any,
        now: float,
        *,
        ttl: int | None = None,
        tvf: dict[str, Any] | None = None,
        rpc_id: int | None = None,
    ) -> int:
        """Seal and queue a request of ours; returns its JSON-RPC id."""
        if rpc_id is None:
            rpc_id = self._new_id(now)
            # History is keyed on (topic, id) for both directions: never take an id the peer used
            # on this topic (within a millisecond that is 1 chance in 1000), or its record would
            # be replaced and our answer to it could not be stored.
            while self.history.get(topic, rpc_id) is not None:
                rpc_id = self._new_id(now)
        opts = opts_for(method, "req")
        ttl_s = opts.ttl if ttl is None else ttl
        self.history.send_request(topic, rpc_id, method, int(now) + max(ttl_s, DAY_S))
        text = encode_json(request_payload(rpc_id, method, params))
        self._publish(
            topic, text, tag=opts.tag, ttl=ttl_s, prompt=opts.prompt, correlation_id=rpc_id, tvf=tvf
        )
        return rpc_id

    def _reply(
        self, topic: str, rpc_id: int, method: str, payload: dict[str, Any], kind: str
    ) -> None:
        opts = opts_for(method, kind)
        text = encode_json(payload)
        if self.history.get(topic, rpc_id) is not None:
            self.history.answer(topic, rpc_id, text, tag=opts.tag, ttl=opts.ttl)
        self._publish(
            topic, text, tag=opts.tag, ttl=opts.ttl, prompt=opts.prompt, correlation_id=rpc_id
        )

    def send_result(self, topic: str, rpc_id: int, method: str, result: Any) -> None:
        """Answer an inbound request with ``result`` (stored for idempotent re-sends)."""
        self._reply(topic, rpc_id, method, result_payload(rpc_id, result), "res")

    def send_error(
        self,
        topic: str,
        rpc_id: int,
        method: str,
        error: SdkErrorInfo | Mapping[str, Any],
        kind: str = "res",
    ) -> None:
        """Answer an inbound request with a JSON-RPC error (stored for idempotent re-sends)."""
        err = error.to_dict() if isinstance(error, SdkErrorInfo) else dict(error)
        self._reply(topic, rpc_id, method, error_payload(rpc_id, err), kind)

    def resend_recent_answers(self, now: float, *, window_s: float, limit: int) -> int:
        """Queue again our stored answers to ``wc_sessionRequest`` received in the last ``window_s`` s.

        For a restart: an answer is persisted before it is published, but a crash can come before
        the relay acknowledged the publish, and nothing re-sends it unless the peer repeats its
        request. Re-sending is harmless (a peer ignores an answer to a request it has resolved);
        at most ``limit`` answers go out, the newest. Returns how many were queued.
        """
        recent = sorted(
            (
                record
                for record in self.history
                if record.direction == "in"
                and record.method == "wc_sessionRequest"
                and record.response is not None
                and record.first_seen >= now - window_s
                and record.topic in self._sym_keys
            ),
            key=lambda record: (record.first_seen, record.id),
            reverse=True,
        )[:limit]
        for record in reversed(recent):  # oldest first, as they were answered
            assert record.response is not None
            self._out.append(
                Publish(
                    record.topic,
                    self._seal(record.topic, record.response),
                    record.response_ttl,
                    record.response_tag,
                    False,
                    record.id,
                )
            )
        return len(recent)

    def _no_reply(self, topic: str, rpc_id: int) -> None:
        if self.history.get(topic, rpc_id) is not None:
            self.history.answer(topic, rpc_id, None)

    # ------------------------------------------------------------------ inbound

    def receive_message(
        self,
        topic: str,
        message: str,
        published_at: float,
        now: float,
        *,
        attestation: str | None = None,
    ) -> None:
        """Consume one relay message (an envelope) for ``topic``. Never raises for bad input.

        ``published_at`` is the relay's timestamp in seconds; ``now`` the current unix time.
        """
        self.stats["received"] += 1
        self.expire(now)
        if not isinstance(message, str) or len(message) > self.config.max_message_chars:
            self._drop(topic, "oversized")
            return
        key = self._sym_keys.get(topic)
        if key is None:
            self._drop(topic, "unknown_topic")
            return
        try:
            envelope = parse_envelope(message, max_size=self.config.max_message_chars)
            if envelope.type is not EnvelopeType.TYPE_0:
                self._drop(topic, "unsupported_envelope")
                return
            text = open_sealed(envelope, key)
        except CryptoError:
            self._drop(topic, "undecryptable")
            return
        try:
            msg = parse_rpc(text, max_bytes=self.config.max_payload_bytes)
        except JsonRpcParseError as exc:
            self._refuse_unparsable(topic, text, exc)
            return
        try:
            if msg.is_request:
                self._receive_request(topic, msg, published_at, now, attestation, message)
            else:
                self._receive_response(topic, msg, now)
        except RemoteProtocolError as exc:
            # A handler refused the message after the duplicate check.
            log.info("wc.message_refused", topic=topic, id=msg.id, reason=str(exc))
            if msg.is_request and exc.sdk_error is not None:
                self.send_error(topic, msg.id, msg.method or "", exc.sdk_error)
                self._drop(topic, "invalid", msg.id, answered=True)
            else:
                self._drop(topic, "invalid", msg.id)

    def _drop(
        self, topic: str, reason: str, rpc_id: int | None = None, *, answered: bool = False
    ) -> None:
        self.stats[f"dropped_{reason}"] += 1
        log.info("wc.message_dropped", topic=topic, reason=reason, id=rpc_id, answered=answered)
        self._emit(MessageDropped(topic, reason, rpc_id, answered))

    def _refuse_unparsable(self, topic: str, text: str, exc: JsonRpcParseError) -> None:
        """Answer -32600 when the bad message still carries a usable request id."""
        rpc_id: int | None = None
        reason = "oversized" if "oversized" in exc.reason else "malformed"
        rpc_id = _salvage_id(text, self.config.max_message_chars)
        if rpc_id is None:
            self._drop(topic, reason)
            return
        err = {"code": JSONRPC_INVALID_REQUEST, "message": "Invalid Request"}
        self._out.append(
            Publish(
                topic,
                self._seal(topic, encode_json(error_payload(rpc_id, err))),
                DAY_S,
                0,
                False,
                rpc_id,
            )
        )
        self._drop(topic, reason, rpc_id, answered=True)

    def _receive_request(
        self,
        topic: str,
        msg: RpcMessage,
        published_at: float,
        now: float,
        attestation: str | None,
        message: str,
    ) -> None:
        assert msg.method is not None
        inbound = self.history.receive_request(
            topic,
            msg.id,
            msg.method,
            int(now) + self.config.history_ttl_s,
            digest=content_hash(msg.method, msg.params),
            now=now,
        )
        if inbound.status is InboundStatus.REUSED:
            self._on_reused_id(topic, msg, inbound.record, now)
            return
        if inbound.status is not InboundStatus.NEW:
            self._duplicate(topic, msg.id, inbound.record)
            return
        handler = self._request_handlers.get(msg.method)
        if handler is None:
            self.send_error(
                topic, msg.id, "unregistered", sdk_error("WC_METHOD_UNSUPPORTED", msg.method)
            )
            self._drop(topic, "unknown_method", msg.id, answered=True)
            return
        if not isinstance(msg.params, dict):
            self.send_error(
                topic,
                msg.id,
                msg.method,
                {"code": JSONRPC_INVALID_PARAMS, "message": "Invalid params"},
            )
            self._drop(topic, "malformed", msg.id, answered=True)
            return
        handler(
            InboundRequest(
                topic,
                msg.id,
                msg.method,
                msg.params,
                published_at,
                now,
                attestation,
                hash_message(message),
            )
        )

    def _duplicate(self, topic: str, rpc_id: int, record: HistoryRecord) -> None:
        """The same request again: re-send the stored answer if there is one, else stay silent."""
        answered = record.response is not None
        if record.response is not None:
            self._out.append(
                Publish(
                    topic,
                    self._seal(topic, record.response),
                    record.response_ttl,
                    record.response_tag,
                    False,
                    rpc_id,
                )
            )
        self._drop(topic, "duplicate", rpc_id, answered=answered)

    def _on_reused_id(self, topic: str, msg: RpcMessage, record: HistoryRecord, now: float) -> None:
        """An id seen before with other content. Here: handled like a duplicate (never twice to
        a handler); a role engine overrides it to refuse the replay explicitly."""
        self._duplicate(topic, msg.id, record)

    def _receive_response(self, topic: str, msg: RpcMessage, now: float) -> None:
        record = self.history.receive_response(topic, msg.id)
        if record is None:
            self._drop(topic, "unexpected", msg.id)
            return
        handler = self._response_handlers.get(record.method)
        if handler is not None:
            handler(topic, msg, now)
            return
        self._emit(ResponseReceived(topic, msg.id, record.method, msg.result, msg.error))

    # ------------------------------------------------------------------ shared inbound methods

    def _session_for_inbound(self, req: InboundRequest, event: SessionInput) -> SessionRecord:
        session = self.sessions.get(req.topic)
        if session is None:
            raise RemoteProtocolError(f"{req.method} on a topic without a session")
        if req.now >= session.expiry:
            self._expire_session(session)
            raise RemoteProtocolError("session expired")
        if self._session_step(session, event) is None:
            raise RemoteProtocolError(f"{req.method} illegal in state {session.state}")
        return session

    def _on_session_ping(self, req: InboundRequest) -> None:
        self._session_for_inbound(req, SessionInput.PING)
        self.send_result(req.topic, req.id, req.method, True)
        self._emit(PingReceived(req.topic, req.id))

    def _on_session_extend(self, req: InboundRequest) -> None:
        try:
            session = self._session_for_inbound(req, SessionInput.EXTEND)
        except RemoteProtocolError as exc:
            raise RemoteProtocolError(str(exc), sdk_error("INVALID_EXTEND_REQUEST")) from exc
        expiry = _capped(session, int(req.now) + self.config.session_expiry_s)
        self._save_session(replace(session, expiry=expiry))
        self.send_result(req.topic, req.id, req.method, True)
        self._emit(SessionExtended(req.topic, expiry))

    def _on_session_delete(self, req: InboundRequest) -> None:
        session = self._session_for_inbound(req, SessionInput.DELETE)
        code, message = _reason(req.params)
        self._no_reply(req.topic, req.id)
        self._remove_session(session)
        self._emit(SessionDeleted(session.topic, code, message, by_peer=True))

    def _on_pairing_ping(self, req: InboundRequest) -> None:
        if req.topic not in self.pairings:
            raise RemoteProtocolError("wc_pairingPing on a topic without a pairing")
        self._pairing_step(req.topic, PairingInput.PING)
        self.send_result(req.topic, req.id, req.method, True)
        self._emit(PingReceived(req.topic, req.id))

    def _on_pairing_delete(self, req: InboundRequest) -> None:
        if req.topic not in self.pairings:
            raise RemoteProtocolError("wc_pairingDelete on a topic without a pairing")
        self._no_reply(req.topic, req.id)
        self._remove_pairing(req.topic)
        self._emit(PairingDeleted(req.topic, by_peer=True))

    # ------------------------------------------------------------------ shared verbs

    def ping(self, topic: str, now: float) -> int:
        """wc_sessionPing (session topic) or wc_pairingPing (pairing topic); returns the id."""
        if topic in self.sessions:
            self.live_session(topic, now, SessionInput.PING)
            return self.send_request(topic, "wc_sessionPing", {}, now)
        self._pairing_step(topic, PairingInput.PING)
        return self.send_request(topic, "wc_pairingPing", {}, now)

    def extend(self, topic: str, now: float) -> int:
        """wc_sessionExtend: our expiry becomes now + 7 days; returns the request id."""
        session = self.live_session(topic, now, SessionInput.EXTEND)
        rpc_id = self.send_request(topic, "wc_sessionExtend", {}, now)
        expiry = _capped(session, int(now) + self.config.session_expiry_s)
        self._save_session(replace(session, expiry=expiry))
        self._emit(SessionExtended(topic, expiry))
        return rpc_id

    def disconnect(self, topic: str, now: float, reason: SdkErrorInfo | None = None) -> None:
        """wc_sessionDelete (session topic) or wc_pairingDelete (pairing topic), then forget it."""
        err = reason or sdk_error("USER_DISCONNECTED")
        if topic in self.sessions:
            session = self.live_session(topic, now, SessionInput.DELETE)
            self.send_request(topic, "wc_sessionDelete", err.to_dict(), now)
            self._remove_session(session)
            self._emit(SessionDeleted(topic, err.code, err.message, by_peer=False))
            return
        self._pairing_step(topic, PairingInput.DELETE)
        self.send_request(topic, "wc_pairingDelete", err.to_dict(), now)
        self._remove_pairing(topic)
        self._emit(PairingDeleted(topic, by_peer=False))

    # ------------------------------------------------------------------ removal and expiry

    def _remove_session(self, session: SessionRecord) -> None:
        topic = session.topic
        self.sessions.pop(topic, None)
        self._delete(RecordKind.SESSION, topic)
        for key in [k for k, p in self.pending.items() if p.topic == topic]:
            del self.pending[key]
            self._delete(RecordKind.PENDING_REQUEST, key)
        self.history.drop_topic(topic)
        self._drop_sym_key(topic)
        if self._private_keys.pop(session.self_public_key, None) is not None:
            self._delete(RecordKind.PRIVATE_KEY, session.self_public_key)
        self._out.append(Unsubscribe(topic))

    def _remove_pairing(self, topic: str) -> None:
        self.pairings.pop(topic, None)
        self._delete(RecordKind.PAIRING, topic)
        for pid in [p.id for p in self.proposals.values() if p.pairing_topic == topic]:
            self._drop_proposal(pid)
            self._emit(ProposalExpired(pid, topic))
        self.history.drop_topic(topic)
        self._drop_sym_key(topic)
        self._out.append(Unsubscribe(topic))

    def _expire_session(self, session: SessionRecord) -> None:
        self._remove_session(session)
        self._emit(SessionExpired(session.topic))

    def next_deadline(self) -> float | None:
        """The earliest time :meth:`expire` has work to do (None: nothing scheduled)."""
        times: list[float] = [s.expiry for s in self.sessions.values()]
        times += [p.expiry for p in self.pairings.values()]
        times += [p.expiry for p in self.proposals.values()]
        times += [p.expiry for p in self.pending.values()]
        nxt = self.history.next_deadline()
        if nxt is not None:
            times.append(nxt)
        return min(times, default=None)

    def expire(self, now: float) -> None:
        """Remove everything whose expiry is ``<= now``; emits *Expired events, sends nothing
        to peers (only Unsubscribe commands to the relay)."""
        for session in [s for s in self.sessions.values() if s.expiry <= now]:
            self._expire_session(session)
        for pairing in [p for p in self.pairings.values() if p.expiry <= now]:
            self._remove_pairing(pairing.topic)
            self._emit(PairingExpired(pairing))
        for proposal in [p for p in self.proposals.values() if p.expiry <= now]:
            self._drop_proposal(proposal.id)
            if proposal.session_topic and proposal.session_topic not in self.sessions:
                self._drop_sym_key(proposal.session_topic)
                self._out.append(Unsubscribe(proposal.session_topic))
            self._emit(ProposalExpired(proposal.id, proposal.pairing_topic))
        for key, pending in [(k, p) for k, p in self.pending.items() if p.expiry <= now]:
            del self.pending[key]
            self._delete(RecordKind.PENDING_REQUEST, key)
            self._no_reply(pending.topic, pending.id)
            self._emit(RequestExpired(pending.topic, pending.id))
        self.history.expire(now)

    # ------------------------------------------------------------------ misc

    def _verify_context(
        self, metadata: Mapping[str, Any], attestation: str | None
    ) -> VerifyContext:
        url = metadata.get("url") if isinstance(metadata, Mapping) else None
        verify_url = metadata.get("verifyUrl") if isinstance(metadata, Mapping) else None
        return VerifyContext(
            verify_url=verify_url
            if isinstance(verify_url, str) and verify_url
            else VerifyContext().verify_url,
            origin=url if isinstance(url, str) else "",
            attestation=attestation,
        )

    def _pending_key(self, topic: str, rpc_id: int) -> str:
        return history_key(topic, rpc_id)


def _capped(session: SessionRecord, expiry: int) -> int:
    return expiry if session.expiry_cap is None else min(expiry, session.expiry_cap)


def _reason(params: Any) -> tuple[int, str]:
    code = params.get("code") if isinstance(params, dict) else None
    message = params.get("message") if isinstance(params, dict) else None
    return (
        code if isinstance(code, int) and not isinstance(code, bool) else 0,
        message if isinstance(message, str) else "",
    )


def _salvage_id(text: str, limit: int) -> int | None:
    """The integer ``id`` of a JSON object that is otherwise not a valid request, if any."""
    if len(text) > limit:
        return None
    try:
        data = jsonsafe.loads(text)
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or "method" not in data:
        return None
    rpc_id = data.get("id")
    return rpc_id if isinstance(rpc_id, int) and not isinstance(rpc_id, bool) else None
