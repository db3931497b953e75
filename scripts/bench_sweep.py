"""Benchmark: a 1,000-configuration fusion sweep over cached legs (Cranfield by default).

    python scripts/bench_sweep.py [--dataset ../shared/datasets/cranfield] [--configs 1000]

Legs are retrieved once through the real query path (cached next to the
collection's index); the printed figure is the sweep alone.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from app.components import Components
from app.evaluation.collection import open_collection
from app.evaluation.judgments import load_beir
from app.evaluation.legs_cache import leg_runs
from app.evaluation.metrics import parse_metric
from app.evaluation.tuning import LegMatrix, sweep
from app.profiles import FusionConfig
from app.settings import Settings

DATASETS = Settings.from_env().datasets_dir


def configs(n: int, depth: int) -> list[FusionConfig]:
    """n configurations: five families (3 normalisations, 2 rank constants) × n/5 weights."""
    weights = np.linspace(0.0, 1.0, n // 5)
    families = [("linear", norm, 60) for norm in ("min_max", "z_score", "l2")] + [("rrf", "min_max", 10), ("rrf", "min_max", 60)]
    return [
        FusionConfig(method=m, normalization=norm, rank_constant=k, depth=depth,
                     weights={"lexical": float(w), "vector": float(1 - w)})
        for m, norm, k in families for w in weights
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=DATASETS / "cranfield")
    parser.add_argument("--configs", type=int, default=1000)
    parser.add_argument("--metric", default="ndcg@10")
    args = parser.parse_args()
    settings = Settings.from_env()
    dataset = load_beir(args.dataset)
    collection = open_collection(dataset, Components(settings).batch_encoder, settings)
    depth = settings.default_depth
    began = time.perf_counter()
    runs = leg_runs(collection, dataset.judged_queries(), depth)
    legs_s = time.perf_counter() - began
    matrix = LegMatrix.build(runs, dataset.qrels, depth)
    grid = configs(args.configs, depth)
    began = time.perf_counter()
    scores = sweep([matrix], grid, parse_metric(args.metric))
    seconds = time.perf_counter() - began
    best = int(np.argmax(scores.mean(axis=1)))
    print(f"{dataset.name}: {len(matrix.query_ids)} queries, legs {legs_s:.1f} s (cached after the first run)")
    print(f"sweep: {len(grid)} configurations in {seconds:.2f} s "
          f"({len(grid) / seconds:.0f} configs/s, {len(grid) * len(matrix.query_ids) / seconds:.0f} query-evaluations/s)")
    print(f"best {args.metric} = {scores[best].mean():.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
