"""The in-memory sweep matches app.fusion exactly; CV never scores a fold with its own choice."""

from __future__ import annotations

import numpy as np
import pytest

from app.evaluation.metrics import evaluate_rankings, parse_metric
from app.evaluation.tuning import (
    LegMatrix,
    assign_folds,
    cross_validate,
    grid,
    leave_one_collection_out,
    sweep,
)
from app.fusion import fuse
from app.profiles import FusionConfig


def random_runs(seed: int, queries: int = 12, depth: int = 15):
    rng = np.random.default_rng(seed)
    runs, qrels = {}, {}
    for q in range(queries):
        qid = f"q{q:02d}"
        legs = {}
        for leg in ("lexical", "vector"):
            docs = [f"d{i:03d}" for i in rng.choice(40, size=int(rng.integers(0, depth + 1)), replace=False)]
            # Rounded scores so ties (within and across legs) are common.
            scores = sorted(np.round(rng.uniform(0, 3, len(docs)), 1).tolist(), reverse=True)
            legs[leg] = list(zip(docs, scores))
        runs[qid] = legs
        qrels[qid] = {f"d{i:03d}": int(rng.integers(0, 3)) for i in rng.choice(40, size=6, replace=False)}
    return runs, qrels


CONFIGS = [
    FusionConfig(method="rrf", weights={"lexical": 1.0, "vector": 1.0}, rank_constant=60),
    FusionConfig(method="rrf", weights={"lexical": 0.3, "vector": 0.7}, rank_constant=1),
    FusionConfig(method="rrf", weights={"lexical": 0.0, "vector": 1.0}, rank_constant=5),
    *[FusionConfig(method="linear", normalization=n, weights={"lexical": w, "vector": 1 - w})
      for n in ("min_max", "z_score", "l2") for w in (0.0, 0.35, 0.5, 1.0)],
]


@pytest.mark.parametrize("seed", range(4))
def test_matrix_order_is_app_fusion_order(seed):
    runs, qrels = random_runs(seed)
    matrix = LegMatrix.build(runs, qrels, depth=15)
    for config in CONFIGS:
        ours = matrix.rankings(config, cutoff=100)
        for qid, legs in runs.items():
            expected = fuse(legs, method=config.method, weights=config.weights,
                            normalization=config.normalization, rank_constant=config.rank_constant)
            assert ours[qid] == [hit.doc_id for hit in expected], (config, qid)


def test_matrix_scores_equal_metrics_on_fused_lists():
    runs, qrels = random_runs(9)
    matrix = LegMatrix.build(runs, qrels, depth=15)
    for name in ("ndcg@10", "recall@5", "mrr@10", "map"):
        metric = parse_metric(name)
        for config in CONFIGS:
            rankings = matrix.rankings(config, cutoff=15)
            expected = evaluate_rankings(qrels, rankings, [metric])[name]
            assert matrix.score(config, metric).tolist() == pytest.approx([expected[q] for q in matrix.query_ids])


def test_cv_never_scores_a_fold_with_a_choice_made_on_it():
    rng = np.random.default_rng(3)
    scores = rng.uniform(size=(30, 50))
    groups = np.repeat([0, 1], 25)
    seen: list[np.ndarray] = []

    def spy(train_scores, train_groups, query_index):
        seen.append(query_index.copy())
        return int(np.argmax(train_scores.mean(axis=1)))

    cv = cross_validate(scores, groups, folds=5, seed=1, choose=spy)
    for f, (trained_on, chosen) in enumerate(zip(seen, cv.chosen)):
        test = np.flatnonzero(cv.fold_of_query == f)
        assert not set(trained_on) & set(test)
        assert set(trained_on) | set(test) == set(range(50))
        assert np.array_equal(cv.oof_scores[test], scores[chosen, test])
    # Out-of-fold is never better than the in-sample best on the same scores.
    assert cv.score <= scores.mean(axis=1).max() + 1e-12


def test_folds_are_balanced_within_collections():
    groups = np.array([0] * 10 + [1] * 7)
    folds = assign_folds(groups, 5, seed=0)
    for g in (0, 1):
        counts = np.bincount(folds[groups == g], minlength=5)
        assert counts.max() - counts.min() <= 1


def test_leave_one_collection_out_chooses_on_the_others():
    scores = np.array([[1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 1.0]])
    groups = np.array([0, 0, 1, 1])
    assert leave_one_collection_out(scores, groups) == {0: (1, 0.0), 1: (0, 0.0)}


def test_sweep_shape_and_grid():
    runs, qrels = random_runs(1)
    matrix = LegMatrix.build(runs, qrels, depth=15)
    configs = grid("linear")
    assert len(configs) == 63 and len(grid("rrf")) == 12 * 21
    assert sweep([matrix, matrix], configs, parse_metric("ndcg@10")).shape == (63, 24)
