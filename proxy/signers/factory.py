"""build_signer: the Settings' ``[signer]`` section -> a verified Signer (reads keystore/passphrase files).

Blocking (keystore KDF, file reads): call it at start-up, before serving, or in a thread. Every backend
comes back wrapped in :class:`~proxy.signers.base.VerifyingSigner`, so no unverified result can reach a
dApp. Passphrases are read, used and dropped; they are never logged.
"""

from __future__ import annotations

from pathlib import Path

import structlog

from proxy.config import (
    DevSignerSettings,
    LocalSignerSettings,
    RemoteSignerSettings,
    Settings,
)
from proxy.errors import ConfigError, ConfigIssue, SignerUnavailableError
from proxy.signers.base import Signer, VerifyingSigner
from proxy.signers.keystore import DEV_ADDRESS, DEV_LABEL, DevSigner, LocalSigner
from proxy.signers.remote import RemoteSigner, build_ssl_context

__all__ = ["MAX_PASSPHRASE_BYTES", "build_signer", "read_passphrase"]

log = structlog.get_logger(__name__)

#: A passphrase file larger than this is refused.
MAX_PASSPHRASE_BYTES = 4096


def read_passphrase(path: Path) -> str:
    """Read a passphrase file (one trailing newline stripped).

    Raises:
        SignerUnavailableError: the file cannot be read or is too large.
    """
    try:
        with path.open("rb") as handle:
            blob = handle.read(MAX_PASSPHRASE_BYTES + 1)
    except OSError as exc:
        raise SignerUnavailableError(
            f"cannot read passphrase file {path}: {exc.strerror}"
        ) from None
    if len(blob) > MAX_PASSPHRASE_BYTES:
        raise SignerUnavailableError(f"passphrase file {path} is too large")
    try:
        text = blob.decode("utf-8")
    except UnicodeDecodeError:
        raise SignerUnavailableError(f"passphrase file {path} is not UTF-8") from None
    return text.removesuffix("\n").removesuffix("\r")


def _source(settings: Settings) -> str:
    return str(settings.config_file) if settings.config_file else "<config>"


def build_signer(settings: Settings) -> Signer:
    """Build the configured signer, wrapped in a VerifyingSigner.

    Raises:
        SignerUnavailableError: the keystore or passphrase cannot be read or unlocked, or TLS files fail.
        ConfigError: ``signer.accounts`` disagrees with the key (dev/local).
    """
    conf = settings.signer
    inner: Signer
    if isinstance(conf, DevSignerSettings):
        dev = DevSigner()
        _check_accounts(settings, conf.accounts, dev.address)
        log.warning("signer_ready", backend="dev", accounts=[dev.address], label=DEV_LABEL)
        inner = dev
    elif isinstance(conf, LocalSignerSettings):
        if conf.passphrase is not None:
            passphrase = conf.passphrase.get_secret_value()
        else:
            assert conf.passphrase_file is not None  # guaranteed by LocalSignerSettings
            passphrase = read_passphrase(conf.passphrase_file)
        local = LocalSigner.from_keystore(conf.keystore, passphrase)
        del passphrase
        _check_accounts(settings, conf.accounts, local.address)
        log.info("signer_ready", backend="local", accounts=[local.address])
        inner = local
    else:
        assert isinstance(conf, RemoteSignerSettings)
        context = None
        if conf.url.startswith("https://"):
            context = build_ssl_context(
                ca_file=conf.tls.ca_file,
                cert_file=conf.tls.cert_file,
                key_file=conf.tls.key_file,
                verify=conf.tls.verify,
            )
        inner = RemoteSigner(
            conf.url,
            flavor=conf.flavor,
            accounts=conf.accounts,
            timeout_s=conf.timeout_s,
            retries=conf.retries,
            ssl_context=context,
            auth_token=conf.auth_token.get_secret_value() if conf.auth_token else None,
        )
        log.info("signer_ready", backend=inner.name, url=conf.url, accounts=list(conf.accounts))
    return VerifyingSigner(inner)


def _check_accounts(settings: Settings, configured: tuple[str, ...], actual: str) -> None:
    if configured and configured != (actual,):
        hint = f" (the dev key is {DEV_ADDRESS})" if actual == DEV_ADDRESS else ""
        raise ConfigError(
            [
                ConfigIssue(
                    _source(settings),
                    "signer.accounts",
                    f"does not match the key's address {actual}{hint}",
                )
            ]
        )
