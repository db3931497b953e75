"""Vector selection helpers: over-fetch for filtered search, graph files."""

from __future__ import annotations

import math
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from app.settings import available_cores


def over_fetch(k: int, share: float) -> int:
    """How many unfiltered hits to ask for so that ``k`` of them pass a filter
    admitting ``share`` of the ranked chunks.

    When the filter does not follow the ranking, the survivors of ``n`` hits are
    binomial (mean ``n·share``); ``n`` is the least that puts ``k`` three standard
    deviations below that mean (short about once in 700 queries), plus 10. Both
    legs fall back to an exact plan when too few pass, so a filter that does
    follow the ranking costs time, never hits. (It asks for fewer than the
    former ``1.5·k / share``, and the graph walk's cost grows with what it asks.)
    """
    if share >= 1.0:
        return k + 10
    spread = 3.0 * math.sqrt(share * (1.0 - share))
    root = (spread + math.sqrt(spread * spread + 4.0 * share * k)) / (2.0 * share)
    return math.ceil(root * root) + 10


def link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:  # a file system without hard links
        shutil.copyfile(source, target)


def build_graph(matrix: np.ndarray, rows: np.ndarray, *, m: int, ef_construction: int) -> Any:
    """An HNSW graph (cosine) over ``matrix``, labelled by ``rows``, built on every core."""
    import hnswlib

    graph = hnswlib.Index(space="cosine", dim=matrix.shape[1])
    graph.init_index(max_elements=len(rows), ef_construction=ef_construction, M=m)
    graph.set_num_threads(available_cores())
    graph.add_items(matrix, rows)
    return graph


def load_graph(path: Path, dimension: int, count: int, ef_search: int) -> Any:
    """A saved graph of ``count`` vectors, ready for one query thread."""
    import hnswlib

    graph = hnswlib.Index(space="cosine", dim=dimension)
    graph.load_index(str(path), max_elements=count)
    graph.set_ef(ef_search)
    graph.set_num_threads(1)
    return graph
