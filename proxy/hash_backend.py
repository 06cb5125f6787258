"""Choose eth-hash's keccak backend for this process: pysha3 (C) rather than pycryptodome.

pycryptodome's keccak makes several ctypes calls per hash, and each one releases and retakes the
GIL: with the stores' worker threads busy, a 32-byte hash then costs tens of microseconds instead of
about two. eth-hash (used by eth-account, eth-utils and our own digests) reads ``ETH_HASH_BACKEND``
the first time it hashes; :func:`prefer_pysha3` sets it, unless the operator already did, before
anything hashes.
"""

from __future__ import annotations

import importlib.util
import os

__all__ = ["ENV_VAR", "prefer_pysha3"]

#: eth-hash's own switch.
ENV_VAR = "ETH_HASH_BACKEND"


def prefer_pysha3() -> str | None:
    """Select ``pysha3`` when it is installed and nothing was chosen; return the backend in force."""
    if ENV_VAR not in os.environ and importlib.util.find_spec("sha3") is not None:
        os.environ[ENV_VAR] = "pysha3"
    return os.environ.get(ENV_VAR)
