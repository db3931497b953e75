"""Rerank latency on this machine: pairs/s and p50/p95 per depth, fp32 vs int8.

Passages fill the configured max length (the worst case the budget must
absorb). Prints one line per variant and depth. With ``--concurrent N``, N
processes rerank at the same time (as N busy workers would) and the line pools
their latencies; pairs/s is then the machine's total.

    python scripts/bench_rerank.py [--model-dir DIR] [--threads N] [--concurrent N] [--repeats 30]
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.rerank.runtime import VARIANT_FILES, Reranker  # noqa: E402
from app.settings import Settings  # noqa: E402

WORDS = ("wing", "lift", "drag", "boundary", "layer", "flow", "pressure", "index", "library", "catalogue", "query", "retrieval",
         "compiler", "algorithm", "memory", "sorting", "heat", "transfer", "shock", "wave", "surface", "model", "system", "data")
QUERY = "pressure distribution on a swept wing in supersonic flow"


def latencies(args: argparse.Namespace, variant: str, seed: int, start: Any) -> dict[int, list[float]]:
    """Milliseconds per rerank at each depth, after waiting at ``start`` (a barrier)."""
    settings = Settings.from_env()
    rng = random.Random(seed)
    pool = [" ".join(rng.choice(WORDS) for _ in range(args.max_length)) for _ in range(64)]
    reranker = Reranker(args.model_dir, variant=variant, threads=args.threads, max_length=args.max_length,
                        batch_size=settings.rerank_batch_size)
    start.wait()
    measured: dict[int, list[float]] = {}
    for depth in args.depths:
        times = measured.setdefault(depth, [])
        for _ in range(args.repeats):
            passages = rng.sample(pool, depth) if depth <= len(pool) else [rng.choice(pool) for _ in range(depth)]
            began = time.perf_counter()
            reranker.score(QUERY, passages)
            times.append((time.perf_counter() - began) * 1000)
    return measured


def _worker(args: argparse.Namespace, variant: str, seed: int, start: Any, results: Any) -> None:
    results.put(latencies(args, variant, seed, start))


def concurrent_latencies(args: argparse.Namespace, variant: str) -> dict[int, list[float]]:
    """``latencies`` in ``args.concurrent`` processes at once, pooled per depth."""
    if args.concurrent == 1:
        return latencies(args, variant, 0, multiprocessing.Barrier(1))
    context = multiprocessing.get_context("spawn")  # onnxruntime's threads do not survive a fork
    start, results = context.Barrier(args.concurrent), context.Queue()
    workers = [context.Process(target=_worker, args=(args, variant, seed, start, results)) for seed in range(args.concurrent)]
    for worker in workers:
        worker.start()
    pooled: dict[int, list[float]] = {}
    for _ in workers:
        for depth, times in results.get().items():
            pooled.setdefault(depth, []).extend(times)
    for worker in workers:
        worker.join()
    return pooled


def main() -> int:
    settings = Settings.from_env()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-dir", type=Path, default=settings.rerank_model_dir)
    parser.add_argument("--threads", type=int, default=settings.rerank_onnx_threads)
    parser.add_argument("--concurrent", type=int, default=1, help="processes reranking at once (default 1)")
    parser.add_argument("--max-length", type=int, default=settings.rerank_max_length)
    parser.add_argument("--depths", type=lambda s: [int(d) for d in s.split(",")], default=[10, 20, 50])
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    if args.concurrent < 1 or args.threads < 1:
        parser.error("--concurrent and --threads must be at least 1")
    print(f"model {args.model_dir}  max_length {args.max_length}  threads {args.threads}  "
          f"batch {settings.rerank_batch_size}  concurrent {args.concurrent}")
    for variant, name in VARIANT_FILES.items():
        if not (args.model_dir / name).is_file():
            print(f"{variant:5s} not exported in {args.model_dir} (skipped)")
            continue
        for depth, times in concurrent_latencies(args, variant).items():
            times.sort()
            p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
            wall_per_rerank = statistics.fmean(times) / args.concurrent
            print(f"{variant:5s} depth {depth:3d}: {depth * 1000 / wall_per_rerank:7.0f} pairs/s  "
                  f"p50 {statistics.median(times):7.1f} ms  p95 {p95:7.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
