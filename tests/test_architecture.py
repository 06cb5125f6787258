"""Import contracts: walletconnect and policy never import proxy nor each other; pure cores do no I/O."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Modules a pure core must never import (I/O, clocks, randomness drawn implicitly, databases).
IMPURE = {
    "asyncio",
    "socket",
    "sqlite3",
    "redis",
    "aiohttp",
    "websockets",
    "time",
    "random",
    "subprocess",
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [("walletconnect", {"proxy", "policy"}), ("policy", {"proxy", "walletconnect"})],
)
def test_library_packages_never_import_proxy_nor_each_other(
    package: str, forbidden: set[str]
) -> None:
    offenders = [
        (str(path.relative_to(ROOT)), name)
        for path in _modules(package)
        for name in _imports(path)
        if name.split(".")[0] in forbidden
    ]
    assert offenders == []


def _pure_modules() -> list[Path]:
    core = [p for p in _modules("walletconnect") if "aio" not in p.relative_to(ROOT).parts]
    return core + _modules("policy")


@pytest.mark.parametrize("path", _pure_modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_pure_cores_do_no_io(path: Path) -> None:
    impure = {name for name in _imports(path) if name.split(".")[0] in IMPURE}
    assert impure == set(), f"{path.relative_to(ROOT)} imports {impure}"


def test_every_module_imports_alone_without_warnings() -> None:
    modules = []
    for package in ("walletconnect", "policy", "proxy"):
        for path in _modules(package):
            rel = path.relative_to(ROOT).with_suffix("")
            parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
            if parts[-1] == "__main__":
                continue
            modules.append(".".join(parts))
    code = "import importlib, sys\nfor m in sys.argv[1:]:\n    importlib.import_module(m)\n"
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", code, *modules],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
