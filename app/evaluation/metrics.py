"""Ranking metrics with trec_eval semantics, as plain numpy functions.

Two layers, in the style of ``ranx``:

* matrix kernels (:func:`ndcg`, :func:`reciprocal_rank`, ...) over a
  ``[queries, ranks]`` array of relevance grades in ranked order — the tuner
  calls these thousands of times, so they never loop over queries;
* :func:`evaluate` over dict runs ``{qid: {doc_id: score}}`` and qrels
  ``{qid: {doc_id: grade}}``, which ranks each query trec_eval's way.

trec_eval conventions kept here:

* ranking: score descending, ties by doc id *descending* (byte order);
* a document is relevant when its grade is >= 1; nDCG gains are the grades
  themselves (linear gain, negative grades count 0), discount ``log2(rank+1)``;
  the ideal ranking is every judged document sorted by grade;
* only queries in the qrels are evaluated; a judged query missing from the
  run scores 0 (trec_eval ``-c``), so a system cannot gain by answering less.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np

Qrels = Mapping[str, Mapping[str, int]]
Run = Mapping[str, Mapping[str, float]]

#: Minimum grade that counts as relevant (trec_eval's ``-l 1``).
RELEVANCE_LEVEL = 1

_NAME = re.compile(r"^(ndcg|mrr|recall|hit|map|precision)(?:@(\d+))?$")


@dataclass(frozen=True)
class Metric:
    """A parsed metric name such as ``ndcg@10`` (``k=None``: whole ranking)."""

    name: str
    k: int | None

    def __str__(self) -> str:
        return self.name if self.k is None else f"{self.name}@{self.k}"


def parse_metric(text: str) -> Metric:
    """``"ndcg@10"`` → ``Metric("ndcg", 10)``; raises ``ValueError`` on unknown names."""
    match = _NAME.match(text.strip().lower())
    if not match or (match.group(2) is not None and int(match.group(2)) < 1):
        raise ValueError(f"unknown metric {text!r}; use ndcg@k, mrr@k, recall@k, hit@k, precision@k or map")
    k = int(match.group(2)) if match.group(2) else None
    if match.group(1) in {"recall", "hit", "precision"} and k is None:
        raise ValueError(f"metric {text!r} needs a cutoff, e.g. {match.group(1)}@10")
    return Metric(match.group(1), k)


def parse_metrics(text: str | Sequence[str]) -> list[Metric]:
    """A comma-separated list (or sequence) of metric names."""
    names = text.split(",") if isinstance(text, str) else list(text)
    return [parse_metric(n) for n in names if n.strip()]


# --- matrix kernels -----------------------------------------------------------
# ``grades``: float array [queries, ranks], the grade of the document at each
# rank (0 for unjudged or padding). Per-query facts about the qrels come in
# separately because the ranking may not contain every relevant document.


def _cut(grades: np.ndarray, k: int | None) -> np.ndarray:
    return grades if k is None else grades[:, :k]


def _discounts(n: int) -> np.ndarray:
    return 1.0 / np.log2(np.arange(2, n + 2, dtype=np.float64))


def dcg(grades: np.ndarray, k: int | None = None) -> np.ndarray:
    """Discounted cumulative gain with linear gain (trec_eval ``ndcg_cut``)."""
    top = np.maximum(_cut(grades, k), 0.0)
    return top @ _discounts(top.shape[1])


def ndcg(grades: np.ndarray, ideal_grades: np.ndarray, k: int | None = None) -> np.ndarray:
    """nDCG@k; ``ideal_grades`` holds each query's judged grades sorted descending."""
    ideal = dcg(ideal_grades, k)
    actual = dcg(grades, k)
    return np.divide(actual, ideal, out=np.zeros_like(actual), where=ideal > 0)


def reciprocal_rank(grades: np.ndarray, k: int | None = None) -> np.ndarray:
    """1 / rank of the first relevant document within the top k, else 0."""
    relevant = _cut(grades, k) >= RELEVANCE_LEVEL
    first = relevant.argmax(axis=1)
    return np.where(relevant.any(axis=1), 1.0 / (first + 1.0), 0.0)


def recall(grades: np.ndarray, n_relevant: np.ndarray, k: int | None = None) -> np.ndarray:
    """Share of the query's relevant documents found in the top k."""
    found = (_cut(grades, k) >= RELEVANCE_LEVEL).sum(axis=1)
    return np.divide(found, n_relevant, out=np.zeros(len(found)), where=n_relevant > 0)


def precision(grades: np.ndarray, k: int) -> np.ndarray:
    """Relevant documents in the top k, divided by k (trec_eval ``P_k``)."""
    return (_cut(grades, k) >= RELEVANCE_LEVEL).sum(axis=1) / float(k)


def hit(grades: np.ndarray, k: int | None = None) -> np.ndarray:
    """1 when any relevant document is in the top k (trec_eval ``success_k``)."""
    return (_cut(grades, k) >= RELEVANCE_LEVEL).any(axis=1).astype(np.float64)


def average_precision(grades: np.ndarray, n_relevant: np.ndarray, k: int | None = None) -> np.ndarray:
    """Mean of precision at each relevant rank, over all relevant documents."""
    relevant = (_cut(grades, k) >= RELEVANCE_LEVEL).astype(np.float64)
    ranks = np.arange(1, relevant.shape[1] + 1, dtype=np.float64)
    precision_at = np.cumsum(relevant, axis=1) / ranks
    total = (precision_at * relevant).sum(axis=1)
    return np.divide(total, n_relevant, out=np.zeros(len(total)), where=n_relevant > 0)


def score_matrix(metric: Metric, grades: np.ndarray, ideal_grades: np.ndarray, n_relevant: np.ndarray) -> np.ndarray:
    """Per-query values of ``metric`` for a grade matrix."""
    kernels: dict[str, Callable[[], np.ndarray]] = {
        "ndcg": lambda: ndcg(grades, ideal_grades, metric.k),
        "mrr": lambda: reciprocal_rank(grades, metric.k),
        "recall": lambda: recall(grades, n_relevant, metric.k),
        "precision": lambda: precision(grades, metric.k or grades.shape[1]),
        "hit": lambda: hit(grades, metric.k),
        "map": lambda: average_precision(grades, n_relevant, metric.k),
    }
    return kernels[metric.name]()


# --- dict runs ----------------------------------------------------------------


def rank_documents(scores: Mapping[str, float]) -> list[str]:
    """trec_eval's order: score descending, then doc id descending."""
    return [doc for doc, _ in sorted(scores.items(), key=lambda item: (item[1], item[0]), reverse=True)]


def ideal_matrix(qrels: Qrels, query_ids: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Sorted judged grades per query (padded) and the number of relevant documents."""
    width = max((len(qrels[q]) for q in query_ids), default=0) or 1
    ideal = np.zeros((len(query_ids), width))
    n_relevant = np.zeros(len(query_ids))
    for i, qid in enumerate(query_ids):
        grades = sorted((g for g in qrels[qid].values()), reverse=True)
        ideal[i, : len(grades)] = grades
        n_relevant[i] = sum(1 for g in grades if g >= RELEVANCE_LEVEL)
    return ideal, n_relevant


def grade_matrix(qrels: Qrels, rankings: Mapping[str, Sequence[str]], query_ids: Sequence[str]) -> np.ndarray:
    """Grades of ranked documents, one row per query, padded with 0."""
    width = max((len(rankings.get(q, ())) for q in query_ids), default=0) or 1
    grades = np.zeros((len(query_ids), width))
    for i, qid in enumerate(query_ids):
        judged = qrels[qid]
        for j, doc in enumerate(rankings.get(qid, ())):
            grades[i, j] = judged.get(doc, 0)
    return grades


def evaluate_rankings(
    qrels: Qrels, rankings: Mapping[str, Sequence[str]], metrics: Sequence[Metric]
) -> dict[str, dict[str, float]]:
    """``{metric: {qid: value}}`` for ranked doc-id lists, over every judged query."""
    query_ids = sorted(qrels)
    grades = grade_matrix(qrels, rankings, query_ids)
    ideal, n_relevant = ideal_matrix(qrels, query_ids)
    return {
        str(m): dict(zip(query_ids, score_matrix(m, grades, ideal, n_relevant).tolist())) for m in metrics
    }


def evaluate(qrels: Qrels, run: Run, metrics: Sequence[Metric | str] | str) -> dict[str, dict[str, float]]:
    """Per-query metric values of a scored run, ranked the trec_eval way."""
    parsed = parse_metrics(metrics) if isinstance(metrics, str) else [
        m if isinstance(m, Metric) else parse_metric(m) for m in metrics
    ]
    rankings = {qid: rank_documents(run[qid]) for qid in qrels if qid in run}
    return evaluate_rankings(qrels, rankings, parsed)


def mean(per_query: Mapping[str, float]) -> float:
    """Arithmetic mean over queries (0.0 for none)."""
    return float(np.mean(list(per_query.values()))) if per_query else 0.0


def run_from_rankings(rankings: Mapping[str, Sequence[str]]) -> dict[str, dict[str, float]]:
    """Strictly decreasing scores, so a ranking survives trec_eval's re-sort unchanged."""
    return {qid: {doc: float(len(docs) - i) for i, doc in enumerate(docs)} for qid, docs in rankings.items()}
