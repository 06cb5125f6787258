from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest
from aiohttp import web
from eth_account import Account
from structlog.testing import capture_logs

from proxy.errors import SignerMismatchError, SignerRejectedError, SignerUnavailableError
from proxy.signers.base import VerifyingSigner, verify_message_signature
from proxy.signers.digests import personal_message_digest, typed_data_digest
from proxy.signers.remote import RemoteSigner


def tx(sender: str, **changes: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "from": sender,
        "to": "0x1111111111111111111111111111111111111111",
        "value": "0x10",
        "data": "0x",
        "gas": "0x5208",
        "nonce": "0x0",
        "maxFeePerGas": "0x3b9aca00",
        "maxPriorityFeePerGas": "0x1",
        "chainId": "0x1",
    }
    out.update(changes)
    return out


def remote(fake: Any, flavor: str, **kwargs: Any) -> VerifyingSigner:
    return VerifyingSigner(
        RemoteSigner(fake.url, flavor=flavor, accounts=(fake.address,), **kwargs)  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("flavor", "methods"),
    [
        ("clef", ["account_signTransaction", "account_signData", "account_signTypedData"]),
        ("web3signer", ["eth_signTransaction", "eth_sign", "eth_signTypedData"]),
    ],
)
async def test_both_flavors_sign_and_verify(
    fake_signer: Any, flavor: str, methods: list[str]
) -> None:
    signer = remote(fake_signer, flavor)
    try:
        signed = await signer.sign_transaction(tx(fake_signer.address), 1)
        assert Account.recover_transaction(signed.raw).lower() == fake_signer.address
        sig = await signer.sign_message(
            fake_signer.address, b"hello", personal_message_digest(b"hello")
        )
        assert verify_message_signature(fake_signer.address, b"hello", sig) == sig
        await signer.sign_typed_data(
            fake_signer.address, fake_signer.permit(), typed_data_digest(fake_signer.permit())
        )
    finally:
        await signer.close()
    assert [call[0] for call in fake_signer.calls] == methods
    if flavor == "clef":
        assert fake_signer.calls[1][1][0] == "text/plain"


@pytest.mark.parametrize("flavor", ["clef", "web3signer"])
async def test_lying_remote_signers_are_caught(fake_signer: Any, flavor: str) -> None:
    signer = remote(fake_signer, flavor)
    try:
        fake_signer.lie = "other_to"
        with pytest.raises(SignerMismatchError) as info:
            await signer.sign_transaction(tx(fake_signer.address), 1)
        assert info.value.field == "to"
        fake_signer.lie = "other_key"
        with pytest.raises(SignerMismatchError) as info:
            await signer.sign_transaction(tx(fake_signer.address), 1)
        assert info.value.field == "from"
        with pytest.raises(SignerMismatchError):
            await signer.sign_message(
                fake_signer.address, b"hello", personal_message_digest(b"hello")
            )
        with pytest.raises(SignerMismatchError):
            await signer.sign_typed_data(
                fake_signer.address, fake_signer.permit(), typed_data_digest(fake_signer.permit())
            )
        fake_signer.lie = "garbage"
        with pytest.raises(SignerMismatchError):
            await signer.sign_message(
                fake_signer.address, b"hello", personal_message_digest(b"hello")
            )
        fake_signer.lie = "wrong_id"
        with pytest.raises(SignerMismatchError, match="wrong id"):
            await signer.sign_message(
                fake_signer.address, b"hello", personal_message_digest(b"hello")
            )
    finally:
        await signer.close()


async def test_refusals_are_rejected_errors(fake_signer: Any) -> None:
    signer = remote(fake_signer, "clef")
    try:
        fake_signer.lie = "error"
        with pytest.raises(SignerRejectedError) as info:
            await signer.sign_message(fake_signer.address, b"x", personal_message_digest(b"x"))
        assert info.value.code == -32000
        fake_signer.lie = "http500"
        with pytest.raises(SignerRejectedError, match="HTTP 500"):
            await signer.sign_message(fake_signer.address, b"x", personal_message_digest(b"x"))
        with pytest.raises(SignerRejectedError, match="not configured"):
            await signer.sign_message("0x" + "44" * 20, b"x", personal_message_digest(b"x"))
    finally:
        await signer.close()
    assert len(fake_signer.calls) == 2  # the unconfigured account never reached the signer


async def test_bearer_token_is_sent(fake_signer: Any) -> None:
    signer = remote(fake_signer, "web3signer", auth_token="s3cret")
    try:
        await signer.sign_message(fake_signer.address, b"x", personal_message_digest(b"x"))
    finally:
        await signer.close()
    assert fake_signer.headers[0]["Authorization"] == "Bearer s3cret"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_connection_refused_is_retried_then_unavailable() -> None:
    address = "0x" + "ab" * 20
    signer = RemoteSigner(
        f"http://127.0.0.1:{_free_port()}/",
        flavor="clef",
        accounts=(address,),
        retries=2,
        retry_backoff_s=0.001,
    )
    try:
        with capture_logs() as logs, pytest.raises(SignerUnavailableError, match="3 attempts"):
            await signer.sign_message(address, b"x", personal_message_digest(b"x"))
    finally:
        await signer.close()
    assert [e["event"] for e in logs].count("signer_retry") == 2


async def test_timeout_is_not_retried() -> None:
    seen = []

    async def slow(request: web.Request) -> web.Response:
        seen.append(1)
        await asyncio.sleep(2)
        return web.Response(text="{}")

    app = web.Application()
    app.router.add_post("/", slow)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    address = "0x" + "ab" * 20
    signer = RemoteSigner(
        f"http://127.0.0.1:{port}/",
        flavor="web3signer",
        accounts=(address,),
        timeout_s=0.2,
        retries=3,
    )
    try:
        with pytest.raises(SignerUnavailableError, match="in time"):
            await signer.sign_message(address, b"x", personal_message_digest(b"x"))
    finally:
        await signer.close()
        await runner.cleanup()
    assert seen == [1]  # delivered once, never retried
