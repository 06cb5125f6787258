"""RelayClientProtocol: a relay client's state (topics, pending requests, auto-ack, inbound dedup); pure, no I/O.

Commands (``subscribe``, ``publish``, ...) return the relay request id and queue a frame;
``receive_frame(text, now)`` consumes what the relay sent; ``events_received()`` yields
:class:`MessageReceived`, :class:`RequestAcknowledged`, :class:`RequestFailed` and
:class:`RequestTimedOut`; ``frames_to_send()`` drains what to write. ``now`` is Unix time in seconds.

Delivery guarantees across reconnects: ``connection_lost()`` keeps every un-acknowledged request;
``connection_made(now)`` re-subscribes every known topic with ``irn_batchSubscribe`` (at most
``max_batch`` topics per call) and then re-sends each pending request with the **same relay id**,
so nothing we sent is lost and the relay can tell a retry from a new publish. Every
``irn_subscription`` is acknowledged immediately, before processing (as the SDK does), then
de-duplicated by (topic, sha256(message)) in a bounded LRU; messages on topics we are not subscribed
to are acknowledged and dropped.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias

import structlog

from walletconnect.crypto import hash_message
from walletconnect.errors import LocalProtocolError
from walletconnect.relay.frames import (
    DEFAULT_LIMITS,
    SESSION_COMPOSITE_TTL_S,
    ErrorCode,
    RelayErrorData,
    RelayErrorResponse,
    RelayFrameError,
    RelayIdFactory,
    RelayLimits,
    RelayMethod,
    RelayResult,
    approve_session_params,
    chunks,
    parse_frame,
    parse_subscription,
    parse_topic,
    propose_session_params,
    publish_params,
    serialize_error,
    serialize_request,
    serialize_result,
)

__all__ = [
    "MessageReceived",
    "PendingLimitError",
    "RelayClientEvent",
    "RelayClientProtocol",
    "RequestAcknowledged",
    "RequestFailed",
    "RequestTimedOut",
]

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class MessageReceived:
    """The relay delivered ``message`` (an envelope string) on ``topic``; ``published_at`` in ms."""

    topic: str
    message: str
    published_at: int
    tag: int
    attestation: str | None = None


@dataclass(frozen=True, slots=True)
class RequestAcknowledged:
    """The relay answered request ``id`` (``method``) with ``result``."""

    id: int
    method: str
    result: Any


@dataclass(frozen=True, slots=True)
class RequestFailed:
    """The relay answered request ``id`` (``method``) with a JSON-RPC error."""

    id: int
    method: str
    error: RelayErrorData


@dataclass(frozen=True, slots=True)
class RequestTimedOut:
    """Request ``id`` got no answer within ``request_timeout_s``; it is no longer retried."""

    id: int
    method: str


RelayClientEvent: TypeAlias = (
    MessageReceived | RequestAcknowledged | RequestFailed | RequestTimedOut
)


class PendingLimitError(LocalProtocolError):
    """Too many requests await an answer (``max_pending``); back off and retry later."""


@dataclass(slots=True)
class _Pending:
    id: int
    method: str
    frame: str
    deadline: float
    internal: bool  # our own resubscribe batches: no events, dropped on connection loss
    topics: tuple[str, ...]


class RelayClientProtocol:
    """Relay client state machine; see the module docstring.

    ``client_id`` is our did:key (used for the subscription ids sent in ``irn_unsubscribe``).
    """

    def __init__(
        self,
        client_id: str,
        *,
        limits: RelayLimits = DEFAULT_LIMITS,
        request_timeout_s: float = 60.0,
        max_pending: int = 10_000,
        dedup_size: int = 10_000,
        max_topics: int = 10_000,
        entropy: Callable[[int], bytes] = os.urandom,
    ) -> None:
        self.client_id = client_id
        self.limits = limits
        self.request_timeout_s = request_timeout_s
        self.max_pending = max_pending
        self.dedup_size = dedup_size
        self.max_topics = max_topics
        self._ids = RelayIdFactory(entropy)
        self._topics: dict[str, None] = {}  # ordered set
        self._pending: OrderedDict[int, _Pending] = OrderedDict()
        self._seen: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._events: list[RelayClientEvent] = []
        self._outbox: list[str] = []
        self._connected = False
        self.malformed_frames = 0

    # -- state -----------------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """Whether the driver reported an open connection."""
        return self._connected

    @property
    def topics(self) -> tuple[str, ...]:
        """Topics we are (or will be, once connected) subscribed to, in subscription order."""
        return tuple(self._topics)

    @property
    def pending_ids(self) -> tuple[int, ...]:
        """Requests (not our internal resubscribes) still awaiting an answer, oldest first."""
        return tuple(p.id for p in self._pending.values() if not p.internal)

    def subscription_id(self, topic: str) -> str:
        """sha256(topic + client id), the id the relay uses for our subscription."""
        return hash_message(topic + self.client_id)

    # -- connection ------------------------------------------------------------------------------

    def connection_made(self, now: float) -> None:
        """A socket is open: re-subscribe known topics in batches, then re-send pending requests."""
        self._connected = True
        self._outbox.clear()
        covered = {t for p in self._pending.values() for t in p.topics}
        resubscribe = [t for t in self._topics if t not in covered]
        old = list(self._pending.values())
        for batch in chunks(resubscribe, self.limits.max_batch):
            self._request(RelayMethod.BATCH_SUBSCRIBE, {"topics": batch}, now, internal=True)
        for pending in old:
            self._outbox.append(pending.frame)

    def connection_lost(self) -> None:
        """The socket closed: keep pending requests for the next connection, drop unsent frames."""
        self._connected = False
        self._outbox.clear()
        for ident in [p.id for p in self._pending.values() if p.internal]:
            del self._pending[ident]

    # -- commands --------------------------------------------------------------------------------

    def subscribe(self, topic: str, *, now: float) -> int:
        """Subscribe to ``topic`` (``irn_subscribe``); returns the relay request id."""
        topic = self._topic(topic)
        self._add_topic(topic)
        return self._request(RelayMethod.SUBSCRIBE, {"topic": topic}, now, topics=(topic,))

    def unsubscribe(self, topic: str, *, now: float) -> int:
        """Unsubscribe from ``topic`` (``irn_unsubscribe`` with our subscription id)."""
        topic = self._topic(topic)
        self._topics.pop(topic, None)
        for key in [k for k in self._seen if k[0] == topic]:
            del self._seen[key]
        params = {"topic": topic, "id": self.subscription_id(topic)}
        return self._request(RelayMethod.UNSUBSCRIBE, params, now)

    def publish(
        self,
        topic: str,
        message: str,
        ttl: int,
        tag: int,
        prompt: bool = False,
        *,
        now: float,
        attestation: str | None = None,
        **extra: Any,
    ) -> int:
        """Publish an envelope (``irn_publish``); ``extra`` adds flat TVF fields (e.g. correlationId)."""
        topic = self._topic(topic)
        self._check_message(message)
        self._remember(topic, message)  # the relay never echoes, but if one did, drop our own
        params = publish_params(
            topic, message, ttl, tag, prompt=prompt, attestation=attestation, extra=extra
        )
        return self._request(RelayMethod.PUBLISH, params, now)

    def propose_session(
        self,
        pairing_topic: str,
        session_proposal: str,
        *,
        now: float,
        attestation: str | None = None,
        ttl: int = SESSION_COMPOSITE_TTL_S,
        correlation_id: Any = None,
        **extra: Any,
    ) -> int:
        """``wc_proposeSession``: the relay subscribes us to the pairing topic and publishes the proposal."""
        topic = self._topic(pairing_topic)
        self._check_message(session_proposal)
        self._add_topic(topic)
        params = propose_session_params(
            topic,
            session_proposal,
            attestation=attestation,
            ttl_s=ttl,
            correlation_id=correlation_id,
            extra=extra,
        )
        return self._request(RelayMethod.PROPOSE_SESSION, params, now, topics=(topic,))

    def approve_session(
        self,
        session_topic: str,
        pairing_topic: str,
        session_proposal_response: str,
        session_settlement_request: str,
        *,
        now: float,
        ttl: int = SESSION_COMPOSITE_TTL_S,
        correlation_id: Any = None,
        **extra: Any,
    ) -> int:
        """``wc_approveSession``: subscribe us to the session topic; publish response and settle.

        ``extra`` carries approvedChains / approvedMethods / approvedEvents / sessionProperties ...
        """
        session = self._topic(session_topic)
        pairing = self._topic(pairing_topic)
        self._check_message(session_proposal_response)
        self._check_message(session_settlement_request)
        self._add_topic(session)
        self._remember(pairing, session_proposal_response)
        self._remember(session, session_settlement_request)
        params = approve_session_params(
            session,
            pairing,
            session_proposal_response,
            session_settlement_request,
            ttl_s=ttl,
            correlation_id=correlation_id,
            extra=extra,
        )
        return self._request(RelayMethod.APPROVE_SESSION, params, now, topics=(session,))

    # -- input -----------------------------------------------------------------------------------

    def receive_frame(self, text: str, now: float) -> None:
        """Consume one frame from the relay. Malformed frames are counted and dropped, never raised."""
        try:
            frame = parse_frame(text, max_bytes=self.limits.max_frame_bytes)
        except RelayFrameError as exc:
            self.malformed_frames += 1
            log.debug("relay_frame_dropped", reason=exc.tag, detail=exc.detail)
            return
        if isinstance(frame, RelayResult | RelayErrorResponse):
            pending = self._pending.pop(frame.id, None)
            if pending is None:
                log.debug("relay_response_unknown_id", id=frame.id)
                return
            if isinstance(frame, RelayResult):
                if not pending.internal:
                    self._events.append(
                        RequestAcknowledged(pending.id, pending.method, frame.result)
                    )
            elif pending.internal:
                log.warning("relay_resubscribe_failed", code=frame.error.code, tag=frame.error.data)
            else:
                self._events.append(RequestFailed(pending.id, pending.method, frame.error))
            return
        if not frame.method.endswith("_subscription"):
            error = RelayErrorData(
                ErrorCode.METHOD_NOT_FOUND, "Method not found", frame.method[:64]
            )
            self._send(serialize_error(frame.raw_id, error))
            return
        # Ack first, then process (SDK behaviour): a crash or drop later never causes a redelivery loop.
        self._send(serialize_result(frame.raw_id, True))
        try:
            data = parse_subscription(frame.params, self.limits)
        except RelayFrameError as exc:
            self.malformed_frames += 1
            log.debug("relay_subscription_dropped", reason=exc.tag, detail=exc.detail)
            return
        if data.topic not in self._topics:
            log.debug("relay_message_unknown_topic", topic=data.topic)
            return
        if not self._remember(data.topic, data.message):
            return
        self._events.append(
            MessageReceived(data.topic, data.message, data.published_at, data.tag, data.attestation)
        )

    def events_received(self) -> list[RelayClientEvent]:
        """Drain the events produced since the last call, in order."""
        out, self._events = self._events, []
        return out

    def frames_to_send(self) -> list[str]:
        """Drain the frames to write, in order (empty while disconnected)."""
        out, self._outbox = self._outbox, []
        return out

    # -- timers ----------------------------------------------------------------------------------

    def next_deadline(self) -> float | None:
        """The earliest request timeout (``None``: nothing pending)."""
        return min((p.deadline for p in self._pending.values()), default=None)

    def expire(self, now: float) -> None:
        """Time out requests past their deadline (:class:`RequestTimedOut`, not retried any more)."""
        for pending in [p for p in self._pending.values() if p.deadline <= now]:
            del self._pending[pending.id]
            if not pending.internal:
                self._events.append(RequestTimedOut(pending.id, pending.method))

    # -- helpers ---------------------------------------------------------------------------------

    def _topic(self, topic: str) -> str:
        try:
            return parse_topic(topic)
        except RelayFrameError as exc:
            raise LocalProtocolError(f"invalid topic {topic!r}") from exc

    def _check_message(self, message: str) -> None:
        if not isinstance(message, str) or not message:
            raise LocalProtocolError("message must be a non-empty string")
        if len(message) > self.limits.max_message_chars:
            raise LocalProtocolError(f"message longer than {self.limits.max_message_chars}")

    def _add_topic(self, topic: str) -> None:
        if topic not in self._topics and len(self._topics) >= self.max_topics:
            raise LocalProtocolError(f"more than {self.max_topics} topics")
        self._topics[topic] = None

    def _remember(self, topic: str, message: str) -> bool:
        """Record (topic, hash); False if it was already seen (a duplicate)."""
        key = (topic, hash_message(message))
        if key in self._seen:
            self._seen.move_to_end(key)
            return False
        self._seen[key] = None
        while len(self._seen) > self.dedup_size:
            self._seen.popitem(last=False)
        return True

    def _request(
        self,
        method: str,
        params: Mapping[str, Any],
        now: float,
        *,
        internal: bool = False,
        topics: tuple[str, ...] = (),
    ) -> int:
        if not internal and len(self._pending) >= self.max_pending:
            raise PendingLimitError(f"{len(self._pending)} relay requests pending")
        ident = self._ids.next(now)
        frame = serialize_request(ident, method, params)
        self._pending[ident] = _Pending(
            ident, method, frame, now + self.request_timeout_s, internal, topics
        )
        self._send(frame)
        return ident

    def _send(self, frame: str) -> None:
        if self._connected:
            self._outbox.append(frame)
