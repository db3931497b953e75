"""GET /metrics exposes per-stage and per-endpoint telemetry after some traffic."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from app.observability.multiprocess import prepare_metrics_dir


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one series in the exposition text (0 when absent)."""
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split(" ")[0]))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_stage_histograms_and_request_counts_after_a_few_searches(make_client, token_for) -> None:
    client = make_client()
    headers = token_for("initech", "user:ann")
    before = client.get("/metrics").text
    for query in ("signing key", "printer jam", "signing key"):
        assert client.post("/v1/search", json={"query": query}, headers=headers).status_code == 200
    assert client.post("/v1/search", json={"query": "x"}).status_code == 401
    response = client.get("/metrics")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    text = response.text

    def grew(name: str, **labels: str) -> float:
        return sample(text, name, **labels) - sample(before, name, **labels)

    for stage in ("embed", "lexical", "vector", "retrieve", "fuse", "fetch", "total"):
        assert grew("hybrid_search_stage_duration_seconds_count", stage=stage) == 3, stage
        assert f'hybrid_search_stage_duration_seconds_bucket{{le="0.001",stage="{stage}"}}' in text
    assert grew("hybrid_http_requests_total", endpoint="/v1/search", method="POST", status="200") == 3
    assert grew("hybrid_http_requests_total", endpoint="/v1/search", method="POST", status="401") == 1
    assert grew("hybrid_http_request_duration_seconds_count", endpoint="/v1/search", method="POST") == 4
    assert grew("hybrid_search_candidates_count", leg="lexical") == 3
    assert grew("hybrid_search_candidates_count", leg="vector") == 3
    assert sample(text, "hybrid_versions_info", index="docs-v2", index_version="2") == 1
    # "signing key" was asked twice: the second embedding came from the cache.
    assert grew("hybrid_query_embedding_cache_total", result="hit") >= 1


def test_degraded_answers_are_counted_by_cause(make_client, token_for) -> None:
    client = make_client()  # reranking requested, but no reranker is configured
    before = sample(client.get("/metrics").text, "hybrid_search_degraded_total", cause="rerank")
    body = {"query": "budget", "rerank": {"enabled": True}}
    answer = client.post("/v1/search", json=body, headers=token_for("initech", "group:finance")).json
    assert answer["degraded"] == ["rerank"]
    assert sample(client.get("/metrics").text, "hybrid_search_degraded_total", cause="rerank") == before + 1


_WORKER = """
import sys
from app.observability import metrics
metrics.record_request("/v1/search", "POST", 200, 0.004)
metrics.record_search({"embed": 1.0, "total": 5.0}, {"lexical": 7}, [], {"hits": 3, "misses": 1}, ("docs-v1", "1", "m", ""))
"""


def test_multiprocess_mode_merges_workers_and_starts_clean(tmp_path: Path) -> None:
    directory = tmp_path / "mp"
    directory.mkdir()
    (directory / "counter_999999.db").write_bytes(b"stale")
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)}
    assert prepare_metrics_dir(directory) == directory
    assert not (directory / "counter_999999.db").exists()
    for _ in range(2):  # two "workers", each its own process
        subprocess.run([sys.executable, "-c", _WORKER], env=env, check=True)
    scrape = "from app.observability import metrics; print(metrics.exposition()[0].decode())"
    text = subprocess.run([sys.executable, "-c", scrape], env=env, check=True, capture_output=True, text=True).stdout
    assert sample(text, "hybrid_http_requests_total", endpoint="/v1/search", status="200") == 2
    assert sample(text, "hybrid_search_stage_duration_seconds_count", stage="embed") == 2
    assert sample(text, "hybrid_query_embedding_cache_total", result="hit") == 6
    assert sample(text, "hybrid_query_embedding_cache_total", result="miss") == 2
