from __future__ import annotations

import json
from pathlib import Path

import pytest
from eth_account import Account
from structlog.testing import capture_logs

from proxy.errors import SignerRejectedError, SignerUnavailableError
from proxy.signers.base import verify_message_signature
from proxy.signers.digests import personal_message_digest
from proxy.signers.keystore import DEV_ADDRESS, DEV_LABEL, DevSigner, LocalSigner

KEY = "0x" + "5a" * 32
PASSPHRASE = "correct horse battery staple"


def write_keystore(path: Path, key: str = KEY, passphrase: str = PASSPHRASE) -> Path:
    # pbkdf2 with 2 iterations: fast in tests, same format as a real keystore
    path.write_text(json.dumps(Account.encrypt(key, passphrase, kdf="pbkdf2", iterations=2)))
    return path


async def test_local_signer_from_keystore_signs_for_its_address(tmp_path: Path) -> None:
    signer = LocalSigner.from_keystore(write_keystore(tmp_path / "k.json"), PASSPHRASE)
    address = str(Account.from_key(KEY).address).lower()
    assert signer.accounts() == (address,)
    sig = await signer.sign_message(address, b"hi", personal_message_digest(b"hi"))
    assert verify_message_signature(address, b"hi", sig) == sig
    with pytest.raises(SignerRejectedError):
        await signer.sign_message(DEV_ADDRESS, b"hi", personal_message_digest(b"hi"))


def test_scrypt_keystore_also_unlocks(tmp_path: Path) -> None:
    keyfile = Account.encrypt(KEY, PASSPHRASE, kdf="scrypt", iterations=2)
    (tmp_path / "k.json").write_text(json.dumps(keyfile))
    assert (
        LocalSigner.from_keystore(tmp_path / "k.json", PASSPHRASE).address
        == str(Account.from_key(KEY).address).lower()
    )


@pytest.mark.parametrize(
    ("content", "passphrase", "needle"),
    [
        (None, PASSPHRASE, "cannot read"),
        ("{not json", PASSPHRASE, "not JSON"),
        ('{"version": 3}', PASSPHRASE, "not a v3 keystore"),
        ("keystore", "hunter2-not-it", "could not be unlocked"),
        ("x" * 70_000, PASSPHRASE, "too large"),
    ],
)
def test_keystore_failures_are_unavailable_and_never_echo_secrets(
    tmp_path: Path, content: str | None, passphrase: str, needle: str
) -> None:
    path = tmp_path / "k.json"
    if content == "keystore":
        write_keystore(path)
    elif content is not None:
        path.write_text(content)
    with pytest.raises(SignerUnavailableError, match=needle) as info:
        LocalSigner.from_keystore(path, passphrase)
    assert passphrase not in str(info.value)
    assert KEY[2:] not in str(info.value)


def test_repr_never_shows_the_key(tmp_path: Path) -> None:
    signer = LocalSigner.from_keystore(write_keystore(tmp_path / "k.json"), PASSPHRASE)
    assert KEY[2:] not in repr(signer)
    assert "0x" in repr(signer)


async def test_dev_signer_is_the_labelled_public_key() -> None:
    with capture_logs() as logs:
        dev = DevSigner()
    assert dev.accounts() == (DEV_ADDRESS,)
    assert dev.name == "dev"
    assert DEV_LABEL in repr(dev)
    assert any(entry.get("label") == DEV_LABEL for entry in logs)
    assert DEV_LABEL == "DEV KEY — NOT FOR REAL FUNDS"
    sig = await dev.sign_message(DEV_ADDRESS, b"demo", personal_message_digest(b"demo"))
    assert verify_message_signature(DEV_ADDRESS, b"demo", sig) == sig


async def test_local_signer_transactions_are_eth_accounts_bytes(tmp_path: Path) -> None:
    signer = LocalSigner.from_keystore(write_keystore(tmp_path / "k.json"), PASSPHRASE)
    account = Account.from_key(KEY)
    tx = {
        "from": account.address,
        "to": "0x1111111111111111111111111111111111111111",
        "value": "0x10",
        "data": "0xa9059cbb",
        "gas": "0x5208",
        "nonce": "0x7",
        "maxFeePerGas": "0x3b9aca00",
        "maxPriorityFeePerGas": "0x1",
        "chainId": "0x1",
    }
    signed = await signer.sign_transaction(tx, 1)
    reference = account.sign_transaction(signed.tx.to_eth_account())
    assert signed.raw == bytes(reference.raw_transaction)
    assert signed.hash == reference.hash.to_0x_hex()
    legacy = {k: v for k, v in tx.items() if not k.startswith("max")} | {
        "gasPrice": "0x5",
        "chainId": "0x89",
    }
    signed = await signer.sign_transaction(legacy, 137)
    assert signed.raw == bytes(account.sign_transaction(signed.tx.to_eth_account()).raw_transaction)
