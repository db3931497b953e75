"""Rerank latency on this machine: pairs/s and p50/p95 per depth, fp32 vs int8.

Passages fill the configured max length (the worst case the budget must
absorb). Prints one line per variant and depth.

    python scripts/bench_rerank.py [--model-dir DIR] [--threads N] [--repeats 30]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.rerank.runtime import (
    VARIANT_FILES,  # noqa: E402
    Reranker,  # noqa: E402
)
from app.settings import Settings  # noqa: E402

WORDS = ("wing", "lift", "drag", "boundary", "layer", "flow", "pressure", "index", "library", "catalogue", "query", "retrieval",
         "compiler", "algorithm", "memory", "sorting", "heat", "transfer", "shock", "wave", "surface", "model", "system", "data")


def main() -> int:
    settings = Settings.from_env()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-dir", type=Path, default=settings.rerank_model_dir)
    parser.add_argument("--threads", type=int, default=settings.onnx_threads)
    parser.add_argument("--max-length", type=int, default=settings.rerank_max_length)
    parser.add_argument("--depths", default="10,20,50")
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    rng = random.Random(0)
    query = "pressure distribution on a swept wing in supersonic flow"
    pool = [" ".join(rng.choice(WORDS) for _ in range(args.max_length)) for _ in range(64)]
    print(f"model {args.model_dir}  max_length {args.max_length}  threads {args.threads}  batch {settings.rerank_batch_size}")
    for variant, name in VARIANT_FILES.items():
        if not (args.model_dir / name).is_file():
            print(f"{variant:5s} not exported in {args.model_dir} (skipped)")
            continue
        reranker = Reranker(args.model_dir, variant=variant, threads=args.threads, max_length=args.max_length,
                            batch_size=settings.rerank_batch_size)
        for depth in (int(d) for d in args.depths.split(",")):
            times = []
            for _ in range(args.repeats):
                passages = rng.sample(pool, depth) if depth <= len(pool) else [rng.choice(pool) for _ in range(depth)]
                began = time.perf_counter()
                reranker.score(query, passages)
                times.append((time.perf_counter() - began) * 1000)
            times.sort()
            p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
            print(f"{variant:5s} depth {depth:3d}: {depth * 1000 / statistics.fmean(times):7.0f} pairs/s  "
                  f"p50 {statistics.median(times):7.1f} ms  p95 {p95:7.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
