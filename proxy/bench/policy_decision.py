"""Benchmark: latency of policy decisions, evaluate() and decide() (decode + evaluate), over a realistic mix.

Pure CPU (reads only the monotonic clock). The mix is built with eth-account / eth-abi: native and
ERC-20 transfers, a SwapRouter02 swap, an approval, an EIP-2612 permit, a SIWE login, a plain
personal_sign, generic typed data, a wallet_sendCalls batch, and denials (ownership transfer, unlimited
approval, foreign chain, eth_sign, unknown recipient). Target: evaluate() p99 <= 50 µs.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import Any

from eth_abi.abi import encode as abi_encode
from eth_account import Account
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from policy.actions import Action
from policy.budget import EnvelopeUsage
from policy.decode import decode
from policy.engine import decide, evaluate
from policy.envelope import CapabilityEnvelope, load_envelope
from policy.pricing import Pricer, PriceTable
from policy.request import SigningRequest
from policy.tokens import TokenList

__all__ = ["TARGET_P99_US", "Scenario", "run", "scenarios"]

#: The evaluate() p99 latency the policy engine must meet.
TARGET_P99_US = 50

NOW = 1_700_000_000
KEY = "0x" + "4c" * 32  # a fixed, public test key: the account the mix signs as
ACCOUNT = Account.from_key(KEY).address
RECIPIENT = "0x1111111111111111111111111111111111111111"
STRANGER = "0x2222222222222222222222222222222222222222"
USDC = "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"
WETH = "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2"
ROUTER = "0x68b3465833fb72A70ecDF485E0e4C7bD8665Fc45"
MAIL = "0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC"
ORIGIN = "https://app.example.com"


@dataclass(frozen=True, slots=True)
class Scenario:
    """One request of the mix and whether the benchmark envelope should allow it."""

    name: str
    request: SigningRequest
    allowed: bool


def _call(signature: str, types: list[str], values: list[Any]) -> str:
    return "0x" + (keccak(text=signature)[:4] + abi_encode(types, values)).hex()


def _tx(to: str, *, data: str = "0x", value: int = 0, chain_id: int = 1) -> dict[str, str]:
    return {
        "from": ACCOUNT,
        "to": to,
        "value": hex(value),
        "data": data,
        "chainId": hex(chain_id),
        "nonce": "0x7",
        "gas": "0x30d40",
        "maxFeePerGas": hex(30 * 10**9),
        "maxPriorityFeePerGas": hex(10**9),
        "type": "0x2",
    }


def _send(tx: dict[str, str], chain_id: int = 1) -> SigningRequest:
    return SigningRequest(
        "eth_sendTransaction", [tx], chain_id=chain_id, account=ACCOUNT.lower(), origin=ORIGIN
    )


def _permit() -> dict[str, Any]:
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
        "domain": {"name": "USD Coin", "version": "2", "chainId": 1, "verifyingContract": USDC},
        "message": {
            "owner": ACCOUNT,
            "spender": ROUTER,
            "value": 10 * 10**6,
            "nonce": 0,
            "deadline": NOW + 600,
        },
    }


def _mail() -> dict[str, Any]:
    return {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "Person": [{"name": "name", "type": "string"}, {"name": "wallet", "type": "address"}],
            "Mail": [
                {"name": "from", "type": "Person"},
                {"name": "to", "type": "Person"},
                {"name": "contents", "type": "string"},
            ],
        },
        "primaryType": "Mail",
        "domain": {"name": "Ether Mail", "version": "1", "chainId": 1, "verifyingContract": MAIL},
        "message": {
            "from": {"name": "Cow", "wallet": ACCOUNT},
            "to": {"name": "Bob", "wallet": RECIPIENT},
            "contents": "Hello, Bob!",
        },
    }


def _siwe() -> str:
    return (
        "app.example.com wants you to sign in with your Ethereum account:\n"
        f"{ACCOUNT}\n\nSign in to the example app.\n\n"
        "URI: https://app.example.com/login\nVersion: 1\nChain ID: 1\nNonce: 32891756abc\n"
        "Issued At: 2023-11-14T22:13:20Z\nExpiration Time: 2023-11-14T22:23:20Z"
    )


def _typed(data: dict[str, Any]) -> SigningRequest:
    import json

    return SigningRequest(
        "eth_signTypedData_v4",
        [ACCOUNT, json.dumps(data)],
        chain_id=1,
        account=ACCOUNT.lower(),
        origin=ORIGIN,
    )


def scenarios() -> list[Scenario]:
    """The request mix (built fresh; deterministic)."""
    transfer = _call("transfer(address,uint256)", ["address", "uint256"], [RECIPIENT, 25 * 10**6])
    swap = _call(
        "exactInputSingle((address,address,uint24,address,uint256,uint256,uint160))",
        ["(address,address,uint24,address,uint256,uint256,uint160)"],
        [(USDC, WETH, 500, ACCOUNT, 50 * 10**6, 1, 0)],
    )
    approve = _call("approve(address,uint256)", ["address", "uint256"], [ROUTER, 50 * 10**6])
    unlimited = _call("approve(address,uint256)", ["address", "uint256"], [ROUTER, 2**256 - 1])
    ownership = _call("transferOwnership(address)", ["address"], [STRANGER])
    stranger = _call("transfer(address,uint256)", ["address", "uint256"], [STRANGER, 10**6])
    batch = {
        "version": "2.0.0",
        "from": ACCOUNT,
        "chainId": "0x1",
        "atomicRequired": True,
        "calls": [
            {"to": USDC, "data": transfer, "value": "0x0"},
            {"to": RECIPIENT, "value": hex(10**15), "data": "0x"},
        ],
    }
    return [
        Scenario("native_transfer", _send(_tx(RECIPIENT, value=10**16)), True),
        Scenario("erc20_transfer", _send(_tx(USDC, data=transfer)), True),
        Scenario("swap", _send(_tx(ROUTER, data=swap)), True),
        Scenario("approve", _send(_tx(USDC, data=approve)), True),
        Scenario("permit", _typed(_permit()), True),
        Scenario(
            "siwe",
            SigningRequest(
                "personal_sign",
                ["0x" + _siwe().encode().hex(), ACCOUNT],
                chain_id=1,
                account=ACCOUNT.lower(),
                origin=ORIGIN,
            ),
            True,
        ),
        Scenario(
            "personal_sign",
            SigningRequest(
                "personal_sign",
                ["0x" + b"hello from the bench".hex(), ACCOUNT],
                chain_id=1,
                account=ACCOUNT.lower(),
                origin=ORIGIN,
            ),
            True,
        ),
        Scenario("typed_data", _typed(_mail()), True),
        Scenario(
            "send_calls",
            SigningRequest(
                "wallet_sendCalls", [batch], chain_id=1, account=ACCOUNT.lower(), origin=ORIGIN
            ),
            True,
        ),
        Scenario("deny_ownership", _send(_tx(USDC, data=ownership)), False),
        Scenario("deny_unlimited_approve", _send(_tx(USDC, data=unlimited)), False),
        Scenario("deny_foreign_chain", _send(_tx(USDC, data=transfer, chain_id=10)), False),
        Scenario(
            "deny_eth_sign",
            SigningRequest(
                "eth_sign",
                [ACCOUNT, "0x" + "ab" * 32],
                chain_id=1,
                account=ACCOUNT.lower(),
                origin=ORIGIN,
            ),
            False,
        ),
        Scenario("deny_stranger", _send(_tx(USDC, data=stranger)), False),
    ]


def bench_envelope() -> CapabilityEnvelope:
    """The envelope the mix is judged against (seed form plus budget and typed-data classes)."""
    return load_envelope(
        {
            "sessionKey": "bench",
            "capabilities": [
                "message.sign",
                "siwe.login",
                "native.transfer",
                "erc20.transfer",
                "erc20.approve",
                "swap.execute",
                "permit.sign",
                "typed_data.sign",
            ],
            "maxValueUsd": 100,
            "allowedDestinations": [RECIPIENT, USDC, ROUTER, MAIL],
            "chainId": 1,
            "expiresAt": NOW + 3600,
            "budgetUsd": 1000,
            "periodSeconds": 86400,
            "maxCalls": 1000,
        }
    )


def bench_pricer() -> Pricer:
    """ETH/WETH $2000, USDC $1 (pinned), a two-token list."""
    tokens = TokenList.from_token_list(
        {
            "name": "bench",
            "tokens": [
                {"chainId": 1, "address": USDC, "symbol": "USDC", "decimals": 6, "name": "USDC"},
                {"chainId": 1, "address": WETH, "symbol": "WETH", "decimals": 18, "name": "WETH"},
            ],
        }
    )
    table = PriceTable.from_config(
        {
            "maxAgeSeconds": 600,
            "quotes": {"ETH": {"usd": "2000", "asOf": NOW}, "WETH": "2000", "USDC": "1"},
        }
    )
    return Pricer(table=table, tokens=tokens)


def _percentiles(samples_ns: list[int]) -> dict[str, float]:
    ordered = sorted(samples_ns)
    n = len(ordered)

    def pct(q: float) -> float:
        return round(ordered[min(n - 1, int(q * n))] / 1000, 2)

    return {"p50_us": pct(0.50), "p90_us": pct(0.90), "p99_us": pct(0.99), "samples": n}


def _time(fn: Callable[[], object], rounds: int, deadline: float) -> list[int]:
    samples: list[int] = []
    clock = time.perf_counter_ns
    for _ in range(rounds):
        start = clock()
        fn()
        samples.append(clock() - start)
        if time.monotonic() > deadline:
            break
    return samples


def run(*, rounds: int = 1500, max_seconds: float = 30.0) -> dict[str, Any]:
    """Time evaluate() and decide() over the mix; ``rounds`` per request, bounded by ``max_seconds``."""
    envelope = bench_envelope()
    prices = bench_pricer()
    usage = EnvelopeUsage(spent_usd=Decimal(120), calls=10)
    mix = scenarios()
    actions: list[tuple[Scenario, Action]] = []
    outcomes: dict[str, Any] = {}
    mismatches: list[str] = []
    for sc in mix:
        d = decide(sc.request, envelope, usage, NOW, prices=prices)
        outcomes[sc.name] = [r.value for r in d.reasons] or "allow"
        if d.allowed != sc.allowed:
            mismatches.append(sc.name)
        actions.append((sc, decode(sc.request, tokens=prices.tokens)))

    deadline = time.monotonic() + max_seconds
    for sc, action in actions:  # warm-up
        for _ in range(50):
            evaluate(action, envelope, usage, NOW, request=sc.request, prices=prices)
            decide(sc.request, envelope, usage, NOW, prices=prices)
    gc.collect()
    eval_ns: list[int] = []
    decide_ns: list[int] = []
    per_request: dict[str, float] = {}
    for sc, action in actions:
        samples = _time(
            partial(evaluate, action, envelope, usage, NOW, request=sc.request, prices=prices),
            rounds,
            deadline,
        )
        eval_ns.extend(samples)
        per_request[sc.name] = _percentiles(samples)["p50_us"]
        decide_ns.extend(
            _time(
                partial(decide, sc.request, envelope, usage, NOW, prices=prices),
                max(1, rounds // 3),
                deadline,
            )
        )
    ev = _percentiles(eval_ns)
    de = _percentiles(decide_ns)
    return {
        "p50_us": ev["p50_us"],
        "p99_us": ev["p99_us"],
        "target_p99_us": TARGET_P99_US,
        "meets_target": ev["p99_us"] <= TARGET_P99_US,
        "evaluate": ev,
        "decide": de,
        "evaluate_p50_us_by_request": per_request,
        "requests": len(mix),
        "outcomes": outcomes,
        "unexpected_outcomes": mismatches,
        "account": to_checksum_address(ACCOUNT),
    }
