"""Where a search's CPU goes: each stage, the engines inside them, and the Python + HTTP tax.

    python scripts/bench_tax.py [--data-dir data] [--requests 2000] [--unseen-share 0.5] [--seed 0] [--collector-defaults]

The load test's query stream (``loadtests.workload.QueryStream``: a share of
never-seen queries, Zipf repeats of the fixed ones), its personas taken in
turn, one ``POST /v1/search`` at a time, twice:

1. **in process**, through Flask's test client, with the query path's clock
   (``time.perf_counter``) reading this thread's CPU time instead of the wall,
   so each ``timings_ms`` stage is CPU milliseconds (the legs run on this
   thread: ``parallel_legs`` is off), and with the engines wrapped to count
   their own CPU: onnxruntime's ``Session.run``, tantivy's search and
   fast-field read, hnswlib's ``knn_query``, and the exact numpy scan, and
   with the garbage collector settled as a served worker settles it
   (``app.heap``) and its collections counted;
2. **served**, over one keep-alive HTTP connection to gunicorn with one
   worker (``app/gunicorn_conf.py`` otherwise), the server's CPU per request
   read from the kernel.

Prints CPU milliseconds per search for each stage and engine, and the served
CPU over the engines' CPU: the Python and HTTP tax as one number. Every
distinct query is embedded once per run in both passes (a fresh cache each),
so both see the same misses. It measures, it does not judge: run it on a
quiet machine.
"""

from __future__ import annotations

import argparse
import gc
import http.client
import itertools
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable, Iterator

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.heap import settle_heap  # noqa: E402
from app.settings import Settings  # noqa: E402
from app.web import create_app  # noqa: E402
from loadtests.run import HOST, free_port, server_cpu_seconds, server_env, stop, wait_ready  # noqa: E402
from loadtests.workload import (  # noqa: E402
    QueryStream, build_workload, corpus_words, deal_order, default_queries, load_queries, mint_tokens,
)

SAMPLE_CORPUS = ROOT / "sample_data" / "corpus.jsonl"
#: The clock's name for SearchService.search as a whole (not an engine).
SEARCH = "search"
#: The stages of ``timings_ms`` the table shows, in query-path order.
STAGES = ("embed", "lexical", "vector", "fuse", "fetch")
#: Engine → the stage it runs in.
ENGINES = {"encoder (onnxruntime)": "embed", "tantivy": "lexical", "hnswlib": "vector", "exact scan (numpy)": "vector"}


class EngineClock:
    """CPU seconds spent inside each engine, counted by wrapping its calls."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    def timed(self, engine: str, call: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            began = time.thread_time()
            try:
                return call(*args, **kwargs)
            finally:
                self.seconds[engine] += time.thread_time() - began

        return wrapper


class CollectorClock:
    """Collections of the garbage collector and their CPU seconds, from ``gc.callbacks``."""

    def __init__(self) -> None:
        self.collections = 0
        self.seconds = 0.0
        self.longest = 0.0
        self._began = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._began = time.thread_time()
        else:
            spent = time.thread_time() - self._began
            self.collections += 1
            self.seconds += spent
            self.longest = max(self.longest, spent)


class _Proxy:
    """An engine object whose named methods are timed; everything else passes through."""

    def __init__(self, target: Any, clock: EngineClock, engine: str, methods: tuple[str, ...]) -> None:
        self._target = target
        for name in methods:
            setattr(self, name, clock.timed(engine, getattr(target, name)))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target, name)


def wrap_engines(app: Any, clock: EngineClock) -> None:
    """Count the CPU of the encoder's session, the snapshot's searcher, graphs and exact scan."""
    parts = app.extensions["hybrid"]
    encoder = parts.encoder
    encoder._session = _Proxy(encoder._session, clock, "encoder (onnxruntime)", ("run",))
    snapshot = parts.backend._current()
    snapshot.searcher = _Proxy(snapshot.searcher, clock, "tantivy", ("search", "fast_field_values"))
    snapshot.graphs = {code: _Proxy(graph, clock, "hnswlib", ("knn_query",)) for code, graph in snapshot.graphs.items()}
    snapshot._exact = clock.timed("exact scan (numpy)", snapshot._exact)
    # Timings.started reads the wall clock (bound when the class was made), so the whole search is timed here.
    parts.service.search = clock.timed(SEARCH, parts.service.search)


def query_stream(args: argparse.Namespace, settings: Settings) -> list[tuple[str, str]]:
    """``--requests`` (token, query text) pairs: the load test's personas in turn, each with its own stream."""
    workload = build_workload(load_queries(default_queries()), [])
    personas = deal_order(workload)[: args.users]
    tokens = mint_tokens(personas, settings)
    documents = corpus_words(args.corpus)
    streams = [
        (tokens[persona], QueryStream(workload[persona], documents.get(persona[0], []), args.unseen_share, args.seed + i))
        for i, persona in enumerate(personas)
    ]
    return [(token, stream.next()) for token, stream in itertools.islice(itertools.cycle(streams), args.requests)]


def in_process(args: argparse.Namespace, settings: Settings, requests: list[tuple[str, str]]) -> dict[str, float]:
    """CPU ms per search: each stage (from ``timings_ms`` on a CPU clock), each engine, and the whole request."""
    app = create_app(settings)
    client = app.test_client()

    def search(token: str, text: str) -> dict[str, Any]:
        response = client.post("/v1/search", json={"query": text, "size": 10},
                               headers={"Authorization": f"Bearer {token}"})
        if response.status_code != 200:
            raise SystemExit(f"search failed: HTTP {response.status_code} {response.get_data(as_text=True)[:200]}")
        return response.get_json()

    search(*requests[0])  # loads the model and the snapshot, so their objects can be wrapped
    app.extensions["hybrid"].encoder.cache_clear()
    clock = EngineClock()
    wrap_engines(app, clock)
    if not args.collector_defaults:
        settle_heap()  # as a served worker does once it is warm
    collector = CollectorClock()
    gc.callbacks.append(collector)
    stages: dict[str, float] = defaultdict(float)
    wall_clock = time.perf_counter
    time.perf_counter = time.thread_time  # every duration of the query path now reads CPU time
    try:
        began = time.thread_time()
        for token, text in requests:
            for stage, ms in search(token, text)["timings_ms"].items():
                stages[stage] += ms
        request_seconds = time.thread_time() - began
    finally:
        time.perf_counter = wall_clock
        gc.callbacks.remove(collector)
    count = len(requests)
    figures = {f"stage {name}": total / count for name, total in stages.items()}
    figures["search"] = clock.seconds.pop(SEARCH) * 1000 / count
    figures.update({f"engine {name}": seconds * 1000 / count for name, seconds in clock.seconds.items()})
    figures["request in process"] = request_seconds * 1000 / count
    figures["garbage collection"] = collector.seconds * 1000 / count
    figures["collections"] = collector.collections / count
    figures["longest collection"] = collector.longest * 1000
    return figures


def served(args: argparse.Namespace, requests: list[tuple[str, str]]) -> float:
    """Server CPU ms per request: gunicorn with one worker, one keep-alive connection."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="bench-tax-") as scratch:
        # The load test's server environment, with one worker.
        env = server_env(argparse.Namespace(data_dir=args.data_dir, rerank=False, workers=1, threads=None, out=Path(scratch)))
        with open(Path(scratch) / "server.log", "wb") as log:
            server = subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--bind", f"{HOST}:{port}"],
                                      env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            try:
                wait_ready(f"http://{HOST}:{port}", server, 120)
                connection = http.client.HTTPConnection(HOST, port, timeout=30)
                post(connection, *requests[0])  # the same warm-up as in process
                before = server_cpu_seconds(server.pid)
                for token, text in requests:
                    post(connection, token, text)
                return (server_cpu_seconds(server.pid) - before) * 1000 / len(requests)
            finally:
                stop(server)


def post(connection: http.client.HTTPConnection, token: str, text: str) -> None:
    body = json.dumps({"query": text, "size": 10})
    connection.request("POST", "/v1/search", body, {"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    response = connection.getresponse()
    payload = response.read()
    if response.status != 200:
        raise SystemExit(f"served search failed: HTTP {response.status} {payload[:200]!r}")


def report(figures: dict[str, float], served_ms: float) -> Iterator[str]:
    """The table: stages with their engines, the layers above, and the ratio."""
    engines = sum(ms for name, ms in figures.items() if name.startswith("engine "))
    total = figures["search"]
    yield f"{'CPU ms per search':52s} {'ms':>7s} {'share':>6s}"
    for stage in STAGES:
        yield f"stage {stage:46s} {figures.get(f'stage {stage}', 0.0):7.3f} {share(figures.get(f'stage {stage}', 0.0), served_ms)}"
        for engine, home in ENGINES.items():
            if home == stage and f"engine {engine}" in figures:
                yield f"  of which {engine:40s} {figures[f'engine {engine}']:7.3f} {share(figures[f'engine {engine}'], served_ms)}"
    staged = sum(figures.get(f"stage {s}", 0.0) for s in STAGES)
    rows = [
        ("rest of SearchService.search (plan, hits, respond)", total - staged),
        ("SearchService.search", total),
        ("Flask app: auth, schema, JSON, metrics, logs", figures["request in process"] - total),
        ("request in process (Flask test client)", figures["request in process"]),
        ("gunicorn and HTTP", served_ms - figures["request in process"]),
        ("served request (gunicorn worker)", served_ms),
    ]
    for label, ms in rows:
        yield f"{label:52s} {ms:7.3f} {share(ms, served_ms)}"
    yield (f"garbage collection, in the rows above: {figures['garbage collection']:.3f} ms per request "
           f"({figures['collections']:.2f} collections per request, the longest {figures['longest collection']:.1f} ms; in process)")
    yield ""
    yield f"engines (encoder + tantivy + vector search): {engines:.3f} ms of {served_ms:.3f} ms served"
    tax = served_ms - engines
    ratio = served_ms / engines if engines else float("inf")
    yield f"Python and HTTP tax: {tax:.3f} ms per request ({share(tax, served_ms).strip()}); served / engines = {ratio:.2f}"


def share(ms: float, of: float) -> str:
    return f"{100 * ms / of:5.1f}%" if of else "    -"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=ROOT / "data")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--users", type=int, default=4, help="personas whose streams are interleaved (default 4)")
    parser.add_argument("--unseen-share", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--corpus", type=Path, default=SAMPLE_CORPUS, help="documents the unseen queries are cut from")
    parser.add_argument("--collector-defaults", action="store_true",
                        help="leave the garbage collector at Python's defaults in process (a served worker always settles it)")
    args = parser.parse_args(argv)
    os.environ.setdefault("HYBRID_JWT_SECRET", secrets.token_urlsafe(48))
    settings = Settings.from_env(data_dir=args.data_dir, parallel_legs=False, log_level="WARNING")
    requests = query_stream(args, settings)
    figures = in_process(args, settings, requests)
    served_ms = served(args, requests)
    print(f"{len(requests)} searches, unseen share {args.unseen_share}, data {args.data_dir}")
    for line in report(figures, served_ms):
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
