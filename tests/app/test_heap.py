"""app.heap: what a serving process hides from the garbage collector."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from app.heap import YOUNG_GENERATION_THRESHOLD, settle_heap


@pytest.fixture
def restored_collector() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


def test_what_is_alive_is_frozen_and_young_objects_are_collected_less_often(restored_collector: None) -> None:
    kept = [[i] for i in range(1000)]
    settle_heap()
    assert gc.get_freeze_count() >= len(kept)
    assert gc.get_threshold()[0] == YOUNG_GENERATION_THRESHOLD > 700


class Node:
    """An object that can sit in a reference cycle and be watched with a weak reference."""

    def __init__(self) -> None:
        self.me = self


def test_cycles_made_after_settling_are_still_collected(restored_collector: None) -> None:
    settle_heap()
    node = Node()
    watch = weakref.ref(node)
    del node  # only the cycle holds it now: reference counting cannot free it
    gc.collect()
    assert watch() is None
