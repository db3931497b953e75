"""Which fusion default holds on collections it was not chosen on: leave one collection out.

    python scripts/fusion_defaults.py [--metric ndcg@10] [--depth N] [--depths 100,200,400,1000]
        [--leg-depths 400:400,400:200] DATASET_DIR...

For each held-out collection, every rule for picking the default is applied to
the other collections only, and the pick is scored on the held-out one. The
rules range from fixed candidates (nothing fitted) to a full sweep of weights;
the table also gives each leg alone, since the default must not fall below its
better leg anywhere. A second table does the same for the fusion depth (how many
hits each leg contributes) with linear min-max at equal weights, and a third
with each leg at its own depth (the vector leg's depth is what its graph walk
costs: loadtests/README.md, "What the fusion depth costs"). Leg lists come from the evaluation cache
(``app.evaluation.legs_cache``), so a run after ``hybrid-search eval`` is quick.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.commands.evaluate import open_index  # noqa: E402
from app.evaluation.judgments import load_beir  # noqa: E402
from app.evaluation.legs_cache import leg_runs  # noqa: E402
from app.evaluation.metrics import parse_metric  # noqa: E402
from app.evaluation.tuning import LegMatrix, grid, group_means, sweep  # noqa: E402
from app.profiles import FusionConfig  # noqa: E402
from app.settings import Settings  # noqa: E402

EQUAL = {"lexical": 0.5, "vector": 0.5}
#: Fixed candidates: each family at equal weights, as a default ships untuned.
FIXED = {
    "rrf k=60": FusionConfig(method="rrf", weights=EQUAL, rank_constant=60),
    "linear min-max": FusionConfig(method="linear", normalization="min_max", weights=EQUAL),
    "linear z-score": FusionConfig(method="linear", normalization="z_score", weights=EQUAL),
    "linear l2": FusionConfig(method="linear", normalization="l2", weights=EQUAL),
}
LEGS_ALONE = {
    "lexical alone": FusionConfig(method="linear", normalization="min_max", weights={"lexical": 1.0, "vector": 0.0}),
    "vector alone": FusionConfig(method="linear", normalization="min_max", weights={"lexical": 0.0, "vector": 1.0}),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("datasets", nargs="+")
    parser.add_argument("--metric", default="ndcg@10")
    parser.add_argument("--depth", type=int, default=None)
    parser.add_argument("--depths", default="100,200,400,1000", help="fusion depths the second table compares")
    parser.add_argument("--leg-depths", default="400:400,400:200,400:100,200:200,100:100",
                        help="lexical:vector depth pairs the third table compares")
    args = parser.parse_args()
    settings = Settings.from_env()
    metric, depth = parse_metric(args.metric), args.depth or settings.default_depth
    datasets = [load_beir(path) for path in args.datasets]
    names = [dataset.name for dataset in datasets]
    matrices = leg_matrices(datasets, settings, depth)
    groups = np.concatenate([np.full(len(m.query_ids), g) for g, m in enumerate(matrices)])

    def with_depth(configs: dict[str, FusionConfig]) -> dict[str, FusionConfig]:
        return {label: FusionConfig(**{**config.__dict__, "depth": depth}) for label, config in configs.items()}

    rules = {
        "fixed: pick among the four families at equal weights": list(with_depth(FIXED).values()),
        "sweep: rrf weights and k": grid("rrf", FusionConfig(depth=depth)),
        "sweep: linear weights and normalisation": grid("linear", FusionConfig(depth=depth)),
        "sweep: both": grid("rrf", FusionConfig(depth=depth)) + grid("linear", FusionConfig(depth=depth)),
    }
    fixed_rows = with_depth({**LEGS_ALONE, **FIXED})
    header = "| default | " + " | ".join(names) + " | mean |"
    print(f"{metric} per collection; a rule's pick is made without the collection it is scored on\n")
    print(header)
    print("|" + "---|" * (len(names) + 2))
    for label, config in fixed_rows.items():
        scores = sweep(matrices, [config], metric)[0]
        per = [scores[groups == g].mean() for g in range(len(names))]
        print(f"| {label} | " + " | ".join(f"{v:.4f}" for v in per) + f" | {np.mean(per):.4f} |")
    for label, configs in rules.items():
        scores = sweep(matrices, configs, metric)
        per, picks = [], []
        for g in range(len(names)):
            train = groups != g
            chosen = int(np.argmax(group_means(scores[:, train], groups[train])))
            per.append(scores[chosen, groups == g].mean())
            picks.append(describe(configs[chosen]))
        print(f"| LOCO {label} | " + " | ".join(f"{v:.4f}" for v in per) + f" | {np.mean(per):.4f} |")
        print("|   picks | " + " | ".join(picks) + " | |")

    depths = [int(d) for d in args.depths.split(",")]
    linear = FIXED["linear min-max"]
    print(f"\n{metric} of linear min-max at equal weights by fusion depth\n")
    print("| depth | " + " | ".join(names) + " | mean |")
    print("|" + "---|" * (len(names) + 2))
    by_depth = np.array([
        [sweep([m], [FusionConfig(**{**linear.__dict__, "depth": d})], metric)[0].mean()
         for m in leg_matrices(datasets, settings, d)]
        for d in depths
    ])
    for d, per in zip(depths, by_depth):
        print(f"| {d} | " + " | ".join(f"{v:.4f}" for v in per) + f" | {per.mean():.4f} |")
    held_out = [by_depth[int(np.argmax(np.delete(by_depth, g, axis=1).mean(axis=1))), g] for g in range(len(names))]
    picks = [depths[int(np.argmax(np.delete(by_depth, g, axis=1).mean(axis=1)))] for g in range(len(names))]
    print("| LOCO pick | " + " | ".join(f"{v:.4f} (depth {p})" for v, p in zip(held_out, picks))
          + f" | {np.mean(held_out):.4f} |")

    pairs = [tuple(int(d) for d in pair.split(":")) for pair in args.leg_depths.split(",")]
    deepest = max(d for pair in pairs for d in pair)
    runs = collection_runs(datasets, settings, deepest)
    print(f"\n{metric} of linear min-max at equal weights with each leg at its own depth\n")
    print("| lexical : vector | " + " | ".join(names) + " | mean |")
    print("|" + "---|" * (len(names) + 2))
    for lexical, vector in pairs:
        cut = {"lexical": lexical, "vector": vector}
        per = np.array([
            sweep([LegMatrix.build(truncated(r, cut), d.qrels, max(lexical, vector))],
                  [FusionConfig(**{**linear.__dict__, "depth": max(lexical, vector)})], metric)[0].mean()
            for r, d in zip(runs, datasets)
        ])
        print(f"| {lexical} : {vector} | " + " | ".join(f"{v:.4f}" for v in per) + f" | {per.mean():.4f} |")
    return 0


def truncated(runs: dict, depths: dict[str, int]) -> dict:
    """Each query's leg lists cut to that leg's depth."""
    return {qid: {leg: hits[: depths[leg]] for leg, hits in legs.items()} for qid, legs in runs.items()}


def collection_runs(datasets: list, settings: Settings, depth: int) -> list[dict]:
    """Each collection's leg lists to ``depth``, from the evaluation cache."""
    return [leg_runs(open_index(d, settings), d.judged_queries(), depth, progress=False) for d in datasets]


def leg_matrices(datasets: list, settings: Settings, depth: int) -> list[LegMatrix]:
    """Each collection's leg lists to ``depth`` as matrices."""
    return [LegMatrix.build(runs, d.qrels, depth) for runs, d in zip(collection_runs(datasets, settings, depth), datasets)]


def describe(config: FusionConfig) -> str:
    w = config.weights["lexical"] / (config.weights["lexical"] + config.weights["vector"])
    if config.method == "rrf":
        return f"rrf k={config.rank_constant} w={w:.2f}"
    return f"{config.normalization} w={w:.2f}"


if __name__ == "__main__":
    sys.exit(main())
