"""Query-adaptive fusion (experiment): pick the fusion weight per query from cheap features.

Low-capacity on purpose: one scale-free feature of the legs' answers, cut into
tertiles on the training queries, with the best static configuration chosen
per tertile. Which feature to use is itself chosen on the training folds, so
the out-of-fold score is honest and directly comparable to the static tuner's
(same folds). It ships only if it beats the best static weight out of fold.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.evaluation.tuning import LegMatrix, assign_folds, group_means

TOP = 10


def query_features(matrix: LegMatrix) -> dict[str, np.ndarray]:
    """Per-query features that need no extra retrieval and are comparable across collections."""
    lex_ranks, vec_ranks = matrix.ranks["lexical"], matrix.ranks["vector"]
    both = ((lex_ranks <= TOP) & (vec_ranks <= TOP)).sum(axis=1)
    def gap(scores: list[list[float]]) -> np.ndarray:
        # Relative drop from the first to the TOP-th hit: a peaked list is a confident leg.
        return np.array([(s[0] - s[min(TOP, len(s)) - 1]) / abs(s[0]) if s and s[0] else 0.0 for s in scores])
    return {
        "leg_agreement": both / TOP,
        "lexical_gap": gap(matrix.raw["lexical"]),
        "vector_gap": gap(matrix.raw["vector"]),
        "lexical_hits": np.array([len(s) for s in matrix.raw["lexical"]], dtype=float),
    }


@dataclass(frozen=True)
class AdaptiveCV:
    static_oof: float
    adaptive_oof: float
    features_chosen: list[str]


def _fit(scores: np.ndarray, groups: np.ndarray, feature: np.ndarray) -> tuple[np.ndarray, list[int], float]:
    """Tertile edges and the best configuration per tertile, and the in-sample score."""
    edges = np.quantile(feature, [1 / 3, 2 / 3])
    bins = np.searchsorted(edges, feature, side="right")
    chosen, total = [], np.zeros(scores.shape[1])
    for b in range(3):
        members = bins == b
        c = int(np.argmax(scores[:, members].mean(axis=1))) if members.any() else int(np.argmax(group_means(scores, groups)))
        chosen.append(c)
        total[members] = scores[c, members]
    return edges, chosen, float(group_means(total[None, :], groups)[0])


def cross_validate_adaptive(scores: np.ndarray, groups: np.ndarray, features: dict[str, np.ndarray],
                            folds: int = 5, seed: int = 0) -> AdaptiveCV:
    """Out-of-fold scores of the adaptive and the static procedure on the same folds."""
    fold_of = assign_folds(groups, folds, seed)
    static, adaptive = np.zeros(scores.shape[1]), np.zeros(scores.shape[1])
    picked = []
    for f in range(folds):
        test, train = fold_of == f, fold_of != f
        if not test.any():
            continue
        static_c = int(np.argmax(group_means(scores[:, train], groups[train])))
        static[test] = scores[static_c, test]
        fits = {name: _fit(scores[:, train], groups[train], x[train]) for name, x in features.items()}
        name = max(fits, key=lambda n: fits[n][2])
        edges, chosen, _ = fits[name]
        bins = np.searchsorted(edges, features[name][test], side="right")
        adaptive[test] = scores[np.asarray(chosen)[bins], np.flatnonzero(test)]
        picked.append(name)
    macro = lambda v: float(group_means(v[None, :], groups)[0])  # noqa: E731
    return AdaptiveCV(macro(static), macro(adaptive), picked)
