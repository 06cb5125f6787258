"""WalletConnect v2 protocol: sans-I/O core (crypto, envelopes, URIs, relay and Sign engines) and thin asyncio drivers in ``walletconnect.aio``."""
