"""Each leg's candidates, retrieved once per query and cached on disk.

Tuning re-fuses the same two lists thousands of times, so the lists are
fetched through the real query path once — one single-leg search per leg with
``explain`` on, which reports each document's raw leg score — and stored next
to the collection's index. The cache key covers everything that changes a
leg's answer: the index, the queries, the depth and the retrieval settings.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Mapping

from tqdm import tqdm

from app.evaluation.collection import IndexedCollection
from app.evaluation.systems import search_pages
from app.files import write_atomically
from app.fusion import LEGS

#: ``{qid: {leg: [(doc_id, raw_score), ...]}}``, each leg best first.
LegRuns = dict[str, dict[str, list[tuple[str, float]]]]


def leg_runs(collection: IndexedCollection, queries: Mapping[str, str], depth: int, *, progress: bool = True) -> LegRuns:
    """Both legs' top-``depth`` documents per query, from cache when possible."""
    path = Path(collection.settings.data_dir) / f"legs-{_cache_key(collection, queries, depth)}.json"
    if path.is_file():
        stored = json.loads(path.read_text(encoding="utf-8"))
        return {qid: {leg: [(d, s) for d, s in hits] for leg, hits in legs.items()} for qid, legs in stored.items()}
    runs = fetch_leg_runs(collection, queries, depth, progress=progress)
    write_atomically(path, json.dumps(runs))
    return runs


def fetch_leg_runs(collection: IndexedCollection, queries: Mapping[str, str], depth: int, *, progress: bool = True) -> LegRuns:
    """Run every query once per leg through ``SearchService`` (no cache)."""
    service = collection.service()
    runs: LegRuns = {}
    for qid, text in tqdm(queries.items(), desc=f"{collection.dataset.name}: legs", unit="q",
                          disable=not progress, leave=False):
        runs[qid] = {}
        for leg in LEGS:
            body = {
                "query": text,
                "depth": depth,
                "legs": {name: name == leg for name in LEGS},
                "fusion": {"method": "rrf"},
                "rerank": {"enabled": False},
                "explain": True,
            }
            hits, _ = search_pages(service, collection, body, depth)
            runs[qid][leg] = [(hit["id"], hit["explain"][leg]["raw_score"]) for hit in hits]
    return runs


def _cache_key(collection: IndexedCollection, queries: Mapping[str, str], depth: int) -> str:
    s = collection.settings
    shape = {
        "index": collection.key,
        "generation": _generation(collection),
        "queries": sorted(queries.items()),
        "depth": depth,
        "retrieval": [s.title_boost, s.hnsw_min_chunks, s.hnsw_ef_search,
                      s.exact_search_max_fraction],
    }
    return hashlib.sha256(json.dumps(shape, sort_keys=True).encode()).hexdigest()[:16]


def _generation(collection: IndexedCollection) -> str:
    """The index generation, so a re-ingested index never serves old lists."""
    return collection.backend.generation(collection.backend.live_index().name)
