"""A ready stage's heap is collected and frozen once per process (interchange.heap)."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from interchange import heap


@pytest.fixture
def fresh_process_state(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(heap, "_settled", False)
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()  # the rest of the test session keeps its ordinary collector
    gc.set_threshold(*thresholds)


def test_the_first_call_freezes_what_exists(fresh_process_state: None) -> None:
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    assert heap.settle_startup_heap() is True
    assert gc.get_freeze_count() > 0


def test_later_calls_do_nothing(fresh_process_state: None) -> None:
    gc.unfreeze()
    heap.settle_startup_heap()
    frozen = gc.get_freeze_count()
    kept: list[list[int]] = [[] for _ in range(1000)]  # new tracked objects after the freeze
    assert heap.settle_startup_heap() is False
    assert gc.get_freeze_count() == frozen
    assert kept


def test_garbage_cycles_made_before_the_freeze_are_collected_not_frozen(
    fresh_process_state: None,
) -> None:
    gc.unfreeze()

    class Node:
        other: Node | None = None

    a, b = Node(), Node()
    a.other, b.other = b, a
    gone = weakref.ref(a)
    del a, b  # garbage only a collection can reclaim
    heap.settle_startup_heap()
    assert gone() is None


def test_the_collector_runs_less_often_but_still_reclaims_cycles(
    fresh_process_state: None,
) -> None:
    gc.unfreeze()
    heap.settle_startup_heap()
    assert gc.isenabled()
    assert gc.get_threshold() == heap.STAGE_GC_THRESHOLDS
    assert heap.STAGE_GC_THRESHOLDS[0] > 700  # CPython's default young threshold

    class Node:
        other: Node | None = None

    a, b = Node(), Node()
    a.other, b.other = b, a
    gone = weakref.ref(a)
    del a, b
    young = heap.STAGE_GC_THRESHOLDS[0]
    # not enough allocations for a young collection yet
    kept: list[list[int]] = [[] for _ in range(young // 2)]
    assert gone() is not None
    kept += [[] for _ in range(2 * young)]  # now the collector has run by itself
    assert gone() is None
    assert kept
