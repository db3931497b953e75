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
from app.fusion import interpolate
from app.rerank.runtime import Reranker
from app.settings import PROJECT_ROOT, Settings
from reranker_study.collections import COLLECTIONS, Collection, load_collection
from reranker_study.export import export_cross_encoder
from reranker_study.firststage import HybridRetriever, MiniLMEmbedder
from reranker_study.train import TrainConfig, train

WORK_DIR = PROJECT_ROOT / "data" / "rerankers" / "folds"
CANDIDATES = 100
#: Interpolation weights of the fused score tried in every fold (0 = rerank score only).
FUSED_WEIGHTS = (0.0, 0.3, 0.5, 0.7)


def ndcg_at_10(ranked: Sequence[str], gains: dict[str, int]) -> float:
    """trec_eval-style nDCG@10 with the judged grades as gains (the workbench's metric)."""
    grades = np.array([[gains.get(d, 0) for d in ranked[:10]]], dtype=np.float64)
    ideal = np.array([sorted(gains.values(), reverse=True)[:10]], dtype=np.float64)
    return float(ndcg(grades, ideal, k=10)[0])


def reorder(run: Sequence[tuple[str, float]], scores: Sequence[float], fused_weight: float) -> list[str]:
    """The head by (interpolated) rerank score, ties by fused rank, then the untouched tail."""
    head = run[: len(scores)]
    final = interpolate(scores, [score for _, score in head], fused_weight)
    order = sorted(range(len(head)), key=lambda i: (-final[i], i))
    return [head[i][0] for i in order] + [doc for doc, _ in run[len(scores) :]]


def evaluate(
    collection: Collection, runs: dict[str, list[tuple[str, float]]], reranker: Reranker, depths: Sequence[int],
    fused_weights: Sequence[float],
) -> list[dict]:
    """Per depth and fused weight: mean nDCG@10 of hybrid and reranked; latency at the deepest depth.

    Pairs are scored once, at the deepest depth, and shallower depths reorder
    the first ``depth`` of those scores (a pair's score does not depend on its
    neighbours, up to int8 activation-range noise). Latency here is only a
    rough figure; ``scripts/bench_rerank.py`` measures it properly.
    """
    deepest = max(depths)
    hybrid = statistics.fmean(ndcg_at_10([d for d, _ in runs[q]], collection.qrels[q]) for q in collection.queries)
    values: dict[tuple[int, float], list[float]] = {(d, w): [] for d in depths for w in fused_weights}
    times = []
    for qid, query in collection.queries.items():
        run = runs[qid]
        began = time.perf_counter()
        scores = reranker.score(query, [collection.passage(d) for d, _ in run[:deepest]])
        times.append((time.perf_counter() - began) * 1000)
        for depth, weight in values:
            values[depth, weight].append(ndcg_at_10(reorder(run, scores[:depth], weight), collection.qrels[qid]))
    times.sort()
    rows = []
    for (depth, weight), per_query in values.items():
        timed = depth == deepest
        rows.append({
            "depth": depth, "fused_weight": weight, "queries": len(per_query), "ndcg_hybrid": round(hybrid, 4),
            "ndcg_rerank": round(statistics.fmean(per_query), 4), "delta": round(statistics.fmean(per_query) - hybrid, 4),
            "p50_ms": round(times[len(times) // 2], 1) if timed else None,
            "p95_ms": round(times[min(len(times) - 1, int(len(times) * 0.95))], 1) if timed else None,
        })
    return rows


def run(configs: Sequence[tuple[int, int]], depths: Sequence[int], base: TrainConfig, threads: int, train_threads: int, out: Path,
        held_out: Sequence[str] = COLLECTIONS, fused_weights: Sequence[float] = FUSED_WEIGHTS) -> list[dict]:
    """The ``held_out`` folds for all ``(layers, max_length)`` configs; appends rows to ``out``."""
    embedder = MiniLMEmbedder()
    results = []
    for held in held_out:
        collection = load_collection(held)
        runs = HybridRetriever(collection, embedder).search_scored(collection.queries, k=CANDIDATES)
        for layers, max_length in configs:
            config = dataclasses.replace(base, collections=tuple(c for c in COLLECTIONS if c != held), layers=layers, max_length=max_length)
            work = WORK_DIR / f"{held}-L{layers}-len{max_length}-{config.digest()}"
            print(f"[fold] held out {held}: {layers} layers, {max_length} tokens", flush=True)
            model = train(config, work, threads=train_threads)
            onnx_dir = work / "onnx"
            if not (onnx_dir / "model_card.json").exists():
                export_cross_encoder(model, onnx_dir, max_length=max_length, variants=("int8",))
            reranker = Reranker(onnx_dir, variant="int8", threads=threads, max_length=max_length)
            for row in evaluate(collection, runs, reranker, depths, fused_weights):
                row = {"held_out": held, "layers": layers, "max_length": max_length, "threads": threads, **row}
                print(json.dumps(row), flush=True)
                with open(out, "a") as handle:
                    handle.write(json.dumps(row) + "\n")
                results.append(row)
    return results


def table(rows: Sequence[dict]) -> str:
    """Markdown: one line per fold row, the mean over folds per setting, and the honest pick.

    The pick: for each held-out collection, the fused weight that did best on
    the *other* folds' held-out queries, reported on this fold's queries — so
    choosing the weight never looks at the queries it is scored on.
    """
    key = lambda r: (r["layers"], r["max_length"], r["depth"], _weight(r))  # noqa: E731
    lines = ["| held out | layers | max len | depth | fused weight | nDCG@10 hybrid | + rerank | Δ | rerank p50 ms | p95 ms |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in sorted(rows, key=lambda r: (r["held_out"], *key(r))):
        lines.append(f"| {r['held_out']} | {r['layers']} | {r['max_length']} | {r['depth']} | {_weight(r)} | "
                     f"{r['ndcg_hybrid']:.4f} | {r['ndcg_rerank']:.4f} | {r['delta']:+.4f} | {r['p50_ms'] or '–'} | {r['p95_ms'] or '–'} |")
    for layers, length, depth, weight in sorted({key(r) for r in rows}):
        group = [r for r in rows if key(r) == (layers, length, depth, weight)]
        lines.append(
            f"| **mean of {len(group)} folds** | {layers} | {length} | {depth} | {weight} | {statistics.fmean(r['ndcg_hybrid'] for r in group):.4f} | "
            f"{statistics.fmean(r['ndcg_rerank'] for r in group):.4f} | {statistics.fmean(r['delta'] for r in group):+.4f} | "
            f"{_median([r['p50_ms'] for r in group])} | {_max([r['p95_ms'] for r in group])} |"
        )
    for layers, length, depth in sorted({key(r)[:3] for r in rows}):
        picks = held_out_picks([r for r in rows if key(r)[:3] == (layers, length, depth)])
        if picks:
            deltas = ", ".join(f"{held} {r['delta']:+.4f} (w={_weight(r)})" for held, r in picks.items())
            lines.append(f"\n{layers} layers × {length} tokens, depth {depth}: weight picked on the other folds → "
                         f"mean Δ {statistics.fmean(r['delta'] for r in picks.values()):+.4f} ({deltas})")
    return "\n".join(lines)


def held_out_picks(rows: Sequence[dict]) -> dict[str, dict]:
    """Per held-out collection, its row at the fused weight with the best mean Δ on the other folds."""
    folds = sorted({r["held_out"] for r in rows})
    if len(folds) < 2:
        return {}
    picks = {}
    for held in folds:
        others = [r for r in rows if r["held_out"] != held]
        weights = sorted({_weight(r) for r in others})
        best = max(weights, key=lambda w: statistics.fmean(r["delta"] for r in others if _weight(r) == w))
        mine = [r for r in rows if r["held_out"] == held and _weight(r) == best]
        if mine:
            picks[held] = mine[0]
    return picks


def _weight(row: dict) -> float:
    """A row's fused weight (rows written before interpolation existed used the reranker alone)."""
    return row.get("fused_weight", 0.0)


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
    parser.add_argument("--groups-per-step", type=int, default=TrainConfig.groups_per_step)
    parser.add_argument("--learning-rate", type=float, default=TrainConfig.learning_rate)
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
        base = TrainConfig(max_groups=args.max_groups, title_pairs=args.title_pairs,
                           groups_per_step=args.groups_per_step, learning_rate=args.learning_rate)
        run(configs, [int(d) for d in args.depths.split(",")], base, args.threads, args.train_threads, args.out, args.held_out.split(","))
    rows = [json.loads(line) for line in open(args.out)]
    print(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
