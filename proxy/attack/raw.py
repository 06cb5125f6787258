"""The raw-relay attacker: a relay client with its own identity that knows the session keys (does I/O).

The bench's dApp hands it each session's topic and sym key (the attacker *is* the dApp). It then
publishes crafted ``wc_sessionRequest`` envelopes on those topics — exact duplicates, re-encryptions
under a fresh IV, other ids, tampered Poly1305 tags, odd relay tags and ttls, oversized frames, the
same plaintext on another session's topic — and watches every topic, decrypting what the wallet sends
back, so each answer can be matched to a request id (also answers the dApp's engine would swallow as
duplicates).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import structlog

from walletconnect.aio.relay_client import RelayClient
from walletconnect.envelope import open_envelope, seal
from walletconnect.errors import WalletConnectError
from walletconnect.jsonrpc import encode_json

__all__ = ["REQUEST_TAG", "Inbound", "RawAttacker", "request_plaintext", "tamper_tag"]

log = structlog.get_logger(__name__)

REQUEST_TAG = 1108
"""The relay tag the SDK publishes ``wc_sessionRequest`` with."""
_MAX_SEEN = 10_000


@dataclass(frozen=True, slots=True)
class Inbound:
    """One decrypted message from the wallet: a response (``result``/``error``) or a request."""

    topic: str
    id: Any
    result: Any
    error: dict[str, Any] | None
    method: str | None
    at: float


def request_plaintext(
    rpc_id: int, chain: str, method: str, params: Any, expiry_ts: int, *, pad: int = 0
) -> str:
    """The JSON text of a ``wc_sessionRequest`` exactly as the SDK dApp writes it.

    ``pad`` > 0 appends an extra member so the text is about that many characters long.
    """
    body: dict[str, Any] = {
        "id": rpc_id,
        "jsonrpc": "2.0",
        "method": "wc_sessionRequest",
        "params": {
            "request": {"method": method, "params": params, "expiryTimestamp": expiry_ts},
            "chainId": chain,
        },
    }
    text = encode_json(body)
    if pad > len(text):
        body["params"]["padding"] = "x" * (pad - len(text))
        text = encode_json(body)
    return text


def tamper_tag(envelope: str) -> str:
    """The envelope with the last byte of its Poly1305 tag flipped (still well-formed base64)."""
    raw = bytearray(base64.b64decode(envelope))
    raw[-1] ^= 0x01
    return base64.b64encode(bytes(raw)).decode("ascii")


class RawAttacker:
    """``async with RawAttacker(relay_url) as raw:`` then :meth:`watch` each session topic."""

    def __init__(self, relay_url: str, *, project_id: str | None = None) -> None:
        self.client = RelayClient(relay_url, project_id=project_id, request_timeout_s=15.0)
        self._keys: dict[str, bytes] = {}
        self._inbound: dict[tuple[str, Any], list[Inbound]] = defaultdict(list)
        self._requests: dict[str, list[Inbound]] = defaultdict(list)
        self._changed = asyncio.Condition()
        self._reader: asyncio.Task[None] | None = None

    async def __aenter__(self) -> RawAttacker:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self, timeout_s: float | None = None) -> None:
        """Connect to the relay (raises Timeout after ``timeout_s``) and start reading."""
        await self.client.start()
        await self.client.wait_connected(timeout_s or self.client.open_timeout_s)
        self._reader = asyncio.create_task(self._read(), name="attack-raw-reader")

    async def close(self) -> None:
        """Stop reading and close the relay connection."""
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        await self.client.close()

    async def watch(self, topic: str, sym_key: bytes) -> None:
        """Subscribe to a session topic we hold the key of."""
        self._keys[topic] = sym_key
        await self.client.subscribe(topic, timeout_s=15.0)

    def key(self, topic: str) -> bytes:
        """The sym key of a watched topic."""
        return self._keys[topic]

    def seal(self, topic: str, plaintext: str) -> str:
        """A type-0 envelope of ``plaintext`` under the topic's key, fresh random IV."""
        return seal(plaintext, self._keys[topic])

    async def publish(
        self, topic: str, envelope: str, *, ttl: int = 300, tag: int = REQUEST_TAG
    ) -> None:
        """Publish an envelope as is (raises the relay's refusal as WalletConnectError)."""
        await self.client.publish(topic, envelope, ttl, tag, timeout_s=15.0)

    def seen(self, topic: str, rpc_id: Any) -> int:
        """How many messages with this id the wallet has sent on ``topic`` so far."""
        return len(self._inbound.get((topic, rpc_id), ()))

    def answers(self, topic: str, rpc_id: Any) -> list[Inbound]:
        """Every answer to ``rpc_id`` on ``topic`` so far, in arrival order."""
        return list(self._inbound.get((topic, rpc_id), ()))

    def wallet_requests(self, topic: str) -> list[Inbound]:
        """Requests the wallet sent on ``topic`` (e.g. ``wc_sessionDelete``)."""
        return list(self._requests.get(topic, ()))

    async def wait_answer(
        self, topic: str, rpc_id: Any, *, after: int, timeout_s: float
    ) -> Inbound | None:
        """The first answer to ``rpc_id`` beyond the ``after`` already seen, or None on timeout."""
        deadline = time.monotonic() + timeout_s
        async with self._changed:
            while True:
                found = self._inbound.get((topic, rpc_id), [])
                if len(found) > after:
                    return found[after]
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), remaining)

    async def _read(self) -> None:
        async for msg in self.client.messages():
            key = self._keys.get(msg.topic)
            if key is None:
                continue
            try:
                obj = json.loads(open_envelope(msg.message, key))
            except (WalletConnectError, ValueError) as exc:
                log.debug("attack.undecryptable", topic=msg.topic, error=str(exc))
                continue
            if not isinstance(obj, dict):
                continue
            now = time.monotonic()
            method = obj.get("method")
            error = obj.get("error")
            item = Inbound(
                topic=msg.topic,
                id=obj.get("id"),
                result=obj.get("result"),
                error=error if isinstance(error, dict) else None,
                method=method if isinstance(method, str) else None,
                at=now,
            )
            if item.method is not None:
                if len(self._requests[msg.topic]) < _MAX_SEEN:
                    self._requests[msg.topic].append(item)
            elif len(self._inbound) < _MAX_SEEN:
                self._inbound[(msg.topic, _id_key(item.id))].append(item)
            async with self._changed:
                self._changed.notify_all()


def _id_key(value: Any) -> Any:
    """Ids as the SDK may echo them: a numeric string (``"123n"`` / ``"123"``) matches the int."""
    if isinstance(value, str):
        digits = value[:-1] if value.endswith("n") else value
        if digits.isdigit():
            return int(digits)
    return value
