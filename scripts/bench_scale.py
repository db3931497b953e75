"""How cost grows with the index: build time, disk, memory and latency at several sizes.

    python scripts/bench_scale.py                         # 10k and 100k chunks
    python scripts/bench_scale.py --sizes 10000,100000,1000000 --queries 300

For each size it builds an embedded index with ``scripts/make_large_index.py``
(random unit vectors: right for latency and memory, useless for relevance;
real English text from the sample corpus and the shared collections) into
``<--root>/scale-<N>``, then, in a fresh process per size (so resident memory
is that index's), loads it and runs ``--queries`` searches through the query
path in process (Flask's test client: authentication, schema, legs, fusion,
rendering; no HTTP server), printing per size: build seconds, disk bytes per
chunk, resident memory per chunk (RSS after loading minus before, over the
chunks), the lexical, vector and fused (total) stage p50/p95 from
``timings_ms``, and CPU milliseconds per search. Queries are the sample and
shared BEIR ones, each asked once (the query cache does not help). Run it on a
quiet machine; it measures, it does not judge.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated chunk counts (default 10000,100000)")
    parser.add_argument("--queries", type=int, default=300, help="searches per size (default 300)")
    parser.add_argument("--root", type=Path, default=ROOT / "data-scale", help="where the indexes are built")
    parser.add_argument("--keep", action="store_true", help="keep each built index (default: delete after measuring)")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)  # internal: measure one built data dir
    return parser.parse_args(argv)


def rss_bytes() -> int:
    """This process's resident set now (Linux ``/proc/self/statm``)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize()


def measure(data_dir: Path, queries: int) -> dict:
    """Load the index in this process and time ``queries`` searches; one JSON line out."""
    import statistics

    from app.settings import Settings
    from app.web import create_app
    from loadtests.stats import percentile
    from loadtests.workload import build_workload, default_queries, deal_order, load_queries, mint_tokens

    settings = Settings.from_env(data_dir=data_dir, jwt_secret="s" * 40)
    workload = build_workload(load_queries(default_queries()), [])
    personas = deal_order(workload)
    tokens = mint_tokens(personas, settings)
    app = create_app(settings)
    parts = app.extensions["hybrid"]
    _ = parts.encoder.model_version  # the model, loaded before the baseline
    before = rss_bytes()
    info = parts.backend.live_index()
    client = app.test_client()
    asked = [(persona, text) for persona in personas for text in workload[persona]]
    first = client.post("/v1/search", json={"query": asked[0][1]}, headers={"Authorization": f"Bearer {tokens[asked[0][0]]}"})
    assert first.status_code == 200, first.json
    loaded = rss_bytes()
    stages: dict[str, list[float]] = {}
    cpu = time.process_time()
    for persona, text in (asked[1:] * (1 + queries // max(1, len(asked))))[:queries]:
        answer = client.post("/v1/search", json={"query": text, "rerank": {"enabled": False}},
                             headers={"Authorization": f"Bearer {tokens[persona]}"}).json
        for stage, ms in answer["timings_ms"].items():
            stages.setdefault(stage, []).append(float(ms))
    cpu_ms = (time.process_time() - cpu) * 1000 / queries
    summary = {stage: (percentile(sorted(v), 50), percentile(sorted(v), 95)) for stage, v in stages.items()}
    return {
        "chunks": info.chunks, "rss_per_chunk": (loaded - before) / max(1, info.chunks),
        "cpu_ms": cpu_ms, "stages": summary, "mean_total": statistics.fmean(stages["total"]),
    }


def disk_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.measure:
        print(json.dumps(measure(args.measure, args.queries)))
        return 0
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        out = args.root / f"scale-{size}"
        started = time.perf_counter()
        subprocess.run([sys.executable, str(ROOT / "scripts" / "make_large_index.py"), "--out", str(out),
                        "--chunks", str(size), "--force"], check=True, stdout=subprocess.DEVNULL)
        build_s = time.perf_counter() - started
        disk = disk_bytes(out)
        measured = subprocess.run([sys.executable, __file__, "--measure", str(out), "--queries", str(args.queries)],
                                  check=True, capture_output=True, text=True)
        result = json.loads(measured.stdout.strip().splitlines()[-1])
        rows.append((size, build_s, disk / size, result))
        stages = result["stages"]
        print(f"{size:>9} chunks: build {build_s:6.0f} s, disk {disk / size:6.0f} B/chunk, "
              f"RSS {result['rss_per_chunk']:6.0f} B/chunk; p50/p95 ms: embed {stages['embed'][0]:.1f}/{stages['embed'][1]:.1f}, "
              f"lexical {stages['lexical'][0]:.1f}/{stages['lexical'][1]:.1f}, vector {stages['vector'][0]:.1f}/{stages['vector'][1]:.1f}, "
              f"fuse {stages['fuse'][0]:.1f}/{stages['fuse'][1]:.1f}, total {stages['total'][0]:.1f}/{stages['total'][1]:.1f}; "
              f"CPU {result['cpu_ms']:.1f} ms/search", flush=True)
        if not args.keep:
            shutil.rmtree(out, ignore_errors=True)
    if len(rows) > 1:
        small, large = rows[-2], rows[-1]
        for stage in ("total", "lexical", "vector"):
            ratio = large[3]["stages"][stage][0] / max(1e-9, small[3]["stages"][stage][0])
            print(f"{stage} p50 at {large[0]} chunks is {ratio:.2f}x the p50 at {small[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
