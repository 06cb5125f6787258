"""A remote JSON-RPC signer over HTTP(S) via aiohttp: Clef (``account_*``) or web3signer (``eth_*``) (network I/O).

Methods per flavor:

=================  ===================================  ==================================
operation          clef                                 web3signer
=================  ===================================  ==================================
transaction        account_signTransaction(tx) -> raw   eth_signTransaction(tx) -> raw
personal_sign      account_signData("text/plain", a, d) eth_sign(a, d)
EIP-712            account_signTypedData(a, typed)      eth_signTypedData(a, typed)
=================  ===================================  ==================================

Retries. A call is retried (``retries`` times, short backoff) **only** when the connection could not be
established (``aiohttp.ClientConnectorError``): the request never reached the signer. Anything after the
request may have been delivered (a dropped connection, a timeout) is *not* retried and becomes
:class:`~proxy.errors.SignerUnavailableError`, because the signer may have acted on it. Even a retry
that did reach the signer twice cannot double-authorise anything: the daemon takes the request's replay
claim before asking the signer, so one approved request is signed at most once by the pipeline, and the
same payload signed twice yields the same bytes (RFC 6979 deterministic ECDSA in both Clef and
web3signer), not a second authorisation.

Timeouts: ``timeout_s`` bounds one whole call. Clef asks its operator by default, so give it minutes.
TLS: a CA bundle, a client certificate, or ``verify = false`` (testing only) from ``TlsSettings``.
Results are not trusted here: the factory wraps this signer in ``VerifyingSigner``.
"""

from __future__ import annotations

import asyncio
import itertools
import ssl
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import aiohttp
import structlog
from eth_utils.address import to_checksum_address

from proxy.errors import (
    SignerMismatchError,
    SignerRejectedError,
    SignerUnavailableError,
)
from proxy.signers.base import SignedTransaction, normalize_transaction
from proxy.signers.digests import keccak256
from walletconnect import jsonsafe

__all__ = ["MAX_RESPONSE_BYTES", "RemoteSigner", "build_ssl_context"]

log = structlog.get_logger(__name__)

#: A signer response larger than this is refused.
MAX_RESPONSE_BYTES = 1 << 20

Flavor = Literal["clef", "web3signer"]


def build_ssl_context(
    *,
    ca_file: Path | None = None,
    cert_file: Path | None = None,
    key_file: Path | None = None,
    verify: bool = True,
) -> ssl.SSLContext:
    """An SSL context for the signer: trust ``ca_file`` (else the system store), present a client cert.

    Raises:
        SignerUnavailableError: a file cannot be loaded.
    """
    try:
        context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
        if cert_file is not None:
            context.load_cert_chain(str(cert_file), str(key_file) if key_file else None)
    except (OSError, ssl.SSLError) as exc:
        raise SignerUnavailableError(f"cannot load signer TLS files: {exc}") from None
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class RemoteSigner:
    """A Clef or web3signer endpoint; holds one aiohttp session (created on first use, closed by close())."""

    def __init__(
        self,
        url: str,
        *,
        flavor: Flavor,
        accounts: tuple[str, ...],
        timeout_s: float = 30.0,
        retries: int = 2,
        ssl_context: ssl.SSLContext | None = None,
        auth_token: str | None = None,
        retry_backoff_s: float = 0.1,
    ) -> None:
        self._url = url
        self._flavor: Flavor = flavor
        self._accounts = tuple(a.lower() for a in accounts)
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._retries = retries
        self._ssl = ssl_context
        self._auth_token = auth_token
        self._backoff_s = retry_backoff_s
        self._session: aiohttp.ClientSession | None = None
        self._ids = itertools.count(1)

    def __repr__(self) -> str:
        return f"RemoteSigner(url={self._url!r}, flavor={self._flavor!r})"

    @property
    def name(self) -> str:
        """``remote:clef`` or ``remote:web3signer``."""
        return f"remote:{self._flavor}"

    def accounts(self) -> tuple[str, ...]:
        """The configured accounts (the only ones this proxy asks the signer for)."""
        return self._accounts

    def _check(self, account: str) -> str:
        if account.lower() not in self._accounts:
            raise SignerRejectedError("the requested account is not configured for this signer")
        return to_checksum_address(account)

    async def _call(self, method: str, params: list[Any]) -> Any:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        headers = {"Content-Type": "application/json"}
        if self._auth_token:
            headers["Authorization"] = f"Bearer {self._auth_token}"
        request_id = next(self._ids)
        payload = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}
        attempt = 0
        while True:
            try:
                async with self._session.post(
                    self._url, json=payload, headers=headers, ssl=self._ssl or True
                ) as response:
                    body = await response.content.read(MAX_RESPONSE_BYTES + 1)
                    status = response.status
                break
            except aiohttp.ClientConnectorError as exc:
                # never connected: the signer did not see the request, so a retry is safe
                if attempt >= self._retries:
                    raise SignerUnavailableError(
                        f"signer unreachable after {attempt + 1} attempts: {exc.os_error}"
                    ) from None
                attempt += 1
                log.info("signer_retry", method=method, attempt=attempt)
                await asyncio.sleep(self._backoff_s * 2 ** (attempt - 1))
            except TimeoutError:
                raise SignerUnavailableError(f"signer did not answer {method} in time") from None
            except aiohttp.ClientError as exc:
                raise SignerUnavailableError(
                    f"signer connection failed during {method} ({type(exc).__name__})"
                ) from None
        return self._result(method, status, body, request_id)

    @staticmethod
    def _result(method: str, status: int, body: bytes, request_id: int) -> Any:
        if len(body) > MAX_RESPONSE_BYTES:
            raise SignerMismatchError(f"signer response to {method} is too large")
        try:
            message = jsonsafe.loads(body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            message = None
        if isinstance(message, dict) and isinstance(message.get("error"), dict):
            error = message["error"]
            code = error.get("code") if isinstance(error.get("code"), int) else None
            text = str(error.get("message", "refused"))[:200]
            raise SignerRejectedError(f"signer refused {method}: {text}", code)
        if status >= 400:
            raise SignerRejectedError(f"signer answered {method} with HTTP {status}")
        if not isinstance(message, dict) or "result" not in message:
            raise SignerMismatchError(f"signer response to {method} is not a JSON-RPC result")
        if message.get("id") != request_id:
            raise SignerMismatchError(f"signer response to {method} has the wrong id")
        return message["result"]

    async def sign_transaction(self, tx: Mapping[str, Any], chain_id: int) -> SignedTransaction:
        """Ask the signer to sign the transaction; the raw bytes are returned undecoded-but-parsed."""
        sender, fields = normalize_transaction(tx, chain_id)
        self._check(sender)
        request = fields.to_json_rpc(sender)
        if self._flavor == "clef":
            result = await self._call("account_signTransaction", [request])
            raw_hex = result.get("raw") if isinstance(result, dict) else None
        else:
            result = await self._call("eth_signTransaction", [request])
            raw_hex = result if isinstance(result, str) else None
        if not isinstance(raw_hex, str) or not raw_hex.startswith("0x") or len(raw_hex) % 2:
            raise SignerMismatchError("signer returned no raw transaction")
        try:
            raw = bytes.fromhex(raw_hex[2:])
        except ValueError:
            raise SignerMismatchError("signer returned a raw transaction that is not hex") from None
        return SignedTransaction(
            raw=raw, hash="0x" + keccak256(raw).hex(), sender=sender, tx=fields
        )

    async def sign_message(self, account: str, message: bytes, digest: bytes) -> str:
        """EIP-191 personal_sign through the signer: it is sent ``message`` (``digest`` is for the verifier)."""
        address = self._check(account)
        data = "0x" + message.hex()
        if self._flavor == "clef":
            result = await self._call("account_signData", ["text/plain", address, data])
        else:
            result = await self._call("eth_sign", [address, data])
        return _signature(result)

    async def sign_typed_data(
        self, account: str, typed_data: Mapping[str, Any], digest: bytes
    ) -> str:
        """EIP-712 through the signer: it is sent the full ``typed_data`` (``digest`` is for the verifier)."""
        address = self._check(account)
        method = "account_signTypedData" if self._flavor == "clef" else "eth_signTypedData"
        return _signature(await self._call(method, [address, dict(typed_data)]))

    async def close(self) -> None:
        """Close the HTTP session; idempotent."""
        if self._session is not None:
            await self._session.close()
            self._session = None


def _signature(result: Any) -> str:
    if not isinstance(result, str):
        raise SignerMismatchError("signer returned no signature")
    return result
