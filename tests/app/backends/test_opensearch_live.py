"""The whole lifecycle against a live cluster; runs only when OPENSEARCH_URL is set.

It cannot run on the project's machines (no OpenSearch there). On a machine
with Docker, ``make opensearch-test`` (``OPENSEARCH_VERSION=3.1.0`` for another
release) starts docker-compose.yml's single node and runs it. Uses its own alias
so it never touches ``docs``.
"""

from __future__ import annotations

import os
import uuid

import numpy as np
import pytest

from app.backends.base import AccessFilter, Chunk, IndexInfo, LexicalLeg, VectorLeg
from app.backends.opensearch import OpenSearchBackend
from app.settings import Settings
from chunk_keys import keyed

URL = os.environ.get("OPENSEARCH_URL")
pytestmark = [pytest.mark.opensearch, pytest.mark.skipif(not URL, reason="set OPENSEARCH_URL to run against a live cluster")]
DIM = 384


@pytest.fixture
def live_backend():
    alias = f"hstest{uuid.uuid4().hex[:8]}"
    settings = Settings.from_env(index_alias=alias, opensearch_hosts=URL, opensearch_replicas=0, opensearch_alias_cache_s=0.0)
    backend = OpenSearchBackend(settings)
    yield backend
    for info in backend.list_indexes():
        backend.client.indices.delete(index=info.name)
    backend.client.indices.delete_index_template(name=f"{alias}-v1", ignore=[404])


def test_lifecycle(live_backend: OpenSearchBackend) -> None:
    rng = np.random.default_rng(0)
    assert live_backend.install_templates()[f"{live_backend.alias}-v1"]["action"] == "created"
    assert live_backend.install_templates()[f"{live_backend.alias}-v1"]["action"] == "unchanged"
    old = f"{live_backend.alias}-v1"
    live_backend.create_index(IndexInfo(old, 1, "all-MiniLM-L6-v2", DIM))
    live_backend.switch_alias(old)
    vectors = rng.normal(size=(3, DIM)).astype(np.float32)
    live_backend.replace_documents(old, keyed({
        f"d{i}": [Chunk(f"t1/d{i}#0", f"d{i}", 0, f"Title {i}", f"database failover {i}", "t1", ("*",), {"team": ("a",)},
                        content_hash=f"h{i}", vector=vectors[i])] for i in range(3)}))
    access = AccessFilter("t1", frozenset({"u"}))
    results = live_backend.run_legs({"lexical": LexicalLeg("database", 10), "vector": VectorLeg(vectors[0], 3)}, access)
    assert len(results["lexical"].hits) == 3 and results["vector"].hits[0].doc_id == "d0"
    assert live_backend.run_legs({"lexical": LexicalLeg("database", 10)}, AccessFilter("t2", frozenset()))["lexical"].hits == []
    live_backend.create_index(IndexInfo(old, 1, "all-MiniLM-L6-v2", DIM))
    new = live_backend.resolve(old)
    assert live_backend.reindex(live_backend.alias_target(), new) == 3
    previous = live_backend.alias_target()
    live_backend.switch_alias(new)
    assert live_backend.live_index().name == new
    assert sorted(r["_id"] for r in live_backend.scan_index(new, ["doc_id"])) == ["t1/d0#0", "t1/d1#0", "t1/d2#0"]
    live_backend.switch_alias(previous)  # rollback
    assert live_backend.alias_target() == previous
    release = live_backend.cluster.release()
    lexical, vector = LexicalLeg("database", 10), VectorLeg(vectors[0], 10)
    linear = live_backend.run_fused(lexical, vector, access, method="linear", weights={"lexical": 1.0, "vector": 1.0})
    assert linear.hits and not linear.partial  # the weights were accepted (scaled to sum to 1)
    if release >= (2, 19):
        fused = live_backend.run_fused(lexical, vector, access, method="rrf", weights={}, rank_constant=1)
        assert fused.hits[0].score > 2 / 61  # the cluster used rank_constant 1, not its default 60
    live_backend.force_merge(new)  # as a task, polled to completion
