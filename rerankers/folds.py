"""Leave-one-collection-out validation of the trained reranker.

For each held-out collection: train on the other two (judged pairs and
title → text pairs of their corpora only), export int8, then on the held-out
judged queries compare nDCG@10 of the hybrid ranking with the hybrid ranking
whose top ``depth`` documents are reordered by the cross-encoder. No figure
comes from a query, or a corpus, the model was trained on.

    python scripts/rerank_folds.py --configs 2x128,4x128,2x256 --depths 10,20,50
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import time
from pathlib import Path
from typing import Sequence

import numpy as np

from app.evaluation.metrics import ndcg
from app.settings import PROJECT_ROOT, Settings
from rerankers.collections import COLLECTIONS, Collection, load_collection
from rerankers.export import export_cross_encoder
from rerankers.firststage import HybridRetriever, MiniLMEmbedder
from rerankers.runtime import Reranker
from rerankers.train import TrainConfig, train

WORK_DIR = PROJECT_ROOT / "data" / "rerankers" / "folds"
CANDIDATES = 100


def ndcg_at_10(ranked: Sequence[str], gains: dict[str, int]) -> float:
    """trec_eval-style nDCG@10 with the judged grades as gains (the workbench's metric)."""
    grades = np.array([[gains.get(d, 0) for d in ranked[:10]]], dtype=np.float64)
    ideal = np.array([sorted(gains.values(), reverse=True)[:10]], dtype=np.float64)
    return float(ndcg(grades, ideal, k=10)[0])


def reorder(ranked: Sequence[str], scores: Sequence[float]) -> list[str]:
    """The head by rerank score (ties by fused rank), then the untouched tail."""
    head = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    return [ranked[i] for i in head] + list(ranked[len(scores) :])


def evaluate(collection: Collection, ranked: dict[str, list[str]], reranker: Reranker, depths: Sequence[int]) -> list[dict]:
    """Per depth: mean nDCG@10 of hybrid and reranked; rerank latency at the deepest depth.

    Pairs are scored once, at the deepest depth, and shallower depths reorder
    the first ``depth`` of those scores (a pair's score does not depend on its
    neighbours, up to int8 activation-range noise); this saves re-scoring on
    starved shared cores, so latency is only measured for the deepest depth.
    """
    deepest = max(depths)
    hybrid = statistics.fmean(ndcg_at_10(ranked[q], collection.qrels[q]) for q in collection.queries)
    values: dict[int, list[float]] = {d: [] for d in depths}
    times = []
    for qid, query in collection.queries.items():
        docs = ranked[qid]
        began = time.perf_counter()
        scores = reranker.score(query, [collection.passage(d) for d in docs[:deepest]])
        times.append((time.perf_counter() - began) * 1000)
        for depth in depths:
            values[depth].append(ndcg_at_10(reorder(docs, scores[:depth]), collection.qrels[qid]))
    times.sort()
    rows = []
    for depth in depths:
        timed = depth == deepest
        rows.append({
            "depth": depth, "queries": len(values[depth]), "ndcg_hybrid": round(hybrid, 4),
            "ndcg_rerank": round(statistics.fmean(values[depth]), 4), "delta": round(statistics.fmean(values[depth]) - hybrid, 4),
            "p50_ms": round(times[len(times) // 2], 1) if timed else None,
            "p95_ms": round(times[min(len(times) - 1, int(len(times) * 0.95))], 1) if timed else None,
        })
    return rows


def run(configs: Sequence[tuple[int, int]], depths: Sequence[int], base: TrainConfig, threads: int, train_threads: int, out: Path,
        held_out: Sequence[str] = COLLECTIONS) -> list[dict]:
    """The ``held_out`` folds for all ``(layers, max_length)`` configs; appends rows to ``out``."""
    embedder = MiniLMEmbedder()
    results = []
    for held in held_out:
        collection = load_collection(held)
        ranked = HybridRetriever(collection, embedder).search_many(collection.queries, k=CANDIDATES)
        for layers, max_length in configs:
            config = dataclasses.replace(base, collections=tuple(c for c in COLLECTIONS if c != held), layers=layers, max_length=max_length)
            work = WORK_DIR / f"{held}-L{layers}-len{max_length}-{config.digest()}"
            print(f"[fold] held out {held}: {layers} layers, {max_length} tokens", flush=True)
            model = train(config, work, threads=train_threads)
            onnx_dir = work / "onnx"
            if not (onnx_dir / "model_card.json").exists():
                export_cross_encoder(model, onnx_dir, max_length=max_length, variants=("int8",))
            reranker = Reranker(onnx_dir, variant="int8", threads=threads, max_length=max_length)
            for row in evaluate(collection, ranked, reranker, depths):
                row = {"held_out": held, "layers": layers, "max_length": max_length, "threads": threads, **row}
                print(json.dumps(row), flush=True)
                with open(out, "a") as handle:
                    handle.write(json.dumps(row) + "\n")
                results.append(row)
    return results


def table(rows: Sequence[dict]) -> str:
    """Markdown: one line per fold row, then the mean over folds per config and depth."""
    lines = ["| held out | layers | max len | depth | nDCG@10 hybrid | + rerank | Δ | rerank p50 ms | p95 ms |", "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['held_out']} | {r['layers']} | {r['max_length']} | {r['depth']} | {r['ndcg_hybrid']:.4f} | {r['ndcg_rerank']:.4f} | {r['delta']:+.4f} | {r['p50_ms'] or '–'} | {r['p95_ms'] or '–'} |")
    keys = sorted({(r["layers"], r["max_length"], r["depth"]) for r in rows})
    for layers, length, depth in keys:
        group = [r for r in rows if (r["layers"], r["max_length"], r["depth"]) == (layers, length, depth)]
        lines.append(
            f"| **mean of {len(group)} folds** | {layers} | {length} | {depth} | {statistics.fmean(r['ndcg_hybrid'] for r in group):.4f} | "
            f"{statistics.fmean(r['ndcg_rerank'] for r in group):.4f} | {statistics.fmean(r['delta'] for r in group):+.4f} | "
            f"{_median([r['p50_ms'] for r in group])} | {_max([r['p95_ms'] for r in group])} |"
        )
    return "\n".join(lines)


def _median(values: Sequence[float | None]) -> float | str:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else "–"


def _max(values: Sequence[float | None]) -> float | str:
    known = [v for v in values if v is not None]
    return max(known) if known else "–"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--configs", default="2x128", help="comma-separated LAYERSxMAXLEN")
    parser.add_argument("--depths", default="10,20,50")
    parser.add_argument("--max-groups", type=int, default=TrainConfig.max_groups)
    parser.add_argument("--title-pairs", type=int, default=TrainConfig.title_pairs)
    parser.add_argument("--threads", type=int, default=Settings.from_env().onnx_threads, help="onnxruntime threads when timing")
    parser.add_argument("--train-threads", type=int, default=2)
    parser.add_argument("--held-out", default=",".join(COLLECTIONS), help="folds to run (run them as parallel processes if you like)")
    parser.add_argument("--out", type=Path, default=WORK_DIR / "results.jsonl")
    parser.add_argument("--table-only", action="store_true", help="print the table from --out and stop")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if not args.table_only:
        import torch

        torch.set_num_threads(args.train_threads)
        configs = [tuple(int(x) for x in c.split("x")) for c in args.configs.split(",")]
        args.out.parent.mkdir(parents=True, exist_ok=True)
        base = TrainConfig(max_groups=args.max_groups, title_pairs=args.title_pairs)
        run(configs, [int(d) for d in args.depths.split(",")], base, args.threads, args.train_threads, args.out, args.held_out.split(","))
    rows = [json.loads(line) for line in open(args.out)]
    print(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
