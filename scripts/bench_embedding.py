"""Embedding latency and throughput on this machine, fp32 vs int8.

* single query: p50/p95 ms of ``embed_query`` (cache off, so every call runs
  the model) over the sample queries;
* by length: CPU ms of one uncached query of each of ``--lengths`` word
  pieces (prefixes of the passages below), since a query costs by its length;
* passages: passages/s of ``embed_passages`` at ``--batch-size`` over
  chunk-sized passages (~200 word pieces, like the chunker's output) cut from
  the sample corpus.

Both after a warm-up, at ``--threads`` onnxruntime threads. Prints figures,
asserts nothing. On a shared machine wall time swings with the neighbours'
load, so CPU time (this process's) is printed alongside: per query in ms, and
passages per CPU second.

    python scripts/bench_embedding.py [--model-dir DIR] [--threads 1] [--export] [--lengths 8,16,32,64,128,256]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.embedding import VARIANT_FILES, Encoder, load_encoder  # noqa: E402
from app.settings import PROJECT_ROOT, Settings  # noqa: E402
from loadtests.stats import percentile  # noqa: E402

SAMPLE = PROJECT_ROOT / "sample_data"
FALLBACK_QUERIES = ["how do I rotate an API key", "can't sign in with okta", "refund policy", "export data to csv"]


def load_queries() -> list[str]:
    """The sample queries (real, short), or a few stand-ins without sample data."""
    path = SAMPLE / "queries.jsonl"
    if not path.is_file():
        return FALLBACK_QUERIES
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line)["text"] for line in handle if line.strip()]


def load_passages(encoder: Encoder, count: int, max_tokens: int) -> list[str]:
    """``count`` passages of up to ``max_tokens`` word pieces, packed from corpus paragraphs."""
    bodies: list[str] = []
    path = SAMPLE / "corpus.jsonl"
    if path.is_file():
        with open(path, encoding="utf-8") as handle:
            bodies = [json.loads(line)["body"] for line in handle if line.strip()]
    if not bodies:
        bodies = [" ".join(FALLBACK_QUERIES * 20)]
    passages: list[str] = []
    for body in bodies:
        current: list[str] = []
        used = 0
        for paragraph in (p.strip() for p in body.split("\n\n")):
            tokens = encoder.count_tokens(paragraph)
            if current and used + tokens > max_tokens:
                passages.append("\n\n".join(current))
                current, used = [], 0
            current.append(paragraph)
            used += tokens
        if current:
            passages.append("\n\n".join(current))
        if len(passages) >= count:
            break
    while len(passages) < count:  # a small corpus: repeat it
        passages += passages[: count - len(passages)]
    return passages[:count]


def bench_queries(encoder: Encoder, queries: list[str], repeats: int) -> dict[str, float]:
    """p50/p95 wall milliseconds of single-query embedding, and the p50 of CPU milliseconds."""
    for query in queries[:20]:  # warm-up: allocator arenas, kernel selection
        encoder.embed_query(query)
    wall, cpu = [], []
    for i in range(repeats):
        began, began_cpu = time.perf_counter(), time.process_time()
        encoder.embed_query(queries[i % len(queries)])
        wall.append((time.perf_counter() - began) * 1000)
        cpu.append((time.process_time() - began_cpu) * 1000)
    wall.sort()
    return {"p50": statistics.median(wall), "p95": percentile(wall, 95), "cpu_p50": statistics.median(cpu)}


def bench_lengths(encoder: Encoder, text: str, lengths: list[int], repeats: int) -> dict[int, float]:
    """CPU milliseconds of one uncached query of each length (word pieces, special tokens included)."""
    words = text.split()
    out = {}
    for length in lengths:
        # The longest prefix of the text that tokenises to at most ``length`` pieces.
        low, high = 1, len(words)
        while low < high:
            middle = (low + high + 1) // 2
            if encoder.count_tokens(" ".join(words[:middle])) + 2 <= length:
                low = middle
            else:
                high = middle - 1
        query = " ".join(words[:low])
        encoder.embed_query(query)
        began = time.process_time()
        for _ in range(repeats):
            encoder.embed_query(query)
        out[encoder.count_tokens(query) + 2] = (time.process_time() - began) * 1000 / repeats
    return out


def bench_passages(encoder: Encoder, passages: list[str], batch_size: int, rounds: int) -> dict[str, float]:
    """Best-of-``rounds`` passages per wall second and per CPU second (a shared machine only slows us down)."""
    encoder.embed_passages(passages[:batch_size], batch_size=batch_size)  # warm-up
    best_wall = best_cpu = 0.0
    for _ in range(rounds):
        began, began_cpu = time.perf_counter(), time.process_time()
        encoder.embed_passages(passages, batch_size=batch_size)
        best_wall = max(best_wall, len(passages) / (time.perf_counter() - began))
        best_cpu = max(best_cpu, len(passages) / max(time.process_time() - began_cpu, 1e-9))
    return {"wall": best_wall, "cpu": best_cpu}


def main() -> int:
    settings = Settings.from_env()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-dir", type=Path, default=settings.model_dir)
    parser.add_argument("--threads", type=int, default=1, help="onnxruntime intra-op threads (default 1)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--queries", type=int, default=300, help="timed single-query calls per variant")
    parser.add_argument("--passages", type=int, default=64, help="passages per throughput round")
    parser.add_argument("--rounds", type=int, default=3, help="throughput rounds per variant (best is printed)")
    parser.add_argument("--max-tokens", type=int, default=settings.chunk_max_tokens, help="word pieces per passage")
    parser.add_argument("--export", action="store_true", help="export the models first if they are missing or stale")
    parser.add_argument("--lengths", default="8,16,32,64,128,256",
                        help="query lengths in word pieces whose CPU cost is printed (empty: none)")
    args = parser.parse_args()

    if args.export:
        from app.model_export import export_embedding_model

        export_embedding_model(args.model_dir)
    queries = load_queries()
    print(f"model {args.model_dir}  threads {args.threads}  batch {args.batch_size}")
    passages: list[str] | None = None
    for variant in VARIANT_FILES:
        encoder = load_encoder(args.model_dir, variant=variant, threads=args.threads, cache_size=0)
        if passages is None:
            passages = load_passages(encoder, args.passages, args.max_tokens)
            mean_tokens = statistics.fmean(min(encoder.count_tokens(p), encoder.max_length) for p in passages)
            print(f"{len(queries)} sample queries; {len(passages)} passages of {mean_tokens:.0f} word pieces on average")
        query = bench_queries(encoder, queries, args.queries)
        rate = bench_passages(encoder, passages, args.batch_size, args.rounds)
        print(
            f"{variant:5s} query p50 {query['p50']:6.2f} ms  p95 {query['p95']:6.2f} ms  (cpu p50 {query['cpu_p50']:6.2f} ms)"
            f" | passages {rate['wall']:6.1f}/s at batch {args.batch_size}  ({rate['cpu']:6.1f}/cpu-s)  {encoder.model_version}"
        )
        if args.lengths:
            costs = bench_lengths(encoder, " ".join(passages), [int(n) for n in args.lengths.split(",")], 30)
            print(f"{variant:5s} CPU ms per query by word pieces: "
                  + "  ".join(f"{pieces}: {ms:.2f}" for pieces, ms in costs.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
