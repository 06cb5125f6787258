"""Long-running commands run on uvloop (unless opted out) with a short GIL switch interval."""

from __future__ import annotations

import asyncio
import sys

import pytest

from proxy import event_loop


async def _probe() -> tuple[str, float]:
    return type(asyncio.get_running_loop()).__module__, sys.getswitchinterval()


def test_uvloop_and_the_short_switch_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(event_loop.ENV_VAR, raising=False)
    before = sys.getswitchinterval()
    try:
        module, interval = event_loop.run(_probe())
    finally:
        sys.setswitchinterval(before)
    assert module.startswith("uvloop")
    assert interval == pytest.approx(event_loop.SWITCH_INTERVAL_S)


def test_the_standard_loop_on_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(event_loop.ENV_VAR, "asyncio")
    before = sys.getswitchinterval()
    try:
        module, _ = event_loop.run(_probe())
    finally:
        sys.setswitchinterval(before)
    assert event_loop.loop_name() == "asyncio"
    assert module.startswith("asyncio")


def test_settle_heap_freezes_start_up_objects() -> None:
    import gc

    thresholds = gc.get_threshold()
    try:
        event_loop.settle_heap()
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == event_loop.GC_THRESHOLDS
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
