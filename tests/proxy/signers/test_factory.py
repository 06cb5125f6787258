from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from structlog.testing import capture_logs

from proxy.config import parse_settings
from proxy.errors import ConfigError, SignerUnavailableError
from proxy.signers.base import VerifyingSigner, verify_message_signature
from proxy.signers.digests import personal_message_digest
from proxy.signers.factory import build_signer, read_passphrase
from proxy.signers.keystore import DEV_ADDRESS, DevSigner, LocalSigner
from proxy.signers.remote import RemoteSigner

KEY = "0x" + "6b" * 32
ADDRESS = str(Account.from_key(KEY).address).lower()


def settings(tmp_path: Path, signer: dict[str, Any], environ: dict[str, str] | None = None) -> Any:
    return parse_settings({"signer": signer}, base_dir=tmp_path, environ=environ or {})


async def test_dev_backend(tmp_path: Path) -> None:
    signer = build_signer(settings(tmp_path, {"backend": "dev"}))
    assert isinstance(signer, VerifyingSigner)
    assert isinstance(signer.inner, DevSigner)
    assert signer.accounts() == (DEV_ADDRESS,)
    with pytest.raises(ConfigError, match=r"signer\.accounts"):
        build_signer(settings(tmp_path, {"backend": "dev", "accounts": ["0x" + "12" * 20]}))


@pytest.mark.parametrize("source", ["file", "env"])
async def test_local_backend_with_passphrase_from_file_or_env(tmp_path: Path, source: str) -> None:
    (tmp_path / "key.json").write_text(
        json.dumps(Account.encrypt(KEY, "pw", kdf="pbkdf2", iterations=2))
    )
    conf: dict[str, Any] = {"backend": "local", "keystore": "key.json", "accounts": [ADDRESS]}
    if source == "file":
        (tmp_path / "pass.txt").write_text("pw\n")
        conf["passphrase_file"] = "pass.txt"
        env = {}
    else:
        conf["passphrase_env"] = "MY_PASS"
        env = {"MY_PASS": "pw"}
    with capture_logs() as logs:
        signer = build_signer(settings(tmp_path, conf, env))
    assert isinstance(signer, VerifyingSigner)
    assert isinstance(signer.inner, LocalSigner)
    sig = await signer.sign_message(ADDRESS, b"m", personal_message_digest(b"m"))
    assert verify_message_signature(ADDRESS, b"m", sig) == sig
    assert "pw" not in repr(logs)
    assert KEY[2:] not in repr(logs)


def test_local_backend_wrong_passphrase(tmp_path: Path) -> None:
    (tmp_path / "key.json").write_text(
        json.dumps(Account.encrypt(KEY, "pw", kdf="pbkdf2", iterations=2))
    )
    conf = {"backend": "local", "keystore": "key.json", "passphrase_env": "P"}
    with pytest.raises(SignerUnavailableError, match="could not be unlocked"):
        build_signer(settings(tmp_path, conf, {"P": "nope"}))


async def test_remote_backend(tmp_path: Path) -> None:
    conf = {
        "backend": "remote",
        "flavor": "clef",
        "url": "http://127.0.0.1:8550",
        "accounts": [ADDRESS],
    }
    signer = build_signer(settings(tmp_path, conf, {"WCPROXY_SIGNER_TOKEN": "t0k"}))
    assert isinstance(signer, VerifyingSigner)
    assert isinstance(signer.inner, RemoteSigner)
    assert signer.name == "remote:clef"
    assert signer.accounts() == (ADDRESS,)
    await signer.close()


def test_read_passphrase_limits(tmp_path: Path) -> None:
    (tmp_path / "big").write_bytes(b"x" * 5000)
    with pytest.raises(SignerUnavailableError, match="too large"):
        read_passphrase(tmp_path / "big")
    with pytest.raises(SignerUnavailableError, match="cannot read"):
        read_passphrase(tmp_path / "missing")
