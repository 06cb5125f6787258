"""RelayServerProtocol: the state of a whole local relay (subscriptions, ttl mailbox, delivery, acks); pure, no I/O.

Frames in (``receive_frame(conn_id, text, now)``), frames out (``frames_to_send()`` as
``(conn_id, text)`` pairs), timers through ``next_deadline()`` / ``expire(now)``. ``now`` is Unix
time in seconds (float). Behaviour follows the production relay as the SDK 2.25 relies on it:

* fan-out of every publish to every subscriber of the topic **except the publisher** (never echo);
* a ttl mailbox, so a subscriber that arrives later still receives the message on subscribe (the
  SDK never calls ``irn_fetchMessages``); a message is pushed at most once per client until acked,
  and pushes not acked are pushed again on the next subscribe to the topic (e.g. after a reconnect);
* identical publishes (same sha256 of the message on the same topic) are stored and fanned out once;
* ``wc_proposeSession`` / ``wc_approveSession`` composites (subscribe caller + publish, tags 1100 /
  1101 / 1102, ttl 300);
* subscription id = sha256(topic + client id); acks may carry ``"<digits>n"`` ids;
* malformed or over-limit frames are answered with the relay's JSON-RPC errors, never raised.

Memory is bounded by :class:`~walletconnect.relay.frames.RelayLimits` (messages per topic, total
mailbox bytes, topics per connection, un-acked pushes per connection).
"""

from __future__ import annotations

import heapq
import os
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

import structlog

from walletconnect.crypto import hash_message
from walletconnect.relay.frames import (
    DEFAULT_LIMITS,
    PROPOSAL_RESPONSE_TAG,
    PROPOSAL_TAG,
    SESSION_COMPOSITE_TTL_S,
    SETTLE_TAG,
    FetchedMessage,
    PublishParams,
    RelayErrorResponse,
    RelayFrameError,
    RelayIdFactory,
    RelayLimits,
    RelayMethod,
    RelayRequest,
    RelayResult,
    handler_error,
    normalize_method,
    parse_approve_session,
    parse_frame,
    parse_propose_session,
    parse_publish,
    parse_topic,
    parse_topic_list,
    parse_unsubscribe,
    parse_unsubscribe_batch,
    payload_error,
    serialize_error,
    serialize_request,
    serialize_result,
    subscription_params,
)

__all__ = ["ConnId", "FrameLogRecord", "RelayServerProtocol"]

log = structlog.get_logger(__name__)

ConnId: TypeAlias = int | str
"""The driver's name for one WebSocket connection."""


@dataclass(frozen=True, slots=True)
class FrameLogRecord:
    """One frame seen by the relay, for the optional frame log (``direction`` in / out)."""

    at: float
    conn_id: ConnId
    client_id: str | None
    direction: Literal["in", "out"]
    frame: str


@dataclass(slots=True)
class _Stored:
    topic: str
    message: str
    msg_hash: str
    published_at: int
    tag: int
    attestation: str | None
    expires_at: float
    publisher: str
    size: int
    acked_by: set[str] = field(default_factory=set)


@dataclass(slots=True)
class _Topic:
    subscribers: set[ConnId] = field(default_factory=set)
    mailbox: dict[str, _Stored] = field(default_factory=dict)  # msg hash -> message, publish order


@dataclass(slots=True)
class _Conn:
    conn_id: ConnId
    client_id: str | None
    client_key: str  # the client id, or a per-connection name when unauthenticated
    topics: set[str] = field(default_factory=set)
    unacked: OrderedDict[int, tuple[str, str]] = field(default_factory=OrderedDict)


class RelayServerProtocol:
    """The relay's state for all connections; see the module docstring for the semantics."""

    def __init__(
        self,
        *,
        limits: RelayLimits = DEFAULT_LIMITS,
        entropy: Callable[[int], bytes] = os.urandom,
        frame_log: Callable[[FrameLogRecord], None] | None = None,
    ) -> None:
        self.limits = limits
        self._ids = RelayIdFactory(entropy)
        self._frame_log = frame_log
        self._conns: dict[ConnId, _Conn] = {}
        self._topics: dict[str, _Topic] = {}
        self._outbox: list[tuple[ConnId, str]] = []
        self._expiry: list[tuple[float, str, str]] = []  # heap of (expires_at, topic, hash)
        self._total_bytes = 0

    # -- connections ---------------------------------------------------------------------------

    def connect(self, conn_id: ConnId, client_id: str | None, now: float) -> None:
        """Register a connection; ``client_id`` is the did:key from its JWT (``None`` if anonymous)."""
        if conn_id in self._conns:
            self.disconnect(conn_id)
        key = client_id if client_id is not None else f"anonymous:{conn_id}"
        self._conns[conn_id] = _Conn(conn_id, client_id, key)
        self.expire(now)

    def disconnect(self, conn_id: ConnId) -> None:
        """Forget a connection: its subscriptions and in-flight pushes (un-acked stays in mailboxes)."""
        conn = self._conns.pop(conn_id, None)
        if conn is None:
            return
        for topic in conn.topics:
            state = self._topics.get(topic)
            if state is not None:
                state.subscribers.discard(conn_id)
                self._maybe_drop_topic(topic)
        self._outbox = [(c, f) for c, f in self._outbox if c != conn_id]

    # -- I/O ----------------------------------------------------------------------------------

    def receive_frame(self, conn_id: ConnId, text: str, now: float) -> None:
        """Process one text frame from ``conn_id``; replies and pushes go to :meth:`frames_to_send`.

        Raises ``KeyError`` only for a ``conn_id`` that was never connected (a driver bug).
        """
        conn = self._conns[conn_id]
        self._log(conn, "in", text, now)
        self.expire(now)
        try:
            frame = parse_frame(text, max_bytes=self.limits.max_frame_bytes)
        except RelayFrameError as exc:
            self._send(conn, serialize_error(exc.raw_id, exc.error), now)
            return
        if isinstance(frame, RelayResult):
            self._on_ack(conn, frame.id)
        elif isinstance(frame, RelayErrorResponse):
            conn.unacked.pop(frame.id, None)  # stays un-acked: redelivered on next subscribe
        else:
            try:
                self._dispatch(conn, frame, now)
            except RelayFrameError as exc:
                self._send(conn, serialize_error(frame.raw_id, exc.error), now)

    def frames_to_send(self) -> list[tuple[ConnId, str]]:
        """Drain the frames to write, in order, as ``(conn_id, text)``."""
        out, self._outbox = self._outbox, []
        return out

    def expire(self, now: float) -> None:
        """Drop mailbox messages whose ttl has passed."""
        while self._expiry and self._expiry[0][0] <= now:
            expires_at, topic, msg_hash = heapq.heappop(self._expiry)
            state = self._topics.get(topic)
            if state is None:
                continue
            stored = state.mailbox.get(msg_hash)
            if stored is not None and stored.expires_at == expires_at:
                del state.mailbox[msg_hash]
                self._total_bytes -= stored.size
                self._maybe_drop_topic(topic)

    def next_deadline(self) -> float | None:
        """When :meth:`expire` next has something to do (``None``: nothing stored)."""
        return self._expiry[0][0] if self._expiry else None

    # -- introspection (tests, metrics) ----------------------------------------------------------

    @property
    def connection_count(self) -> int:
        """Connected sockets."""
        return len(self._conns)

    @property
    def stored_bytes(self) -> int:
        """Bytes of message text held in all mailboxes."""
        return self._total_bytes

    def mailbox_size(self, topic: str) -> int:
        """Messages currently retained for ``topic``."""
        state = self._topics.get(topic)
        return len(state.mailbox) if state else 0

    def subscribers(self, topic: str) -> frozenset[ConnId]:
        """Connections subscribed to ``topic``."""
        state = self._topics.get(topic)
        return frozenset(state.subscribers) if state else frozenset()

    # -- dispatch -------------------------------------------------------------------------------

    def _dispatch(self, conn: _Conn, req: RelayRequest, now: float) -> None:
        method = normalize_method(req.method)
        params = req.params
        limits = self.limits
        if method == RelayMethod.SUBSCRIBE:
            topic = parse_topic(params.get("topic"))
            self._check_topic_capacity(conn, [topic])
            self._reply(conn, req, self._sub_id(conn, topic), now)
            self._subscribe(conn, topic, now)
        elif method == RelayMethod.BATCH_SUBSCRIBE:
            topics = parse_topic_list(params, limits)
            self._check_topic_capacity(conn, topics)
            self._reply(conn, req, [self._sub_id(conn, t) for t in topics], now)
            for topic in topics:
                self._subscribe(conn, topic, now)
        elif method == RelayMethod.UNSUBSCRIBE:
            self._unsubscribe(conn, parse_unsubscribe(params).topic)
            self._reply(conn, req, True, now)
        elif method == RelayMethod.BATCH_UNSUBSCRIBE:
            for item in parse_unsubscribe_batch(params, limits):
                self._unsubscribe(conn, item.topic)
            self._reply(conn, req, True, now)
        elif method == RelayMethod.PUBLISH:
            publish = parse_publish(params, limits)
            self._check_mailbox_capacity([publish])
            self._reply(conn, req, True, now)
            self._publish(conn, publish, now)
        elif method == RelayMethod.BATCH_PUBLISH:
            items = params.get("messages")
            if not isinstance(items, list) or not all(isinstance(m, dict) for m in items):
                raise RelayFrameError(payload_error("InvalidParams"), None, "messages")
            if not items:
                raise RelayFrameError(payload_error("BatchEmpty"), None, "messages")
            if len(items) > limits.max_batch:
                raise RelayFrameError(payload_error("BatchLimitExceeded"), None, "messages")
            publishes = [parse_publish(m, limits) for m in items]
            self._check_mailbox_capacity(publishes)
            self._reply(conn, req, True, now)
            for publish in publishes:
                self._publish(conn, publish, now)
        elif method == RelayMethod.FETCH_MESSAGES:
            self._reply(conn, req, self._fetch(conn, [parse_topic(params.get("topic"))]), now)
        elif method == RelayMethod.BATCH_FETCH_MESSAGES:
            self._reply(conn, req, self._fetch(conn, parse_topic_list(params, limits)), now)
        elif method == RelayMethod.PROPOSE_SESSION:
            propose = parse_propose_session(params, limits)
            proposal = PublishParams(
                propose.pairing_topic,
                propose.session_proposal,
                SESSION_COMPOSITE_TTL_S,
                PROPOSAL_TAG,
                prompt=True,
                attestation=propose.attestation,
            )
            self._check_topic_capacity(conn, [propose.pairing_topic])
            self._check_mailbox_capacity([proposal])
            self._reply(conn, req, True, now)
            self._subscribe(conn, propose.pairing_topic, now)
            self._publish(conn, proposal, now)
        elif method == RelayMethod.APPROVE_SESSION:
            approve = parse_approve_session(params, limits)
            response = PublishParams(
                approve.pairing_topic,
                approve.session_proposal_response,
                SESSION_COMPOSITE_TTL_S,
                PROPOSAL_RESPONSE_TAG,
            )
            settle = PublishParams(
                approve.session_topic,
                approve.session_settlement_request,
                SESSION_COMPOSITE_TTL_S,
                SETTLE_TAG,
            )
            self._check_topic_capacity(conn, [approve.session_topic])
            self._check_mailbox_capacity([response, settle])
            self._reply(conn, req, True, now)
            self._subscribe(conn, approve.session_topic, now)
            self._publish(conn, response, now)
            self._publish(conn, settle, now)
        else:
            raise RelayFrameError(payload_error("InvalidMethod"), None, f"unknown {method!r}")

    # -- subscriptions --------------------------------------------------------------------------

    def _sub_id(self, conn: _Conn, topic: str) -> str:
        return hash_message(topic + conn.client_key)

    def _check_topic_capacity(self, conn: _Conn, topics: Iterable[str]) -> None:
        new = {t for t in topics if t not in conn.topics}
        if len(conn.topics) + len(new) > self.limits.max_topics_per_connection:
            raise RelayFrameError(handler_error("SubscriberLimitExceeded"), None, "too many topics")

    def _subscribe(self, conn: _Conn, topic: str, now: float) -> None:
        state = self._topics.setdefault(topic, _Topic())
        state.subscribers.add(conn.conn_id)
        conn.topics.add(topic)
        in_flight = {h for t, h in conn.unacked.values() if t == topic}
        for stored in list(state.mailbox.values()):
            if stored.msg_hash not in in_flight:
                self._push(conn, stored, now)

    def _unsubscribe(self, conn: _Conn, topic: str) -> None:
        conn.topics.discard(topic)
        state = self._topics.get(topic)
        if state is not None:
            state.subscribers.discard(conn.conn_id)
            self._maybe_drop_topic(topic)

    def _maybe_drop_topic(self, topic: str) -> None:
        state = self._topics.get(topic)
        if state is not None and not state.subscribers and not state.mailbox:
            del self._topics[topic]

    # -- publishing and delivery ----------------------------------------------------------------

    def _check_mailbox_capacity(self, publishes: Iterable[PublishParams]) -> None:
        added_bytes = 0
        per_topic: dict[str, int] = {}
        for p in publishes:
            state = self._topics.get(p.topic)
            if state is not None and hash_message(p.message) in state.mailbox:
                continue
            added_bytes += len(p.message)
            per_topic[p.topic] = per_topic.get(p.topic, 0) + 1
        if self._total_bytes + added_bytes > self.limits.max_total_bytes:
            raise RelayFrameError(handler_error("MailboxLimitExceeded"), None, "relay full")
        for topic, count in per_topic.items():
            state = self._topics.get(topic)
            if (len(state.mailbox) if state else 0) + count > self.limits.max_messages_per_topic:
                raise RelayFrameError(handler_error("MailboxLimitExceeded"), None, "topic full")

    def _publish(self, conn: _Conn, p: PublishParams, now: float) -> None:
        state = self._topics.setdefault(p.topic, _Topic())
        msg_hash = hash_message(p.message)
        if msg_hash in state.mailbox:
            return  # identical publish (SDK retry or duplicate): already stored and fanned out
        stored = _Stored(
            topic=p.topic,
            message=p.message,
            msg_hash=msg_hash,
            published_at=int(now * 1000),
            tag=p.tag,
            attestation=p.attestation,
            expires_at=now + p.ttl_s,
            publisher=conn.client_key,
            size=len(p.message),
        )
        state.mailbox[msg_hash] = stored
        self._total_bytes += stored.size
        heapq.heappush(self._expiry, (stored.expires_at, p.topic, msg_hash))
        for conn_id in sorted(state.subscribers, key=str):
            if conn_id != conn.conn_id:
                self._push(self._conns[conn_id], stored, now)

    def _push(self, conn: _Conn, stored: _Stored, now: float) -> None:
        if stored.publisher == conn.client_key or conn.client_key in stored.acked_by:
            return
        push_id = self._ids.next(now)
        conn.unacked[push_id] = (stored.topic, stored.msg_hash)
        if len(conn.unacked) > self.limits.max_unacked_per_connection:
            conn.unacked.popitem(last=False)
        params = subscription_params(
            self._sub_id(conn, stored.topic),
            stored.topic,
            stored.message,
            stored.published_at,
            stored.tag,
            stored.attestation,
        )
        self._send(conn, serialize_request(push_id, RelayMethod.SUBSCRIPTION, params), now)

    def _on_ack(self, conn: _Conn, push_id: int) -> None:
        entry = conn.unacked.pop(push_id, None)
        if entry is None:
            return
        topic, msg_hash = entry
        state = self._topics.get(topic)
        stored = state.mailbox.get(msg_hash) if state else None
        if stored is not None:
            stored.acked_by.add(conn.client_key)

    def _fetch(self, conn: _Conn, topics: list[str]) -> dict[str, Any]:
        messages: list[dict[str, Any]] = []
        has_more = False
        for topic in topics:
            state = self._topics.get(topic)
            if state is None:
                continue
            for stored in state.mailbox.values():
                if stored.publisher == conn.client_key or conn.client_key in stored.acked_by:
                    continue
                if len(messages) >= self.limits.max_fetch:
                    has_more = True
                    break
                # A fetched message counts as delivered to this client.
                stored.acked_by.add(conn.client_key)
                fetched = FetchedMessage(
                    stored.topic,
                    stored.message,
                    stored.published_at,
                    stored.tag,
                    stored.attestation,
                )
                messages.append(fetched.to_dict())
        return {"messages": messages, "hasMore": has_more}

    # -- output ---------------------------------------------------------------------------------

    def _reply(self, conn: _Conn, req: RelayRequest, result: Any, now: float) -> None:
        self._send(conn, serialize_result(req.raw_id, result), now)

    def _send(self, conn: _Conn, text: str, now: float) -> None:
        self._outbox.append((conn.conn_id, text))
        self._log(conn, "out", text, now)

    def _log(self, conn: _Conn, direction: Literal["in", "out"], text: str, now: float) -> None:
        if self._frame_log is not None:
            self._frame_log(FrameLogRecord(now, conn.conn_id, conn.client_id, direction, text))
