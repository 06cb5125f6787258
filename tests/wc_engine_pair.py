"""WalletEngine <-> DappEngine joined in memory through the pure relay protocols (no sockets).

The h11 ``ConnectionPair`` idea: two engines, two RelayClientProtocols and one RelayServerProtocol,
pumped until quiet with an explicit clock.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from walletconnect.engine.commands import Command
from walletconnect.engine.core import EngineConfig, EngineCore
from walletconnect.engine.dapp import DappEngine
from walletconnect.engine.events import EngineEvent, ProposalReceived
from walletconnect.engine.relay_bridge import apply_commands
from walletconnect.engine.wallet import WalletEngine
from walletconnect.relay.client import MessageReceived, RelayClientProtocol
from walletconnect.relay.server import RelayServerProtocol

WALLET_META = {
    "name": "wallet",
    "description": "w",
    "url": "https://wallet.example",
    "icons": [""],
}
DAPP_META = {"name": "dapp", "description": "d", "url": "https://dapp.example", "icons": [""]}
ACCOUNT = "0x1111111111111111111111111111111111111111"
OPTIONAL_NS = {
    "eip155": {
        "chains": ["eip155:1"],
        "methods": ["personal_sign", "eth_sendTransaction"],
        "events": ["chainChanged", "accountsChanged"],
    }
}
SESSION_NS = {
    "eip155": {
        "chains": ["eip155:1"],
        "accounts": [f"eip155:1:{ACCOUNT}"],
        "methods": ["personal_sign", "eth_sendTransaction"],
        "events": ["chainChanged", "accountsChanged"],
    }
}


def scripted(
    *chunks: bytes, fallback: Callable[[int], bytes] | None = None
) -> Callable[[int], bytes]:
    """An entropy source that returns ``chunks`` in order (lengths must match), then ``fallback``."""
    queue = list(chunks)

    def entropy(n: int) -> bytes:
        if queue:
            chunk = queue.pop(0)
            assert len(chunk) == n, f"entropy asked for {n} bytes, script has {len(chunk)}"
            return chunk
        if fallback is None:
            raise AssertionError("entropy script exhausted")
        return fallback(n)

    return entropy


class EnginePair:
    """Two engines and a relay; :meth:`pump` moves everything until nothing is in flight."""

    def __init__(self, now: float = 1_700_000_000.0, **engine_kwargs: Any) -> None:
        self.now = now
        self.server = RelayServerProtocol()
        self.wallet = WalletEngine(
            EngineConfig(metadata=WALLET_META), **engine_kwargs.get("wallet", {})
        )
        self.dapp = DappEngine(EngineConfig(metadata=DAPP_META), **engine_kwargs.get("dapp", {}))
        self.relays = {
            "wallet": RelayClientProtocol("did:key:z6Mkwallet"),
            "dapp": RelayClientProtocol("did:key:z6Mkdapp"),
        }
        self.engines: dict[str, EngineCore] = {"wallet": self.wallet, "dapp": self.dapp}
        self.events: dict[str, list[EngineEvent]] = {"wallet": [], "dapp": []}
        self.commands: dict[str, list[Command]] = {"wallet": [], "dapp": []}
        self.hold: dict[str, bool] = {"wallet": False, "dapp": False}
        for name, relay in self.relays.items():
            self.server.connect(name, relay.client_id, now)
            relay.connection_made(now)

    def advance(self, seconds: float) -> None:
        """Move the clock and run every expiry."""
        self.now += seconds
        for engine in self.engines.values():
            engine.expire(self.now)
        self.server.expire(self.now)
        self.pump()

    def deliver(self, side: str, topic: str, message: str) -> None:
        """Inject a raw envelope into one engine (duplicates, forged messages)."""
        self.engines[side].receive_message(topic, message, self.now, self.now)
        self.pump()

    def pump(self) -> None:
        for _ in range(100):
            moved = False
            for name, engine in self.engines.items():
                cmds = engine.messages_to_send()
                self.commands[name].extend(cmds)
                apply_commands(self.relays[name], cmds, self.now)
                self.events[name].extend(engine.events_received())
                engine.changes_to_persist()
            for name, relay in self.relays.items():
                for frame in relay.frames_to_send():
                    moved = True
                    self.server.receive_frame(name, frame, self.now)
            for conn, frame in self.server.frames_to_send():
                moved = True
                self.relays[str(conn)].receive_frame(frame, self.now)
            for name, relay in self.relays.items():
                for ev in relay.events_received():
                    if isinstance(ev, MessageReceived) and not self.hold[name]:
                        moved = True
                        self.engines[name].receive_message(
                            ev.topic, ev.message, ev.published_at / 1000, self.now
                        )
            if not moved:
                return
        raise AssertionError("pump did not settle")

    def take(self, side: str) -> list[EngineEvent]:
        events, self.events[side] = self.events[side], []
        return events


def proposed_pair(**connect: Any) -> tuple[EnginePair, ProposalReceived]:
    """A pair whose dApp proposed a session (``connect`` arguments, default: the optional
    namespaces) and whose wallet received it; returns the pair and the wallet's proposal event."""
    pair = EnginePair()
    pairing, uri = pair.dapp.create_pairing(pair.now)
    pair.dapp.connect(pairing.topic, pair.now, **(connect or {"optional_namespaces": OPTIONAL_NS}))
    pair.pump()
    pair.wallet.pair(uri, pair.now)
    pair.pump()
    [proposal] = [e for e in pair.take("wallet") if isinstance(e, ProposalReceived)]
    return pair, proposal


def settled_pair(*, drain: bool = False) -> tuple[EnginePair, str]:
    """A pair with one settled session (proposed, approved, acknowledged); returns it and the topic.

    ``drain`` discards the events the handshake left on both sides.
    """
    pair, proposal = proposed_pair()
    session = pair.wallet.approve(proposal.proposal.id, SESSION_NS, pair.now)
    pair.pump()
    if drain:
        pair.take("wallet")
        pair.take("dapp")
    return pair, session.topic
