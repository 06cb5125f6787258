"""Turn an allowed request into a signer call and a JSON-RPC result (I/O through the signer).

The payload handed to the signer is re-derived from the request params here and checked against the
``payload_hash`` the policy judged, so the proxy never signs bytes other than the ones it decided on.
That digest (EIP-191 / EIP-712) is computed once, here, and handed to the signer with the payload: a
local key signs it and the verifier checks the signature against it, so typed data is encoded once.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Protocol

from policy.actions import Action
from policy.request import SigningRequest
from proxy.errors import SignerInputError, SignerMismatchError
from proxy.signers.base import Signer
from proxy.signers.digests import personal_message_digest, typed_data_digest

__all__ = ["SIGNABLE_METHODS", "Broadcaster", "sign_request"]

_ADDRESS_RE = re.compile(r"^0x[0-9a-fA-F]{40}$")
_HEX_RE = re.compile(r"^0x([0-9a-fA-F]{2})*$")

#: Methods the proxy can execute once the policy allows them.
SIGNABLE_METHODS = frozenset(
    {
        "personal_sign",
        "eth_signTypedData_v4",
        "eth_signTypedData_v3",
        "eth_signTypedData",
        "eth_signTransaction",
        "eth_sendTransaction",
    }
)


class Broadcaster(Protocol):
    """Sends a signed raw transaction to the chain (``eth_sendRawTransaction``); returns the tx hash."""

    async def send_raw_transaction(self, raw_hex: str) -> str:
        """Broadcast and return the transaction hash."""
        ...


def _is_address(value: Any) -> bool:
    return isinstance(value, str) and bool(_ADDRESS_RE.match(value))


def _message_bytes(params: Any) -> tuple[bytes, str]:
    if not isinstance(params, list) or len(params) < 2:
        raise SignerInputError("personal_sign takes [message, address]")
    message, account = params[0], params[1]
    if _is_address(message) and not _is_address(account):
        message, account = account, message
    if not isinstance(message, str) or not _is_address(account):
        raise SignerInputError("personal_sign takes [message, address]")
    raw = (
        bytes.fromhex(message[2:])
        if _HEX_RE.match(message)
        else message.encode("utf-8", "surrogatepass")
    )
    return raw, account.lower()


def _typed_data(params: Any) -> tuple[dict[str, Any], str]:
    if not isinstance(params, list) or len(params) != 2:
        raise SignerInputError("typed data takes [address, data]")
    first, second = params
    account, data = (first, second) if _is_address(first) else (second, first)
    if not _is_address(account):
        raise SignerInputError("typed data takes [address, data]")
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except ValueError as exc:
            raise SignerInputError("typed data is not valid JSON") from exc
    if not isinstance(data, dict):
        raise SignerInputError("typed data must be an EIP-712 object")
    return data, account.lower()


def _check(judged: str, digest: bytes) -> bytes:
    if judged.lower() != "0x" + digest.hex():
        raise SignerMismatchError("the payload to sign differs from the payload the policy judged")
    return digest


async def sign_request(
    request: SigningRequest,
    action: Action,
    signer: Signer,
    *,
    transaction: Mapping[str, Any] | None = None,
    broadcaster: Broadcaster | None = None,
) -> Any:
    """Execute an allowed request: sign (and, for ``eth_sendTransaction``, broadcast); return the result.

    ``transaction`` is the (filled) transaction object the policy judged, for the transaction methods.
    Raises SignerInputError for params the signer cannot take, SignerMismatchError if the payload is not
    what was judged, and whatever the signer raises (SignerUnavailableError, SignerRejectedError, ...).
    """
    method = request.method
    if method == "personal_sign":
        raw, account = _message_bytes(request.params)
        digest = _check(action.payload_hash, personal_message_digest(raw))
        return await signer.sign_message(account, raw, digest)
    if method in ("eth_signTypedData_v4", "eth_signTypedData_v3", "eth_signTypedData"):
        data, account = _typed_data(request.params)
        digest = _check(action.payload_hash, typed_data_digest(data))
        return await signer.sign_typed_data(account, data, digest)
    if method in ("eth_signTransaction", "eth_sendTransaction"):
        if transaction is None:
            raise SignerInputError(f"{method} needs the transaction object")
        signed = await signer.sign_transaction(transaction, request.chain_id)
        if method == "eth_signTransaction":
            return signed.raw_hex
        if broadcaster is None:
            raise SignerInputError("eth_sendTransaction needs a chain endpoint")
        return await broadcaster.send_raw_transaction(signed.raw_hex)
    raise SignerInputError(f"{method} cannot be executed by the proxy")
