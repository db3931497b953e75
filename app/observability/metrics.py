"""Prometheus metrics of the service and the ``GET /metrics`` exposition.

Under gunicorn every worker writes its samples to files in
``PROMETHEUS_MULTIPROC_DIR`` (see :mod:`app.observability.multiprocess`) and a
scrape, answered by whichever worker gets it, merges all of them. Without that
variable (tests, ``serve --dev``) the default in-process registry is used.

Useful queries::

    histogram_quantile(0.95, sum by (le, stage) (rate(hybrid_search_stage_duration_seconds_bucket[5m])))
    sum(rate(hybrid_query_embedding_cache_total{result="hit"}[5m]))
      / sum(rate(hybrid_query_embedding_cache_total[5m]))
"""

from __future__ import annotations

import os
import threading
from typing import Any, Mapping

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from app.observability.multiprocess import ENV

# Sub-millisecond resolution at the bottom: most stages take well under 1 ms.
_STAGE_BUCKETS = (
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.04, 0.05,
    0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0, 2.5, 5.0,
)
_REQUEST_BUCKETS = _STAGE_BUCKETS[3:]
_CANDIDATE_BUCKETS = (0, 1, 5, 10, 25, 50, 100, 200, 300, 500, 1000, 3000)

REQUEST_SECONDS = Histogram(
    "hybrid_http_request_duration_seconds",
    "Wall time of HTTP requests, by route template and method.",
    ["endpoint", "method"],
    buckets=_REQUEST_BUCKETS,
)
REQUESTS = Counter(
    "hybrid_http_requests",
    "HTTP responses by route template, method and status code.",
    ["endpoint", "method", "status"],
)
STAGE_SECONDS = Histogram(
    "hybrid_search_stage_duration_seconds",
    "Wall time of each stage of the query path (the response's timings_ms).",
    ["stage"],
    buckets=_STAGE_BUCKETS,
)
CANDIDATES = Histogram(
    "hybrid_search_candidates",
    "Chunks each retrieval leg returned before fusion.",
    ["leg"],
    buckets=_CANDIDATE_BUCKETS,
)
DEGRADED = Counter(
    "hybrid_search_degraded",
    "Answers served without a stage, by the stage that was skipped.",
    ["cause"],
)
CACHE = Counter(
    "hybrid_query_embedding_cache",
    "Query-embedding cache lookups, by result (hit or miss).",
    ["result"],
)
VERSIONS = Gauge(
    "hybrid_versions_info",
    "1 for the index, embedding model and reranker a process currently serves.",
    ["index", "index_version", "model_version", "reranker_version"],
    multiprocess_mode="livemax",
)


_children: dict[tuple[object, tuple[str, ...]], Any] = {}


def _child(metric: Any, *labels: str) -> Any:
    """``metric.labels(*labels)``, remembered: a search records ~15 samples, and
    each ``labels`` call validates and locks; label sets here are few and bounded."""
    key = (metric, labels)
    child = _children.get(key)
    if child is None:
        child = _children.setdefault(key, metric.labels(*labels))
    return child


class _VersionGauge:
    """Keeps one series at 1 per process; the previous one drops to 0 on change."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._current: tuple[str, ...] | None = None

    def show(self, labels: tuple[str, ...]) -> None:
        if labels == self._current:
            return  # the common case: nothing changed, no mmap write
        with self._lock:
            if self._current is not None:
                VERSIONS.labels(*self._current).set(0)
            VERSIONS.labels(*labels).set(1)
            self._current = labels


_versions = _VersionGauge()


class _CacheCounter:
    """Turns the encoder's cumulative hit/miss counts into counter increments.

    Which lookup hit is not knowable per request without racing the other
    threads; the running totals are, so each search adds what changed since.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen = {"hits": 0, "misses": 0}

    def update(self, totals: Mapping[str, int]) -> None:
        with self._lock:
            for key, result in (("hits", "hit"), ("misses", "miss")):
                now = int(totals.get(key, 0))
                if now > self._seen[key]:
                    _child(CACHE, result).inc(now - self._seen[key])
                self._seen[key] = now


_cache = _CacheCounter()


def record_request(endpoint: str, method: str, status: int, seconds: float) -> None:
    """One HTTP request, observed by the app's after-request hook."""
    _child(REQUEST_SECONDS, endpoint, method).observe(seconds)
    _child(REQUESTS, endpoint, method, str(status)).inc()


def record_search(
    stages_ms: Mapping[str, float],
    candidates: Mapping[str, int],
    degraded: list[str],
    cache_totals: Mapping[str, int] | None,
    versions: tuple[str, str, str, str],
) -> None:
    """One answered search: per-stage times, leg sizes, degradations, cache, versions.

    ``cache_totals`` are the query-embedding cache's running ``hits``/``misses``.
    """
    for stage, ms in stages_ms.items():
        _child(STAGE_SECONDS, stage).observe(ms / 1000.0)
    for leg, count in candidates.items():
        _child(CANDIDATES, leg).observe(count)
    for cause in degraded:
        _child(DEGRADED, cause).inc()
    if cache_totals is not None:
        _cache.update(cache_totals)
    _versions.show(versions)


def exposition() -> tuple[bytes, str]:
    """The text format of every metric (merged across workers when multiprocess)."""
    if os.environ.get(ENV):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
