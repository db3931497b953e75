"""How much two rankings of the same query differ, without judgments.

The measures OpenSearch's Search Relevance Workbench reports for a pairwise
experiment, with its definitions (opensearch-project/search-relevance,
``src/main/java/org/opensearch/searchrelevance/metrics/calculator/PairComparison.java``,
commit f3174b0), without its rounding to two decimals:

- ``jaccard``: |A ∩ B| / |A ∪ B| over the two top-k lists (0 when both are empty);
- ``rbo50``, ``rbo90``: rank-biased overlap with p = 0.5 / 0.9, the Workbench's
  finite form: Σ_{d=1..D} p^(d-1) · |A_d ∩ B_d| / max(|A_d|, |B_d|), scaled by
  (1 - p) / (1 - p^D) so identical lists score 1 (D = the longer list's length);
- ``frequency_weighted``: the items' average share in the two lists, summed over
  the shared ones (for lists without repeats: Σ_shared (1/|A| + 1/|B|) / 2).

Plus what a migration wants to read per query: overlap of the top 1, 3 and 10
(|A_n ∩ B_n| / n), documents gained and lost, and the mean rank displacement of
the shared documents. Registry style (as ranx): name → function.
"""

from __future__ import annotations

from collections import Counter
from typing import Callable, Sequence

Ranking = Sequence[str]


def jaccard(a: Ranking, b: Ranking) -> float:
    union = set(a) | set(b)
    return len(set(a) & set(b)) / len(union) if union else 0.0


def rbo(a: Ranking, b: Ranking, p: float) -> float:
    """The Workbench's rank-biased overlap (see the module docstring)."""
    if not 0 < p < 1:
        raise ValueError(f"rbo needs 0 < p < 1, got {p}")
    depth = max(len(a), len(b))
    if depth == 0:
        return 0.0
    total, weight = 0.0, 1.0
    seen_a: set[str] = set()
    seen_b: set[str] = set()
    for d in range(depth):
        if d < len(a):
            seen_a.add(a[d])
        if d < len(b):
            seen_b.add(b[d])
        total += weight * len(seen_a & seen_b) / max(len(seen_a), len(seen_b))
        weight *= p
    return total * (1 - p) / (1 - p**depth)


def frequency_weighted(a: Ranking, b: Ranking) -> float:
    share_a = {item: n / len(a) for item, n in Counter(a).items()} if a else {}
    share_b = {item: n / len(b) for item, n in Counter(b).items()} if b else {}
    weights = {item: (share_a.get(item, 0.0) + share_b.get(item, 0.0)) / 2 for item in share_a.keys() | share_b.keys()}
    union = sum(weights.values())
    return sum(weights[item] for item in set(a) & set(b)) / union if union else 0.0


def top_overlap(a: Ranking, b: Ranking, n: int) -> float:
    """Shared documents among the first ``n`` of each, over ``n``."""
    return len(set(a[:n]) & set(b[:n])) / n


def rank_displacement(a: Ranking, b: Ranking) -> float:
    """Mean |rank in A - rank in B| of the documents both return (0 when none)."""
    where_b = {doc: rank for rank, doc in enumerate(b)}
    moves = [abs(rank - where_b[doc]) for rank, doc in enumerate(a) if doc in where_b]
    return sum(moves) / len(moves) if moves else 0.0


MEASURES: dict[str, Callable[[Ranking, Ranking], float]] = {
    "jaccard": jaccard,
    "rbo90": lambda a, b: rbo(a, b, 0.9),
    "rbo50": lambda a, b: rbo(a, b, 0.5),
    "frequency_weighted": frequency_weighted,
    "top1": lambda a, b: top_overlap(a, b, 1),
    "top3": lambda a, b: top_overlap(a, b, 3),
    "top10": lambda a, b: top_overlap(a, b, 10),
    "gained": lambda a, b: float(len(set(b) - set(a))),
    "lost": lambda a, b: float(len(set(a) - set(b))),
    "displacement": rank_displacement,
}


def compare(a: Ranking, b: Ranking) -> dict[str, float]:
    """Every measure of the two top-k lists."""
    return {name: measure(a, b) for name, measure in MEASURES.items()}
