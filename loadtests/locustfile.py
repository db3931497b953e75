"""Locust suite for POST /v1/search with a realistic mix of callers and requests.

Run it through ``make loadtest`` (``loadtests/run.py``), which starts the
service and checks the budgets. Environment:

- ``LOADTEST_QUERIES``: query files (``os.pathsep``-separated). Lines are
  ``{"text"|"query", "tenant"?, "principals"?}`` (the sample set) or BEIR
  ``{"_id", "text"}``; queries without a tenant are dealt round-robin to the
  personas of those that have one (or to ``LOADTEST_PERSONAS``).
- ``LOADTEST_PERSONAS``: extra callers, ``tenant:p1,p2;tenant2:p3``.
- ``LOADTEST_WEIGHTS``: task weights, ``hybrid=6,page=2,explain=1,rerank=1``.
- ``LOADTEST_WAIT_MS``: think time between a user's requests (default 0).
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

from locust import FastHttpUser, constant, events, task

from app.auth import mint_token
from app.settings import PROJECT_ROOT, Settings
from loadtests.stats import summarize

DEFAULT_QUERIES = PROJECT_ROOT / "sample_data" / "queries.jsonl"
DEFAULT_WEIGHTS = {"hybrid": 6, "page": 2, "explain": 1, "rerank": 1}


def load_queries(paths: list[Path]) -> list[dict[str, Any]]:
    """Query records from JSONL files; lines without text are skipped."""
    queries = []
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                if not line.strip():
                    continue
                record = json.loads(line)
                text = (record.get("text") or record.get("query") or "").strip()
                if text:
                    queries.append(
                        {"text": text[:1024], "tenant": record.get("tenant"), "principals": record.get("principals") or []}
                    )
    return queries


def parse_personas(spec: str) -> list[tuple[str, tuple[str, ...]]]:
    """``acme:group:sre,user:bob;globex:`` → ``[("acme", ("group:sre", "user:bob")), ("globex", ())]``."""
    personas = []
    for part in filter(None, (p.strip() for p in spec.split(";"))):
        tenant, _, principals = part.partition(":")
        personas.append((tenant, tuple(p for p in principals.split(",") if p)))
    return personas


def build_workload(queries: list[dict[str, Any]], extra: list[tuple[str, tuple[str, ...]]]) -> dict[tuple, list[str]]:
    """Persona (tenant, principals) → the queries that persona asks."""
    by_persona: dict[tuple[str, tuple[str, ...]], list[str]] = defaultdict(list)
    loose = []
    for query in queries:
        if query["tenant"]:
            by_persona[(query["tenant"], tuple(sorted(query["principals"])))].append(query["text"])
        else:
            loose.append(query["text"])
    for persona in extra:
        by_persona.setdefault(persona, [])
    personas = sorted(by_persona)
    if loose and not personas:
        raise SystemExit("queries without a tenant need LOADTEST_PERSONAS or tenant-tagged queries")
    for text, persona in zip(loose, itertools.cycle(personas)):
        by_persona[persona].append(text)
    return {persona: texts for persona, texts in by_persona.items() if texts}


def _weights(spec: str) -> dict[str, int]:
    weights = dict(DEFAULT_WEIGHTS)
    for part in filter(None, spec.split(",")):
        name, _, value = part.partition("=")
        weights[name.strip()] = int(value)
    return weights


_paths = [Path(p) for p in os.environ.get("LOADTEST_QUERIES", str(DEFAULT_QUERIES)).split(os.pathsep) if p]
WORKLOAD = build_workload(load_queries(_paths), parse_personas(os.environ.get("LOADTEST_PERSONAS", "")))
PERSONAS = sorted(WORKLOAD)
WEIGHTS = _weights(os.environ.get("LOADTEST_WEIGHTS", ""))
_settings = Settings.from_env()
TOKENS = {
    persona: mint_token(_settings, subject=f"loadtest-{i}", tenant=persona[0], principals=list(persona[1]), ttl_s=24 * 3600)
    for i, persona in enumerate(PERSONAS)
}

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
        self.persona = random.choice(PERSONAS)
        self.queries = WORKLOAD[self.persona]
        self.headers = {"Authorization": f"Bearer {TOKENS[self.persona]}", "Content-Type": "application/json"}

    def _search(self, kind: str, **body: Any) -> None:
        body = {"query": random.choice(self.queries), **body}
        with self.client.post("/v1/search", data=json.dumps(body), headers=self.headers, name=kind, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}: {(response.text or '')[:200]}")
                return
            try:
                answer = response.json()
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
        "total_count": sum(map(len, _latency.values())),
        "total_rps": round(sum(map(len, _latency.values())) / seconds, 2) if seconds else 0.0,
        "requests": requests,
        "stages": {kind: {stage: summarize(v) for stage, v in stages.items()} for kind, stages in _stages.items()},
    }
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    Path(target).write_text(json.dumps(summary, indent=2), encoding="utf-8")
