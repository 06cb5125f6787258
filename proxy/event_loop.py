"""How the long-running commands run their event loop: uvloop, and a short GIL switch interval.

uvloop (libuv) roughly halves the per-event cost of the default selector loop, which is most of
what a relay frame costs once it is read. ``WCPROXY_EVENT_LOOP=asyncio`` selects the standard
loop instead (debugging, or a platform without uvloop).

The stores run SQLite on worker threads. When the loop thread drops the GIL (a socket write, a
hash, a signature in C), a worker running Python may keep it for CPython's default switch interval
of 5 ms before the loop thread gets it back, and every request in flight waits that long. At
0.5 ms the loop thread is back within half a millisecond; measured on the request path this cut the
added latency at half load several times over at no cost in throughput.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["ENV_VAR", "SWITCH_INTERVAL_S", "loop_name", "run"]

T = TypeVar("T")

#: The GIL switch interval while a command runs (CPython's default is 0.005 s).
SWITCH_INTERVAL_S = 0.0005

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
    """``asyncio.run(main)`` on the selected loop, with the short switch interval."""
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    if loop_name() == "uvloop":
        import uvloop

        return uvloop.run(main)
    return asyncio.run(main)
