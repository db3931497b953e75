"""Per-tenant HNSW graphs against exact search, on real embeddings.

The service's own latency index uses random vectors (the worst case for a graph
walk), and the relevance gate's collections are below ``hnsw_min_chunks``, so
neither shows whether the graph path keeps the vector leg's ranking on real
data. Here Cranfield's cached index (the gate's, real all-MiniLM vectors) is
copied into two fresh indexes, one searched exactly and one through a graph,
with half its documents hidden behind an ACL so the over-fetch path runs too.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from app.backends.base import AccessFilter, IndexInfo, VectorLeg
from app.backends.embedded import EmbeddedBackend
from app.evaluation.collection import open_collection
from app.evaluation.judgments import load_beir
from app.settings import Settings
from chunk_keys import keyed
from shared_paths import dataset_dir

pytestmark = pytest.mark.slow

DEPTH = 100


def test_tenant_graph_keeps_the_exact_vector_ranking_on_real_embeddings(encoder, tmp_path: Path) -> None:
    settings = Settings.from_env()
    dataset = load_beir(dataset_dir("cranfield"))
    source = open_collection(dataset, encoder, settings, progress=False)
    chunks = list(source.backend.iter_chunks(source.backend.live_index().name))
    # Every other document readable only by group:x: the caller below sees half.
    hidden = {doc_id for i, doc_id in enumerate(sorted({c.doc_id for c in chunks})) if i % 2}
    by_doc: dict[str, list] = {}
    for chunk in chunks:
        by_doc.setdefault(chunk.doc_id, []).append(replace(chunk, acl=("group:x",) if chunk.doc_id in hidden else ("*",)))

    backends = {}
    for name, threshold in (("exact", 10**9), ("graph", 100)):
        backend = EmbeddedBackend(settings.replace(data_dir=tmp_path / name, hnsw_min_chunks=threshold))
        info = source.backend.live_index()
        backend.create_index(IndexInfo(info.name, info.template_version, info.model_version, info.dimension))
        backend.switch_alias(info.name)
        backend.replace_documents(info.name, keyed(by_doc))
        backends[name] = backend
    assert list((tmp_path / "graph" / "indexes").glob("*/hnsw-*/manifest.json"))

    overlap = {10: [], DEPTH: []}
    for access in (AccessFilter(settings.eval_tenant, frozenset({"group:x"})), AccessFilter(settings.eval_tenant, frozenset())):
        for text in list(dataset.queries.values())[:120]:
            leg = {"vector": VectorLeg(encoder.embed_query(text), DEPTH, DEPTH)}
            want, got = ([h.doc_id for h in b.run_legs(leg, access)["vector"].hits] for b in (backends["exact"], backends["graph"]))
            assert access.principals or not hidden & set(got)  # the ACL holds on the graph path
            for k in overlap:  # (k chunks can hold fewer than k documents)
                overlap[k].append(len(set(want[:k]) & set(got[:k])) / len(want[:k]))
    print({k: round(float(np.mean(v)), 4) for k, v in overlap.items()})
    assert np.mean(overlap[10]) >= 0.97, np.mean(overlap[10])
    assert np.mean(overlap[DEPTH]) >= 0.95, np.mean(overlap[DEPTH])
