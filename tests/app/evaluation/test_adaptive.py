"""Query-adaptive fusion CV: same folds as the static tuner, choices made on training queries only."""

from __future__ import annotations

import numpy as np

from app.evaluation.adaptive import cross_validate_adaptive, query_features
from app.evaluation.tuning import LegMatrix


def test_a_constant_feature_reduces_to_the_static_tuner():
    rng = np.random.default_rng(0)
    scores = rng.uniform(size=(12, 60))
    groups = np.repeat([0, 1], 30)
    result = cross_validate_adaptive(scores, groups, {"constant": np.ones(60)}, folds=5, seed=2)
    assert result.adaptive_oof == result.static_oof


def test_an_informative_feature_helps_out_of_fold():
    # Config 0 is right for queries with a high feature, config 1 for the rest.
    feature = np.tile(np.linspace(0, 1, 30), 2)
    scores = np.vstack([np.where(feature > 0.5, 1.0, 0.0), np.where(feature > 0.5, 0.0, 0.9)])
    result = cross_validate_adaptive(scores, np.repeat([0, 1], 30), {"f": feature}, folds=5)
    assert result.adaptive_oof > result.static_oof + 0.2


def test_features_are_per_query():
    runs = {"q1": {"lexical": [("a", 3.0), ("b", 1.0)], "vector": [("a", 0.9), ("c", 0.8)]}, "q2": {"lexical": [], "vector": []}}
    matrix = LegMatrix.build(runs, {"q1": {"a": 1}, "q2": {"b": 1}}, depth=10)
    features = query_features(matrix)
    assert features["leg_agreement"].tolist() == [0.1, 0.0]
    assert features["lexical_gap"].tolist() == [2 / 3, 0.0]
