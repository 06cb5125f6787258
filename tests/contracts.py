"""The contract suites every store backend's tests run, loaded once each by file path.

``tests/policy/replay_contract.py`` (ReplayStore) and ``tests/walletconnect/storage_contract.py``
(WalletConnectStore) live next to the interfaces they pin down; backends' tests import them from here.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

__all__ = ["replay_contract", "storage_contract"]

_TESTS = Path(__file__).resolve().parent


def _load(name: str, path: Path) -> ModuleType:
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def replay_contract() -> ModuleType:
    """The ReplayStore contract module (``ReplayStoreContract``, ``NOW``, builders)."""
    return _load("replay_contract", _TESTS / "policy" / "replay_contract.py")


def storage_contract() -> ModuleType:
    """The WalletConnectStore contract module (``StoreContract``)."""
    return _load("wc_storage_contract", _TESTS / "walletconnect" / "storage_contract.py")
