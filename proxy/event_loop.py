"""How the long-running commands run: uvloop, a short GIL switch interval, a frozen start-up heap.

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
import gc
import os
import sys
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["ENV_VAR", "GC_THRESHOLDS", "SWITCH_INTERVAL_S", "loop_name", "run", "settle_heap"]

T = TypeVar("T")

#: The GIL switch interval while a command runs (CPython's default is 0.005 s).
SWITCH_INTERVAL_S = 0.0005

#: Collector thresholds once the daemon is serving (CPython's default is 700, 10, 10).
GC_THRESHOLDS = (10_000, 20, 20)

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


def settle_heap() -> None:
    """Call once start-up is done: later garbage collections skip everything loaded so far.

    Start-up leaves a few hundred thousand long-lived objects (modules, eth-account and pydantic
    tables, config); a full collection walks them all, tens of milliseconds on the request path.
    They are collected once and frozen, and the young-generation threshold is raised so the
    request path pays for fewer, still small, collections.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
