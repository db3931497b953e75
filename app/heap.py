"""The garbage collector in a serving process: what it walks, and how often.

A serving process holds a large heap that never becomes garbage (modules, the
app, the index's Python objects) and makes thousands of short-lived objects
per search (hits, fused candidates, the answer). Python's defaults suit
neither: every full collection walks the long-lived heap, and writing to it
un-shares the pages the workers inherited from the master; and with a young
generation of 700 objects, collections run in the middle of searches and
promote objects that are still in use, so full collections come round sooner.
"""

from __future__ import annotations

import gc

#: Allocations (net of frees) between collections of the young generation;
#: Python's default is 700. A search's objects are freed by reference counting
#: when it answers, so most never meet a collection at this size.
YOUNG_GENERATION_THRESHOLD = 10_000


def settle_heap() -> None:
    """Hide everything alive now from the collector, and collect young objects less often.

    Call it once what a process keeps is loaded: in the master before the
    workers fork, and in a worker once it is warm. Objects alive now move to the
    permanent generation (``gc.freeze``): still freed by reference counting, but
    never walked, so a reference cycle among them would never be collected.
    """
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_GENERATION_THRESHOLD, middle, old)
