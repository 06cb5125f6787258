"""eth_sendTransaction end to end against a real local chain (eth-tester / py-evm behind JSON-RPC).

A ``wcproxy run`` on the example config plus ``[chains."eip155:1"] rpc_url``; our dApp sends
transactions WITHOUT nonce, gas or fees. The daemon fills them from the endpoint, the policy judges
the filled transaction (the audit record's payload hash is its signing hash), the dev key signs, it
is broadcast, and the hash comes back. The transaction is mined with exactly the judged fields.
Denied transactions are never broadcast.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from chain_server import PRIORITY_FEE_WEI, ChainServer
from daemon_process import EXAMPLE_CONFIG, DaemonProcess
from dapp_driver import DAPP_META, pair_with_daemon
from eth_account.typed_transactions.typed_transaction import TypedTransaction
from eth_utils.crypto import keccak
from hexbytes import HexBytes

from walletconnect.aio.dapp_client import DappClient
from walletconnect.aio.engine_client import ResponseError

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

pytest.importorskip("eth_tester", reason="eth-tester[py-evm] not installed")

DEV_ADDRESS = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"
ALLOWED = "0x1111111111111111111111111111111111111111"
STRANGER = "0x2222222222222222222222222222222222222222"
CHAIN = "eip155:1"


def config_with_rpc(tmp_path: Path, rpc_url: str) -> Path:
    """The example config, with the chain endpoint set and paths made absolute."""
    base = EXAMPLE_CONFIG.parent
    text = EXAMPLE_CONFIG.read_text(encoding="utf-8")
    replacements = {
        '# rpc_url = "http://127.0.0.1:8545"': f'rpc_url = "{rpc_url}"',
        'envelope = "envelopes/example.json"': f'envelope = "{base / "envelopes/example.json"}"',
        'token_list = "tokens/mainnet.tokenlist.json"': (
            f'token_list = "{base / "tokens/mainnet.tokenlist.json"}"'
        ),
    }
    for old, new in replacements.items():
        assert old in text, f"config/example.toml changed: {old!r} not found"
        text = text.replace(old, new)
    path = tmp_path / "with-chain.toml"
    path.write_text(text, encoding="utf-8")
    return path


def audit_requests(data_dir: Path) -> list[dict[str, Any]]:
    lines = (data_dir / "audit.jsonl").read_text(encoding="utf-8").splitlines()
    return [r for r in map(json.loads, lines) if r.get("event") == "request"]


async def test_send_transaction_is_filled_judged_signed_broadcast_and_mined(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    async with ChainServer(funded=[DEV_ADDRESS]) as chain:
        tester = chain.tester
        base_fee = int(tester.get_block_by_number("latest")["base_fee_per_gas"])
        config = config_with_rpc(tmp_path, chain.url)
        async with DaemonProcess(data_dir, config=config) as daemon:
            account = daemon.ready["accounts"][0]
            assert account == DEV_ADDRESS
            async with DappClient(daemon.ready["relay"], metadata=DAPP_META) as dapp:
                topic = await pair_with_daemon(dapp, daemon.ready, data_dir)

                async def send(tx: dict[str, Any]) -> Any:
                    return await dapp.request(
                        topic, CHAIN, "eth_sendTransaction", [tx], timeout_s=30
                    )

                # no nonce, no gas, no fees, no chainId: the daemon fills them from the endpoint
                first = await send({"from": account, "to": ALLOWED, "value": hex(10**16)})
                second = await send({"from": account, "to": ALLOWED, "value": hex(2 * 10**16)})
                broadcast_before_denials = list(chain.raw_transactions)

                with pytest.raises(ResponseError) as stranger:
                    await send({"from": account, "to": STRANGER, "value": hex(1)})
                with pytest.raises(ResponseError) as over_cap:
                    await send({"from": account, "to": ALLOWED, "value": hex(10**17)})
            assert await daemon.terminate() == 0, daemon.tail()

        # denials are answered with their own reasons and never reach the chain
        assert stranger.value.code == 5000
        assert "destination_not_allowed" in stranger.value.data["reasons"]
        assert over_cap.value.code == 5000
        assert "value_cap_exceeded" in over_cap.value.data["reasons"]
        assert chain.raw_transactions == broadcast_before_denials
        assert len(chain.raw_transactions) == 2

        # the endpoint was asked what a wallet asks
        for method in (
            "eth_getTransactionCount",
            "eth_estimateGas",
            "eth_getBlockByNumber",
            "eth_maxPriorityFeePerGas",
            "eth_sendRawTransaction",
        ):
            assert method in chain.calls, (method, chain.calls)

        # both were mined, with the filled fields, in nonce order
        estimate = int(tester.estimate_gas({"from": account, "to": ALLOWED, "value": 10**16}))
        for nonce, (tx_hash, value) in enumerate([(first, 10**16), (second, 2 * 10**16)]):
            mined = tester.get_transaction_by_hash(tx_hash)
            assert mined["block_number"] is not None
            assert tester.get_transaction_receipt(tx_hash)["status"] == 1
            assert mined["from"].lower() == account
            assert mined["to"].lower() == ALLOWED
            assert mined["value"] == value
            assert mined["nonce"] == nonce
            assert mined["chain_id"] == 1
            assert mined["type"] == "0x2"  # EIP-1559 (eth-tester reports the type as hex)
            assert mined["gas"] == estimate * 12 // 10  # estimate + 20 % headroom
            assert mined["max_priority_fee_per_gas"] == PRIORITY_FEE_WEI
            assert mined["max_fee_per_gas"] >= base_fee + PRIORITY_FEE_WEI
        assert tester.get_balance(ALLOWED) == 3 * 10**16

        # the fields mined are exactly the fields judged: the audit's payload hash is the signing
        # hash of the broadcast transaction, and the returned hash is that transaction's hash
        allowed = [r for r in audit_requests(data_dir) if r["decision"] == "allow"]
        assert [r["method"] for r in allowed] == ["eth_sendTransaction"] * 2
        for record, raw, tx_hash in zip(
            allowed, chain.raw_transactions, [first, second], strict=True
        ):
            raw_bytes = bytes.fromhex(raw[2:])
            assert "0x" + keccak(raw_bytes).hex() == tx_hash
            signing_hash = "0x" + TypedTransaction.from_bytes(HexBytes(raw_bytes)).hash().hex()
            assert record["payload_hash"] == signing_hash
            assert record["destinations"] == [ALLOWED]
            assert record["signer"]
        first_fee = tester.get_transaction_by_hash(first)["max_fee_per_gas"]
        assert first_fee == 2 * base_fee + PRIORITY_FEE_WEI  # 2 x base fee + tip, as wallets do


async def test_concurrent_sends_of_one_session_get_consecutive_nonces(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    async with ChainServer(funded=[DEV_ADDRESS]) as chain:
        config = config_with_rpc(tmp_path, chain.url)
        async with DaemonProcess(data_dir, config=config) as daemon:
            account = daemon.ready["accounts"][0]
            async with DappClient(daemon.ready["relay"], metadata=DAPP_META) as dapp:
                topic = await pair_with_daemon(dapp, daemon.ready, data_dir)
                # sent at once, none broadcast yet when the next is filled: the node's pending
                # count alone would hand every one of them the same nonce
                hashes = await asyncio.gather(
                    *(
                        dapp.request(
                            topic,
                            CHAIN,
                            "eth_sendTransaction",
                            [{"from": account, "to": ALLOWED, "value": hex(k * 10**15)}],
                            timeout_s=30,
                        )
                        for k in (1, 2, 3, 4)
                    )
                )
            assert await daemon.terminate() == 0, daemon.tail()
        nonces = sorted(chain.tester.get_transaction_by_hash(h)["nonce"] for h in hashes)
        assert nonces == [0, 1, 2, 3]
        assert chain.tester.get_balance(ALLOWED) == 10 * 10**15
