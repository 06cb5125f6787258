"""WalletConnect v2 protocol: sans-I/O core (crypto, envelopes, URIs, relay and Sign engines) and thin asyncio drivers in ``walletconnect.aio``.

The pure protocol core is re-exported here; engines and drivers live in their subpackages.
"""

from walletconnect.crypto import KeyPair, derive_sym_key, generate_keypair, hash_key, hash_message
from walletconnect.envelope import Envelope, EnvelopeType, open_envelope, parse_envelope, seal
from walletconnect.errors import (
    CryptoError,
    DecryptionError,
    EnvelopeError,
    JsonRpcParseError,
    NamespaceError,
    ProtocolError,
    RelayAuthError,
    SdkErrorInfo,
    UriError,
    WalletConnectError,
    sdk_error,
)
from walletconnect.methods import Method, RelayMethod
from walletconnect.relay_auth import ClientIdentity
from walletconnect.uri import PairingUri, format_uri, parse_uri

__all__ = [
    "ClientIdentity",
    "CryptoError",
    "DecryptionError",
    "Envelope",
    "EnvelopeError",
    "EnvelopeType",
    "JsonRpcParseError",
    "KeyPair",
    "Method",
    "NamespaceError",
    "PairingUri",
    "ProtocolError",
    "RelayAuthError",
    "RelayMethod",
    "SdkErrorInfo",
    "UriError",
    "WalletConnectError",
    "derive_sym_key",
    "format_uri",
    "generate_keypair",
    "hash_key",
    "hash_message",
    "open_envelope",
    "parse_envelope",
    "parse_uri",
    "sdk_error",
    "seal",
]
