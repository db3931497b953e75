"""The query path in one process, no network: per-stage latency, CPU per search, profile.

    python scripts/bench_search.py --data-dir data [--queries FILE] [--requests 2000] [--profile 15]

Sends ``POST /v1/search`` through Flask's test client (authentication, schema,
legs, fusion, rendering — everything but the HTTP server and the socket),
one request at a time, and prints wall p50/p95 per request, CPU milliseconds
per request, and p50/p95 of each stage in ``timings_ms``. ``--profile N``
prints the N functions with the most own time (cProfile), to see what the
hot path is made of. Run it on a quiet machine: it measures, it does not judge.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.settings import Settings  # noqa: E402
from app.web import create_app  # noqa: E402
from loadtests.stats import percentile  # noqa: E402
from loadtests.workload import build_workload, default_queries, load_queries, mint_tokens, parse_personas  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--queries", type=Path, action="append", default=None,
                        help="query JSONL (repeatable); default: the load test's mix, the sample and shared BEIR queries")
    parser.add_argument("--personas", default="", help="for queries without a tenant: tenant:p1,p2;tenant2:")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--size", type=int, default=10)
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="print the top N functions by own time")
    args = parser.parse_args(argv)

    settings = Settings.from_env(data_dir=args.data_dir, dev_mode=True)  # in-process: nothing listens
    workload = build_workload(load_queries(args.queries or default_queries()), parse_personas(args.personas))
    tokens = mint_tokens(workload, settings)
    requests = [(tokens[p], text) for p in sorted(workload) for text in workload[p]]
    client = create_app(settings).test_client()

    def search(token: str, text: str) -> dict:
        response = client.post("/v1/search", json={"query": text, "size": args.size},
                               headers={"Authorization": f"Bearer {token}"})
        if response.status_code != 200:
            raise SystemExit(f"search failed: HTTP {response.status_code} {response.get_data(as_text=True)[:200]}")
        return response.get_json()

    # Warm-up: model, snapshot, filter masks, and each distinct query's embedding
    # (cached), so these figures are the query path's; bench_embedding.py times the encoder.
    for token, text in requests:
        search(token, text)
    wall, stages = [], defaultdict(list)
    profiler = cProfile.Profile() if args.profile else None
    cpu_began = time.process_time()
    if profiler:
        profiler.enable()
    for i in range(args.requests):
        token, text = requests[i % len(requests)]
        began = time.perf_counter()
        body = search(token, text)
        wall.append((time.perf_counter() - began) * 1000)
        for stage, ms in body["timings_ms"].items():
            stages[stage].append(ms)
    if profiler:
        profiler.disable()
    cpu_ms = (time.process_time() - cpu_began) * 1000 / args.requests

    print(f"{args.requests} searches over {len(requests)} distinct queries, size {args.size}, data {args.data_dir}")
    wall.sort()
    print(f"request  p50 {percentile(wall, 50):6.2f} ms  p95 {percentile(wall, 95):6.2f} ms  "
          f"mean {statistics.fmean(wall):6.2f} ms  CPU {cpu_ms:.2f} ms/search{'  (profiled)' if profiler else ''}")
    for stage, values in sorted(stages.items()):
        values.sort()
        print(f"  {stage:<10} p50 {percentile(values, 50):6.2f} ms  p95 {percentile(values, 95):6.2f} ms")
    if profiler:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(args.profile)
        print(out.getvalue())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
