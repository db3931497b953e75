"""Fusion sweeps over cached legs, with honest (cross-validated) scores.

:class:`LegMatrix` lays each query's candidates out once — the union of both
legs sorted by doc id, with each leg's normalised score and rank — so that
scoring one configuration is a few array operations over every query at once.
The order it produces is exactly :func:`app.fusion.fuse`'s (same arithmetic,
ties by doc id ascending; the tests check this), so a swept score is the score
the service will get.

The in-sample best of a sweep is optimistic; :func:`cross_validate` reports
what the *procedure* "pick the best configuration on the other folds" scores
on queries it never saw, and :func:`leave_one_collection_out` does the same
with whole collections as folds.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable, Iterable, Mapping, Sequence

import numpy as np

from app.evaluation.metrics import Metric, ideal_matrix, score_matrix
from app.fusion import DEFAULT_RANK_CONSTANT, LEGS, NORMALIZATIONS, normalize
from app.profiles import FusionConfig

#: ``{qid: {leg: [(doc_id, raw_score), ...]}}`` (see :mod:`app.evaluation.legs_cache`).
LegRuns = Mapping[str, Mapping[str, Sequence[tuple[str, float]]]]
#: Lexical weight grid (the vector leg gets 1 - w; only the ratio matters).
WEIGHT_GRID = tuple(round(w, 2) for w in np.linspace(0.0, 1.0, 21))
RANK_CONSTANTS = (1, 2, 5, 10, 20, 30, 40, 60, 80, 100, 150, 200)


@dataclass
class LegMatrix:
    """Candidates of many queries as padded ``[queries, candidates]`` arrays."""

    query_ids: list[str]
    doc_ids: list[list[str]]
    valid: np.ndarray
    grades: np.ndarray
    ideal: np.ndarray
    n_relevant: np.ndarray
    ranks: dict[str, np.ndarray]
    raw: dict[str, list[list[float]]]
    depth: int
    _normalized: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)

    @classmethod
    def build(cls, runs: LegRuns, qrels: Mapping[str, Mapping[str, int]], depth: int) -> "LegMatrix":
        """Lay out ``runs`` for the judged queries (a query with no candidates still counts)."""
        query_ids = sorted(qrels)
        doc_ids: list[list[str]] = []
        for qid in query_ids:
            legs = runs.get(qid, {})
            doc_ids.append(sorted({d for leg in LEGS for d, _ in legs.get(leg, [])[:depth]}))
        width = max((len(d) for d in doc_ids), default=0) or 1
        shape = (len(query_ids), width)
        valid = np.zeros(shape, dtype=bool)
        grades = np.zeros(shape)
        ranks = {leg: np.full(shape, np.inf) for leg in LEGS}
        raw: dict[str, list[list[float]]] = {leg: [] for leg in LEGS}
        for i, (qid, docs) in enumerate(zip(query_ids, doc_ids)):
            column = {d: j for j, d in enumerate(docs)}
            valid[i, : len(docs)] = True
            judged = qrels[qid]
            grades[i, : len(docs)] = [judged.get(d, 0) for d in docs]
            for leg in LEGS:
                hits = runs.get(qid, {}).get(leg, [])[:depth]
                for rank, (doc, _) in enumerate(hits, start=1):
                    ranks[leg][i, column[doc]] = rank
                raw[leg].append([score for _, score in hits])
        ideal, n_relevant = ideal_matrix(qrels, query_ids)
        return cls(query_ids, doc_ids, valid, grades, ideal, n_relevant, ranks, raw, depth)

    def normalized(self, leg: str, method: str) -> np.ndarray:
        """The leg's scores normalised per query by :func:`app.fusion.normalize`; 0 where absent."""
        key = (leg, method)
        if key not in self._normalized:
            out = np.zeros(self.valid.shape)
            present = np.isfinite(self.ranks[leg])
            for i, scores in enumerate(self.raw[leg]):
                if scores:
                    cols = np.flatnonzero(present[i])
                    order = self.ranks[leg][i, cols].argsort()
                    out[i, cols[order]] = normalize(scores, method)  # type: ignore[arg-type]
            self._normalized[key] = out
        return self._normalized[key]

    def fused_scores(self, config: FusionConfig) -> np.ndarray:
        """Fused score per candidate (``-inf`` for padding), as :func:`app.fusion.fuse` computes it."""
        total = np.zeros(self.valid.shape)
        for leg in LEGS:
            w = float(config.weights.get(leg, 0.0))
            if config.method == "rrf":
                total = total + w / (config.rank_constant + self.ranks[leg])  # 1/inf = 0 when absent
            else:
                total = total + w * self.normalized(leg, config.normalization)
        return np.where(self.valid, total, -np.inf)

    def ranked_grades(self, config: FusionConfig, cutoff: int) -> np.ndarray:
        """Grades in fused order, top ``cutoff``; ties go to the smaller doc id like the service."""
        order = np.argsort(-self.fused_scores(config), axis=1, kind="stable")[:, :cutoff]
        return np.take_along_axis(self.grades, order, axis=1)

    def rankings(self, config: FusionConfig, cutoff: int) -> dict[str, list[str]]:
        """Fused doc-id lists (for checks and reports)."""
        order = np.argsort(-self.fused_scores(config), axis=1, kind="stable")[:, :cutoff]
        return {
            qid: [docs[j] for j in row if j < len(docs)]
            for qid, docs, row in zip(self.query_ids, self.doc_ids, order.tolist())
        }

    def score(self, config: FusionConfig, metric: Metric) -> np.ndarray:
        """Per-query ``metric`` of ``config``."""
        cutoff = min(metric.k or self.depth, self.depth)
        return score_matrix(metric, self.ranked_grades(config, cutoff), self.ideal, self.n_relevant)


def grid(method: str, base: FusionConfig | None = None) -> list[FusionConfig]:
    """The standard sweep: normalisation × weight (linear) or rank constant × weight (rrf)."""
    base = base or FusionConfig()
    if method == "linear":
        return [
            FusionConfig(method="linear", normalization=n, weights=_weights(w), rank_constant=base.rank_constant, depth=base.depth)
            for n in NORMALIZATIONS for w in WEIGHT_GRID
        ]
    if method == "rrf":
        return [
            FusionConfig(method="rrf", normalization=base.normalization, weights=_weights(w), rank_constant=k, depth=base.depth)
            for k in RANK_CONSTANTS for w in WEIGHT_GRID
        ]
    raise ValueError(f"unknown fusion method {method!r}; expected linear or rrf")


def _weights(lexical: float) -> dict[str, float]:
    return {"lexical": float(lexical), "vector": float(round(1.0 - lexical, 10))}


def sweep(matrices: Sequence[LegMatrix], configs: Sequence[FusionConfig], metric: Metric,
          progress: Callable[[Iterable], Iterable] = iter) -> np.ndarray:
    """``[configs, queries]`` per-query scores, queries of all matrices concatenated."""
    return np.stack([np.concatenate([m.score(c, metric) for m in matrices]) for c in progress(configs)])


# --- choosing and cross-validation ---------------------------------------------


def group_means(scores: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Macro average: mean over collections of each collection's mean, per configuration."""
    labels = np.unique(groups)
    return np.mean([scores[:, groups == g].mean(axis=1) for g in labels], axis=0)


def best_config(scores: np.ndarray, groups: np.ndarray) -> int:
    """Index of the configuration with the best macro-averaged score (first on ties)."""
    return int(np.argmax(group_means(scores, groups)))


Chooser = Callable[[np.ndarray, np.ndarray, np.ndarray], int]


def _default_chooser(scores: np.ndarray, groups: np.ndarray, query_index: np.ndarray) -> int:
    return best_config(scores, groups)


@dataclass(frozen=True)
class CrossValidation:
    """Out-of-fold result of "pick the best configuration on the training folds"."""

    fold_of_query: np.ndarray
    chosen: list[int]
    oof_scores: np.ndarray
    groups: np.ndarray

    @property
    def score(self) -> float:
        """Macro-averaged out-of-fold score."""
        return float(group_means(self.oof_scores[None, :], self.groups)[0])


def assign_folds(groups: np.ndarray, folds: int, seed: int = 0) -> np.ndarray:
    """Fold per query, shuffled and balanced within each collection."""
    rng = np.random.default_rng(seed)
    fold_of = np.empty(len(groups), dtype=int)
    for g in np.unique(groups):
        members = rng.permutation(np.flatnonzero(groups == g))
        fold_of[members] = np.arange(len(members)) % folds
    return fold_of


def cross_validate(scores: np.ndarray, groups: np.ndarray, folds: int = 5, seed: int = 0,
                   choose: Chooser = _default_chooser) -> CrossValidation:
    """k-fold CV over queries; a fold is only ever scored with a choice made without it."""
    if folds < 2:
        raise ValueError("cross-validation needs at least 2 folds")
    fold_of = assign_folds(groups, folds, seed)
    oof = np.zeros(scores.shape[1])
    chosen = []
    for f in range(folds):
        test = np.flatnonzero(fold_of == f)
        train = np.flatnonzero(fold_of != f)
        if len(test) == 0:
            chosen.append(-1)
            continue
        c = choose(scores[:, train], groups[train], train)
        chosen.append(c)
        oof[test] = scores[c, test]
    return CrossValidation(fold_of, chosen, oof, groups)


def leave_one_collection_out(scores: np.ndarray, groups: np.ndarray,
                             choose: Chooser = _default_chooser) -> dict[int, tuple[int, float]]:
    """Per collection: the configuration chosen on the others and its score there."""
    out = {}
    for g in np.unique(groups):
        train = np.flatnonzero(groups != g)
        test = groups == g
        c = choose(scores[:, train], groups[train], train)
        out[int(g)] = (c, float(scores[c, test].mean()))
    return out


# --- the tuning procedure ------------------------------------------------------

#: Untuned RRF at the default k, equal weights: the baseline tune reports beside its picks.
REFERENCE = FusionConfig(method="rrf", weights={"lexical": 1.0, "vector": 1.0}, rank_constant=DEFAULT_RANK_CONSTANT)


@dataclass(frozen=True)
class TuneResult:
    """A sweep over one or more collections, with its in-sample and out-of-fold scores."""

    method: str
    metric: str
    collections: list[str]
    configs: list[FusionConfig]
    scores: np.ndarray
    groups: np.ndarray
    cv: CrossValidation
    loco: dict[int, tuple[int, float]]
    reference: np.ndarray

    @property
    def means(self) -> np.ndarray:
        """Macro-averaged score of every configuration."""
        return group_means(self.scores, self.groups)

    @property
    def best(self) -> int:
        return int(np.argmax(self.means))

    @property
    def best_config(self) -> FusionConfig:
        return self.configs[self.best]

    def per_collection(self, values: np.ndarray) -> dict[str, float]:
        """Mean of per-query ``values`` within each collection."""
        return {name: float(values[self.groups == g].mean()) for g, name in enumerate(self.collections)}

    @property
    def reference_score(self) -> float:
        return float(group_means(self.reference[None, :], self.groups)[0])


def tune_fusion(matrices: Sequence[LegMatrix], names: Sequence[str], method: str, metric: Metric,
                folds: int = 5, seed: int = 0, configs: Sequence[FusionConfig] | None = None,
                progress: Callable[[Iterable], Iterable] = iter) -> TuneResult:
    """Sweep ``configs`` (default: :func:`grid`) and cross-validate the choice of the best one."""
    depth = min(m.depth for m in matrices)
    configs = list(configs or grid(method, FusionConfig(depth=depth)))
    scores = sweep(matrices, configs, metric, progress)
    groups = np.concatenate([np.full(len(m.query_ids), g) for g, m in enumerate(matrices)])
    cv = cross_validate(scores, groups, folds, seed)
    loco = leave_one_collection_out(scores, groups) if len(matrices) > 1 else {}
    reference = sweep(matrices, [replace(REFERENCE, depth=depth)], metric)[0]
    return TuneResult(method, str(metric), list(names), configs, scores, groups, cv, loco, reference)
