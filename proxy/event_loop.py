"""Which asyncio event loop the long-running commands use (uvloop by default).

uvloop (libuv) roughly halves the per-event cost of the default selector loop, which is most of
what a relay frame costs once it is read. ``WCPROXY_EVENT_LOOP=asyncio`` selects the standard
loop instead (debugging, or a platform without uvloop).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["ENV_VAR", "loop_name", "run"]

T = TypeVar("T")

#: Environment variable naming the loop: ``uvloop`` (default) or ``asyncio``.
ENV_VAR = "WCPROXY_EVENT_LOOP"


def loop_name() -> str:
    """``uvloop`` unless the environment asks for ``asyncio`` or uvloop is not installed."""
    if os.environ.get(ENV_VAR, "uvloop").strip().lower() == "asyncio":
        return "asyncio"
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return "asyncio"
    return "uvloop"


def run(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(main)`` on the selected loop."""
    if loop_name() == "uvloop":
        import uvloop

        return uvloop.run(main)
    return asyncio.run(main)
