"""``wcproxy demo``: the local relay, the proxy on embedded defaults and a scripted dApp, end to end (I/O).

The dApp is our own dApp role (``walletconnect.aio.DappClient``): it pairs with the proxy through the
local relay and sends a realistic mix of requests; the table shows what the proxy did with each, with
the reason. Everything runs in this process on loopback; state goes to a fresh data directory.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eth_abi.abi import encode
from eth_account import Account
from eth_account.messages import encode_defunct, encode_typed_data
from eth_utils.crypto import keccak

from proxy.app import Daemon
from proxy.config import Settings
from walletconnect.aio.dapp_client import DappClient
from walletconnect.aio.engine_client import ResponseError
from walletconnect.errors import WalletConnectError

__all__ = ["DemoResult", "run_demo"]

USDC = "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"
WETH = "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2"
ROUTER = "0x68b3465833fb72A70ecDF485E0e4C7bD8665Fc45"
ALLOWED = "0x1111111111111111111111111111111111111111"
STRANGER = "0x2222222222222222222222222222222222222222"
CHAIN = "eip155:1"
METADATA = {
    "name": "wcproxy demo dApp",
    "description": "A scripted dApp sending a realistic mix of requests",
    "url": "https://demo.wcproxy.example",
    "icons": [],
}
_REQUEST_TIMEOUT_S = 20.0
_EXPIRED_WAIT_S = 3.0


@dataclass(frozen=True, slots=True)
class DemoResult:
    """One row of the demo table."""

    scenario: str
    method: str
    expected: str  # "signed" or "blocked"
    outcome: str  # "SIGNED", "blocked", "error"
    code: int | None
    reason: str
    latency_ms: float

    @property
    def as_expected(self) -> bool:
        """True when a request meant to be signed was signed and one meant to be blocked was blocked."""
        return (self.outcome == "SIGNED") == (self.expected == "signed") and self.outcome != "error"


def _selector(signature: str) -> bytes:
    return keccak(text=signature)[:4]


def _tx(account: str, to: str, *, value: int = 0, data: bytes = b"", nonce: int) -> dict[str, Any]:
    return {
        "from": account,
        "to": to,
        "value": hex(value),
        "data": "0x" + data.hex(),
        "gas": hex(200_000),
        "maxFeePerGas": hex(30 * 10**9),
        "maxPriorityFeePerGas": hex(10**9),
        "nonce": hex(nonce),
        "chainId": "0x1",
        "type": "0x2",
    }


def _swap(account: str, nonce: int) -> dict[str, Any]:
    params = (
        USDC,
        WETH,
        500,
        account,
        50 * 10**6,
        1,
        0,
    )  # 50 USDC -> WETH, recipient = the account
    data = _selector(
        "exactInputSingle((address,address,uint24,address,uint256,uint256,uint160))"
    ) + encode(["(address,address,uint24,address,uint256,uint256,uint160)"], [params])
    return _tx(account, ROUTER, data=data, nonce=nonce)


def _permit_wrong_chain(account: str) -> dict[str, Any]:
    return {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "Permit": [
                {"name": "owner", "type": "address"},
                {"name": "spender", "type": "address"},
                {"name": "value", "type": "uint256"},
                {"name": "nonce", "type": "uint256"},
                {"name": "deadline", "type": "uint256"},
            ],
        },
        "primaryType": "Permit",
        "domain": {"name": "USD Coin", "version": "2", "chainId": 10, "verifyingContract": USDC},
        "message": {
            "owner": account,
            "spender": ROUTER,
            "value": 10 * 10**6,
            "nonce": 0,
            "deadline": int(time.time()) + 1800,
        },
    }


def _recovers(method: str, params: Any, result: Any, account: str) -> bool:
    """Check a returned signature cryptographically (so SIGNED means a valid signature came back)."""
    try:
        if method == "personal_sign":
            message = (
                bytes.fromhex(params[0][2:]) if params[0].startswith("0x") else params[0].encode()
            )
            signer = Account.recover_message(encode_defunct(primitive=message), signature=result)
        elif method == "eth_signTypedData_v4":
            signer = Account.recover_message(
                encode_typed_data(full_message=json.loads(params[1])), signature=result
            )
        elif method == "eth_signTransaction":
            signer = Account.recover_transaction(result)
        else:
            return False
    except (ValueError, TypeError, KeyError):
        return False
    return bool(signer.lower() == account.lower())


async def _send(
    dapp: DappClient,
    topic: str,
    scenario: str,
    method: str,
    params: Any,
    expected: str,
    account: str,
) -> DemoResult:
    started = time.perf_counter()
    try:
        result = await dapp.request(topic, CHAIN, method, params, timeout_s=_REQUEST_TIMEOUT_S)
    except ResponseError as exc:
        data = exc.data if isinstance(exc.data, dict) else {}
        reason = ",".join(data.get("reasons", [])) or str(data.get("reason", "")) or exc.message
        if data.get("layer"):
            reason = f"replay ({data['layer']})"
        return DemoResult(scenario, method, expected, "blocked", exc.code, reason, _ms(started))
    except WalletConnectError as exc:
        return DemoResult(
            scenario, method, expected, "blocked", None, f"session ended: {exc}", _ms(started)
        )
    valid = _recovers(method, params, result, account)
    outcome = "SIGNED" if valid else "error"
    reason = "valid signature" if valid else "result is not a valid signature"
    return DemoResult(scenario, method, expected, outcome, None, reason, _ms(started))


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


class _Clock:
    """The proxy's clock: wall clock plus an offset, so the demo can show what happens after expiry."""

    def __init__(self) -> None:
        self.proxy_offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.proxy_offset


async def run_demo(
    settings: Settings, *, progress: Callable[[str], None]
) -> tuple[list[DemoResult], Path]:
    """Run the scripted session against an in-process proxy; returns the rows and the audit log path."""
    clock = _Clock()
    daemon = Daemon(settings, clock=clock)
    await daemon.start()
    audit_path = Path(settings.audit.path)
    results: list[DemoResult] = []
    try:
        account = daemon.signer.accounts()[0]
        progress(
            f"proxy up: relay {daemon.relay_url}, admin {daemon.admin_url}, signer {daemon.signer.name}"
        )
        async with DappClient(daemon.relay_url, metadata=METADATA) as dapp:
            uri, approval = await dapp.connect(
                optional_namespaces={
                    "eip155": {
                        "chains": [CHAIN],
                        "methods": ["personal_sign", "eth_signTypedData_v4", "eth_signTransaction"],
                        "events": ["accountsChanged", "chainChanged"],
                    }
                }
            )
            await daemon.pair(uri, actor="demo")
            session = await asyncio.wait_for(approval, _REQUEST_TIMEOUT_S)
            topic = session.topic
            progress(f"dApp paired: session {topic[:16]}..., account {account}")
            swap = _swap(account, nonce=0)
            upgrade = _selector("upgradeTo(address)") + encode(["address"], [STRANGER])
            plan: list[tuple[str, str, Any, str]] = [
                (
                    "swap 50 USDC -> WETH on Uniswap (within the $100 cap)",
                    "eth_signTransaction",
                    [swap],
                    "signed",
                ),
                (
                    "sign a plain-text message",
                    "personal_sign",
                    ["0x" + b"Hello from the demo dApp".hex(), account],
                    "signed",
                ),
                (
                    "send 0.05 ETH ($150) to an allowed address",
                    "eth_signTransaction",
                    [_tx(account, ALLOWED, value=5 * 10**16, nonce=1)],
                    "blocked",
                ),
                (
                    "send 0.001 ETH to a non-allowlisted address",
                    "eth_signTransaction",
                    [_tx(account, STRANGER, value=10**15, nonce=1)],
                    "blocked",
                ),
                (
                    "EIP-2612 permit typed for chain 10 on a chain-1 session",
                    "eth_signTypedData_v4",
                    [account, json.dumps(_permit_wrong_chain(account))],
                    "blocked",
                ),
                (
                    "upgradeTo(...) on a contract",
                    "eth_signTransaction",
                    [_tx(account, ALLOWED, data=upgrade, nonce=1)],
                    "blocked",
                ),
                (
                    "the signed swap again, in a new request (replay)",
                    "eth_signTransaction",
                    [swap],
                    "blocked",
                ),
            ]
            for scenario, method, params, expected in plan:
                row = await _send(dapp, topic, scenario, method, params, expected, account)
                results.append(row)
                progress(f"{row.outcome:8} {scenario}")
            row = await _expired_session_request(dapp, topic, account, clock)
            results.append(row)
            progress(f"{row.outcome:8} {row.scenario}")
    finally:
        await daemon.stop()
    return results, audit_path


async def _expired_session_request(
    dapp: DappClient, topic: str, account: str, clock: _Clock
) -> DemoResult:
    """Two hours later for the proxy (the dApp's clock is not told): its one-hour envelope has expired.

    The WalletConnect session expired with the envelope, so the proxy never answers on it; the dApp,
    unaware, waits in vain.
    """
    scenario = "a request two hours later (envelope and session expired)"
    clock.proxy_offset = 2 * 3600.0
    params = ["0x" + b"still there?".hex(), account]
    started = time.perf_counter()
    try:
        result = await dapp.request(
            topic, CHAIN, "personal_sign", params, timeout_s=_EXPIRED_WAIT_S
        )
    except ResponseError as exc:
        return DemoResult(
            scenario, "personal_sign", "blocked", "blocked", exc.code, exc.message, _ms(started)
        )
    except WalletConnectError:
        reason = "no answer: the proxy never answers on an expired session"
        return DemoResult(
            scenario, "personal_sign", "blocked", "blocked", None, reason, _ms(started)
        )
    outcome = "SIGNED" if _recovers("personal_sign", params, result, account) else "error"
    return DemoResult(scenario, "personal_sign", "blocked", outcome, None, "answered", _ms(started))


def format_table(rows: list[DemoResult]) -> str:
    """The outcome table, one request per line."""
    headers = ("#", "scenario", "method", "outcome", "code", "reason", "ms")
    cells = [
        (
            str(i),
            r.scenario,
            r.method,
            r.outcome,
            "" if r.code is None else str(r.code),
            r.reason,
            f"{r.latency_ms:.1f}",
        )
        for i, r in enumerate(rows, 1)
    ]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]
    widths[5] = min(widths[5], 60)
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    for c in cells:
        reason = c[5] if len(c[5]) <= widths[5] else c[5][: widths[5] - 3] + "..."
        row = (*c[:5], reason, c[6])
        lines.append("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)))
    return "\n".join(lines)


def fresh_data_dir(base: Path) -> Path:
    """A new directory for one demo run (the replay store would otherwise remember the last run)."""
    stamp = datetime.now(tz=UTC).strftime("%Y%m%dT%H%M%S%fZ")
    path = base / stamp
    path.mkdir(parents=True, exist_ok=False)
    return path
