"""The CLI selects the C keccak backend (unless the operator chose one) before anything hashes."""

from __future__ import annotations

import subprocess
import sys

import pytest

from proxy.hash_backend import ENV_VAR, prefer_pysha3


def test_pysha3_is_chosen_when_nothing_was(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert prefer_pysha3() == "pysha3"


def test_an_operator_choice_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VAR, "pycryptodome")
    assert prefer_pysha3() == "pycryptodome"


def test_the_cli_process_hashes_with_pysha3() -> None:
    code = (
        "import os; os.environ.pop('ETH_HASH_BACKEND', None)\n"
        "from proxy.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "from eth_utils import keccak\n"
        "assert keccak(b'').hex().startswith('c5d246')\n"
        "from eth_hash.auto import keccak as k\n"
        "print(type(k.hasher.__self__).__name__)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip().splitlines()[-1] == "PySha3Backend"
