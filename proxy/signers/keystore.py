"""Local signers: a Web3 Secret Storage (v3) keystore, and the labelled dev key (file I/O at unlock).

:meth:`LocalSigner.from_keystore` reads and decrypts the keystore once, at start, with eth-account
(scrypt/pbkdf2 is slow by design: call it before serving, or in a thread). The decrypted key then lives
only inside a :class:`~proxy.signers.secp.SigningKey` (coincurve); it is never logged, never in a repr,
never in an exception message. Signing is libsecp256k1 over a digest: messages and typed data arrive with
their digest already computed by the caller, transactions are encoded by :mod:`proxy.signers.ethtx`.

:class:`DevSigner` is a LocalSigner over a *publicly known* key (Hardhat/Anvil test account #0, derived
from the well-known "test test ... junk" mnemonic): anyone can sign with it, so it exists only for the demo
and tests and announces itself as ``DEV KEY — NOT FOR REAL FUNDS``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import structlog
from eth_account import Account

from proxy.errors import SignerInputError, SignerRejectedError, SignerUnavailableError
from proxy.signers.base import SignedTransaction, normalize_transaction
from proxy.signers.digests import DIGEST_BYTES, keccak256
from proxy.signers.ethtx import encode_signed, signing_hash
from proxy.signers.secp import SigningKey

__all__ = ["DEV_ADDRESS", "DEV_LABEL", "MAX_KEYSTORE_BYTES", "DevSigner", "LocalSigner"]

log = structlog.get_logger(__name__)

#: A keystore file larger than this is refused.
MAX_KEYSTORE_BYTES = 64 * 1024
#: How the dev key is announced everywhere it appears.
DEV_LABEL = "DEV KEY — NOT FOR REAL FUNDS"
# Hardhat / Anvil account #0 (mnemonic "test test test test test test test test test test test junk").
# Public on purpose: bots sweep any mainnet funds sent to it within seconds.
_DEV_PRIVATE_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
#: The dev key's address (lowercase).
DEV_ADDRESS = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"


class LocalSigner:
    """Signs in-process with one private key (a coincurve :class:`~proxy.signers.secp.SigningKey`)."""

    __slots__ = ("_address", "_key", "_name")

    def __init__(self, key: SigningKey, *, name: str = "local") -> None:
        self._key = key
        self._address = key.address
        self._name = name

    @classmethod
    def from_keystore(cls, path: Path, passphrase: str) -> LocalSigner:
        """Unlock a v3 keystore file (blocking: file read + KDF).

        Raises:
            SignerUnavailableError: the file is missing, too large, not a keystore, or the passphrase is wrong.
        """
        try:
            with path.open("rb") as handle:
                blob = handle.read(MAX_KEYSTORE_BYTES + 1)
        except OSError as exc:
            raise SignerUnavailableError(f"cannot read keystore {path}: {exc.strerror}") from None
        if len(blob) > MAX_KEYSTORE_BYTES:
            raise SignerUnavailableError(f"keystore {path} is too large")
        try:
            keyfile = json.loads(blob)
        except (ValueError, UnicodeDecodeError):
            raise SignerUnavailableError(f"keystore {path} is not JSON") from None
        if not isinstance(keyfile, dict) or "crypto" not in {k.lower() for k in keyfile}:
            raise SignerUnavailableError(f"keystore {path} is not a v3 keystore")
        try:
            key = Account.decrypt(keyfile, passphrase)
        except ValueError:
            # eth-keyfile says "MAC mismatch" for a wrong passphrase; never echo anything else
            raise SignerUnavailableError(
                f"keystore {path} could not be unlocked (wrong passphrase or corrupt file)"
            ) from None
        except (KeyError, TypeError, NotImplementedError):
            raise SignerUnavailableError(f"keystore {path} is malformed") from None
        try:
            signing_key = SigningKey(bytes(key))
        except ValueError:
            raise SignerUnavailableError(f"keystore {path} holds no valid secp256k1 key") from None
        finally:
            del key
        return cls(signing_key)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(address={self._address})"

    @property
    def name(self) -> str:
        """``local`` (or ``dev``)."""
        return self._name

    @property
    def address(self) -> str:
        """The one account, lowercase."""
        return self._address

    def accounts(self) -> tuple[str, ...]:
        """The one account this key controls."""
        return (self._address,)

    def _check(self, account: str) -> None:
        if account.lower() != self._address:
            raise SignerRejectedError("this signer does not hold the requested account")

    async def sign_transaction(self, tx: Mapping[str, Any], chain_id: int) -> SignedTransaction:
        """Sign a JSON-RPC transaction object (types 0/1/2)."""
        sender, fields = normalize_transaction(tx, chain_id)
        self._check(sender)
        raw = encode_signed(fields, self._key.sign_digest(signing_hash(fields)))
        return SignedTransaction(
            raw=raw, hash="0x" + keccak256(raw).hex(), sender=sender, tx=fields
        )

    def _sign(self, account: str, digest: bytes) -> str:
        self._check(account)
        if len(digest) != DIGEST_BYTES:
            raise SignerInputError("the digest to sign must be 32 bytes")
        return "0x" + self._key.sign_digest(digest).hex()

    async def sign_message(self, account: str, message: bytes, digest: bytes) -> str:
        """EIP-191 personal_sign: signs ``digest`` (the caller derived it from ``message``)."""
        return self._sign(account, digest)

    async def sign_typed_data(
        self, account: str, typed_data: Mapping[str, Any], digest: bytes
    ) -> str:
        """EIP-712: signs ``digest`` (the caller derived it from ``typed_data``)."""
        return self._sign(account, digest)

    async def close(self) -> None:
        """Nothing to release."""


class DevSigner(LocalSigner):
    """The publicly known throwaway dev key: demo and tests only (see module docstring)."""

    __slots__ = ()

    def __init__(self) -> None:
        super().__init__(SigningKey(bytes.fromhex(_DEV_PRIVATE_KEY[2:])), name="dev")
        log.warning("dev_signer", address=self.address, label=DEV_LABEL)

    def __repr__(self) -> str:
        return f"DevSigner(address={self.address}, {DEV_LABEL})"
