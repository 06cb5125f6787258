"""The request-path benchmark's own helpers (the benchmark itself runs with ``make bench``)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from proxy.bench.request_path import _collector_paused


@pytest.fixture
def collector_restored() -> Iterator[None]:
    enabled = gc.isenabled()
    yield
    if enabled:
        gc.enable()
    else:
        gc.disable()


@pytest.mark.usefixtures("collector_restored")
def test_the_load_side_runs_without_cyclic_collection_and_gets_it_back_after() -> None:
    gc.enable()
    with _collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


@pytest.mark.usefixtures("collector_restored")
def test_a_collector_that_was_off_stays_off() -> None:
    gc.disable()
    with _collector_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()


@pytest.mark.usefixtures("collector_restored")
def test_the_collector_comes_back_when_the_phase_fails() -> None:
    gc.enable()
    with pytest.raises(RuntimeError), _collector_paused():
        raise RuntimeError("phase failed")
    assert gc.isenabled()
