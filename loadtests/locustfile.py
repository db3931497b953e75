"""Locust suite for POST /v1/search (and the ``_search`` facade) with a realistic mix of callers and requests.

Run it through ``make loadtest`` (``loadtests/run.py``), which starts the
service and checks the budgets. Environment:

- ``LOADTEST_QUERIES``: query files (``os.pathsep``-separated). Lines are
  ``{"text"|"query", "tenant"?, "principals"?}`` (the sample set) or BEIR
  ``{"_id", "text"}``; queries without a tenant are dealt round-robin to the
  personas of those that have one (or to ``LOADTEST_PERSONAS``).
- ``LOADTEST_PERSONAS``: extra callers, ``tenant:p1,p2;tenant2:p3``.
- ``LOADTEST_WEIGHTS``: task weights, ``hybrid=6,page=2,explain=1,rerank=1,facade=1``.
- ``LOADTEST_WAIT_MS``: think time between a user's requests (default 0).
- ``LOADTEST_UNSEEN_SHARE``: share of requests asking a query never asked before
  (spans of the persona's tenant's documents in ``LOADTEST_CORPUS``); the rest
  repeat the fixed queries, Zipf-distributed (default 0.5). ``LOADTEST_SEED``: 0.
- ``LOADTEST_SUMMARY``: where to write exact percentiles (JSON) at the end.

Every caller gets its own token, minted with the development HS256 secret from
the same ``HYBRID_*`` settings as the server.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import orjson
from locust import FastHttpUser, constant, events, task

from app.settings import PROJECT_ROOT, Settings
from loadtests.stats import summarize
from loadtests.workload import (
    QueryStream,
    build_workload,
    corpus_words,
    deal_order,
    load_queries,
    mint_tokens,
    parse_personas,
)

DEFAULT_QUERIES = PROJECT_ROOT / "sample_data" / "queries.jsonl"
DEFAULT_CORPUS = PROJECT_ROOT / "sample_data" / "corpus.jsonl"
DEFAULT_WEIGHTS = {"hybrid": 6, "page": 2, "explain": 1, "rerank": 1, "facade": 1}
#: What an OpenSearch search UI sends the facade: its query, highlights and one facet.
FACADE_EXTRAS = {
    "highlight": {"fields": {"title": {}, "body": {}}},
    "aggs": {"categories": {"terms": {"field": "metadata.category", "size": 10}}},
}


def _weights(spec: str) -> dict[str, int]:
    weights = dict(DEFAULT_WEIGHTS)
    for part in filter(None, spec.split(",")):
        name, _, value = part.partition("=")
        weights[name.strip()] = int(value)
    return weights


_paths = [Path(p) for p in os.environ.get("LOADTEST_QUERIES", str(DEFAULT_QUERIES)).split(os.pathsep) if p]
WORKLOAD = build_workload(load_queries(_paths), parse_personas(os.environ.get("LOADTEST_PERSONAS", "")))
PERSONAS = deal_order(WORKLOAD)
_next_user = itertools.count()
WEIGHTS = _weights(os.environ.get("LOADTEST_WEIGHTS", ""))
TOKENS = mint_tokens(PERSONAS, Settings.from_env())
UNSEEN_SHARE = float(os.environ.get("LOADTEST_UNSEEN_SHARE", "0.5"))
SEED = int(os.environ.get("LOADTEST_SEED", "0"))
DOCUMENTS = corpus_words(Path(os.environ.get("LOADTEST_CORPUS", str(DEFAULT_CORPUS)))) if UNSEEN_SHARE > 0 else {}

# Exact samples, per request type and per server stage (this process only).
_latency: dict[str, list[float]] = defaultdict(list)
_failures: dict[str, int] = defaultdict(int)
_degraded: dict[str, int] = defaultdict(int)
_stages: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
_window: dict[str, float] = {}


class SearchUser(FastHttpUser):
    """One caller: a persona with its own token, asking its own queries."""

    wait_time = constant(float(os.environ.get("LOADTEST_WAIT_MS", "0")) / 1000)

    def on_start(self) -> None:
        number = next(_next_user)
        self.persona = PERSONAS[number % len(PERSONAS)]
        self.queries = QueryStream(WORKLOAD[self.persona], DOCUMENTS.get(self.persona[0], []), UNSEEN_SHARE, SEED + number)
        self.headers = {"Authorization": f"Bearer {TOKENS[self.persona]}", "Content-Type": "application/json"}

    def _search(self, kind: str, **body: Any) -> None:
        self._post(kind, "/v1/search", {"query": self.queries.next(), **body})

    def _post(self, kind: str, path: str, body: dict[str, Any]) -> None:
        with self.client.post(path, data=orjson.dumps(body), headers=self.headers, name=kind, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}: {(response.text or '')[:200]}")
                return
            try:
                # orjson: the client shares the 2 cores with the server; the stdlib took ~4x as long per answer.
                answer = orjson.loads(response.content)
                answer = answer.get("hybrid", answer)  # the facade keeps the service's details there
                timings = answer["timings_ms"]
            except (ValueError, KeyError, TypeError):
                response.failure("200 without a search answer")
                return
            for stage, ms in timings.items():
                _stages[kind][stage].append(float(ms))
            if answer.get("degraded"):
                _degraded[kind] += 1

    @task(WEIGHTS["hybrid"])
    def hybrid(self) -> None:
        self._search("hybrid", rerank={"enabled": False})

    @task(WEIGHTS["page"])
    def page(self) -> None:
        self._search("page", rerank={"enabled": False}, **{"from": random.choice((10, 20))}, size=10)

    @task(WEIGHTS["explain"])
    def explain(self) -> None:
        self._search("explain", rerank={"enabled": False}, explain=True)

    @task(WEIGHTS["facade"])
    def facade(self) -> None:
        query = {"match": {"body": self.queries.next()}}
        self._post("facade", "/docs/_search", {"query": query, **FACADE_EXTRAS})

    @task(WEIGHTS["rerank"])
    def rerank(self) -> None:
        self._search("hybrid+rerank", rerank={"enabled": True})


@events.test_start.add_listener
def _started(**_: Any) -> None:
    _window["start"] = time.perf_counter()


@events.request.add_listener
def _record(name: str, response_time: float, exception: Any = None, **_: Any) -> None:
    _latency[name].append(response_time)
    if exception is not None:
        _failures[name] += 1


@events.test_stop.add_listener
def _write_summary(**_: Any) -> None:
    target = os.environ.get("LOADTEST_SUMMARY")
    if not target:
        return
    seconds = time.perf_counter() - _window.get("start", time.perf_counter())
    requests = {}
    for name, samples in _latency.items():
        requests[name] = summarize(samples, _failures[name], seconds) | {"degraded": _degraded[name]}
    summary = {
        "seconds": round(seconds, 2),
        "personas": len(PERSONAS),
        "queries": sum(map(len, WORKLOAD.values())),
        "unseen_share": UNSEEN_SHARE,
        "total_count": sum(map(len, _latency.values())),
        "total_rps": round(sum(map(len, _latency.values())) / seconds, 2) if seconds else 0.0,
        "requests": requests,
        "stages": {kind: {stage: summarize(v) for stage, v in stages.items()} for kind, stages in _stages.items()},
    }
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    Path(target).write_text(json.dumps(summary, indent=2), encoding="utf-8")
