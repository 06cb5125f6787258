"""DappClient: DappEngine + RelayClient + store + timers for the dApp role; does I/O.

``uri, approval = await dapp.connect(optional_namespaces=...)`` then show the URI to a wallet and
``session = await approval``; ``await dapp.request(topic, chain_id, method, params)`` returns the
result or raises :class:`~walletconnect.aio.engine_client.ResponseError`; ``ping``, ``extend``,
``disconnect`` as for the wallet.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from typing import Any

from walletconnect.aio.engine_client import EngineClient, ResponseError
from walletconnect.engine.core import EngineConfig, Entropy
from walletconnect.engine.dapp import DappEngine
from walletconnect.engine.events import (
    EngineEvent,
    ProposalExpired,
    ProposalRejected,
    SessionSettled,
)
from walletconnect.engine.records import SessionRecord
from walletconnect.errors import Timeout
from walletconnect.storage import WalletConnectStore

__all__ = ["DappClient"]


class DappClient(EngineClient):
    """The dApp role over a relay."""

    engine: DappEngine

    def __init__(
        self,
        relay_url: str,
        *,
        metadata: Mapping[str, Any],
        store: WalletConnectStore | None = None,
        project_id: str | None = None,
        config: EngineConfig | None = None,
        entropy: Entropy | None = None,
        clock: Callable[[], float] = time.time,
        relay_options: dict[str, Any] | None = None,
    ) -> None:
        cfg = config or EngineConfig(metadata=dict(metadata))
        super().__init__(
            DappEngine(cfg, entropy=entropy),
            relay_url,
            store=store,
            project_id=project_id,
            clock=clock,
            relay_options=relay_options,
        )
        self._approvals: dict[int, asyncio.Future[SessionRecord]] = {}

    @property
    def sessions(self) -> dict[str, SessionRecord]:
        """Live sessions by topic."""
        return dict(self.engine.sessions)

    def handle_event(self, event: EngineEvent) -> None:
        if isinstance(event, SessionSettled):
            fut = self._approvals.pop(event.proposal_id, None)
            if fut is not None and not fut.done():
                fut.set_result(event.session)
        elif isinstance(event, ProposalRejected):
            fut = self._approvals.pop(event.id, None)
            if fut is not None and not fut.done():
                fut.set_exception(ResponseError(event.code, event.message))
        elif isinstance(event, ProposalExpired):
            fut = self._approvals.pop(event.id, None)
            if fut is not None and not fut.done():
                fut.set_exception(Timeout(f"proposal {event.id} expired"))

    async def connect(
        self,
        *,
        optional_namespaces: Mapping[str, Any],
        required_namespaces: Mapping[str, Any] | None = None,
        session_properties: Mapping[str, str] | None = None,
    ) -> tuple[str, asyncio.Future[SessionRecord]]:
        """Create a pairing and propose (``wc_proposeSession``); returns ``(uri, approval)``.

        ``approval`` resolves to the settled session, or raises ResponseError (rejected) or
        Timeout (the proposal expired).
        """
        async with self._lock:
            now = self.clock()
            pairing, uri = self.engine.create_pairing(now)
            proposal = self.engine.connect(
                pairing.topic,
                now,
                optional_namespaces=optional_namespaces,
                required_namespaces=required_namespaces,
                session_properties=session_properties,
            )
            fut: asyncio.Future[SessionRecord] = asyncio.get_running_loop().create_future()
            self._approvals[proposal.id] = fut
        await self.flush()
        return uri, fut

    async def request(
        self,
        topic: str,
        chain_id: str,
        method: str,
        params: Any,
        *,
        expiry_s: int | None = None,
        timeout_s: float | None = None,
    ) -> Any:
        """wc_sessionRequest; returns the wallet's result (ResponseError / Timeout otherwise).

        ``timeout_s`` defaults to the request expiry (900 s unless ``expiry_s``).
        """
        async with self._lock:
            rpc_id = self.engine.request(
                topic, chain_id, method, params, self.clock(), expiry_s=expiry_s
            )
            fut = self.expect_response(topic, rpc_id)
        await self.flush()
        wait = timeout_s if timeout_s is not None else float(expiry_s or 900)
        return await self.wait_response(fut, wait)
