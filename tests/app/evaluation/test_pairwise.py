"""Pairwise measures against an independent transcription of the Search Relevance
Workbench's definitions (PairComparison.java, opensearch-project/search-relevance)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.evaluation.pairwise import compare, frequency_weighted, jaccard, rank_displacement, rbo, top_overlap

rankings = st.lists(st.sampled_from([f"d{i}" for i in range(15)]), max_size=12, unique=True)


def workbench_rbo(list_a: list[str], list_b: list[str], p: float) -> float:
    """calculateRBOSimilarity, line by line (without its rounding)."""
    max_depth = max(len(list_a), len(list_b))
    total, weight = 0.0, 1.0
    for d in range(max_depth):
        set_a, set_b = set(list_a[: min(d + 1, len(list_a))]), set(list_b[: min(d + 1, len(list_b))])
        total += weight * len(set_a & set_b) / max(len(set_a), len(set_b))
        weight *= p
    return total * (1 - p) / (1 - p**max_depth) if max_depth else 0.0


def workbench_frequency_weighted(list_a: list[str], list_b: list[str]) -> float:
    def weights(items: list[str]) -> dict[str, float]:
        return {x: items.count(x) / len(items) for x in items}

    wa, wb = weights(list_a), weights(list_b)
    combined = {x: (wa.get(x, 0.0) + wb.get(x, 0.0)) / 2 for x in set(wa) | set(wb)}
    union = sum(combined.values())
    return sum(combined[x] for x in set(list_a) if x in list_b) / union if union else 0.0


@given(rankings, rankings, st.sampled_from([0.5, 0.9]))
def test_rbo_is_the_workbenchs(a: list[str], b: list[str], p: float) -> None:
    assert rbo(a, b, p) == pytest.approx(workbench_rbo(a, b, p))


@given(rankings, rankings)
def test_jaccard_and_frequency_weighted_are_the_workbenchs(a: list[str], b: list[str]) -> None:
    union = set(a) | set(b)
    assert jaccard(a, b) == pytest.approx(len(set(a) & set(b)) / len(union) if union else 0.0)
    assert frequency_weighted(a, b) == pytest.approx(workbench_frequency_weighted(a, b))


@given(rankings)
def test_identical_rankings_agree_fully(a: list[str]) -> None:
    if a:
        measures = compare(a, a)
        assert measures["jaccard"] == pytest.approx(1.0) and measures["rbo90"] == pytest.approx(1.0)
        assert measures["gained"] == measures["lost"] == measures["displacement"] == 0


def test_worked_example() -> None:
    a, b = ["x", "y", "z"], ["y", "x", "w"]
    assert jaccard(a, b) == pytest.approx(2 / 4)
    # depth 1: 0/1; depth 2: 2/2; depth 3: 2/3, weights 1, .5, .25, scaled by .5 / (1 - .125)
    assert rbo(a, b, 0.5) == pytest.approx((0 + 0.5 * 1 + 0.25 * 2 / 3) * 0.5 / 0.875)
    assert top_overlap(a, b, 1) == 0 and top_overlap(a, b, 3) == pytest.approx(2 / 3)
    assert rank_displacement(a, b) == 1.0
    with pytest.raises(ValueError):
        rbo(a, b, 1.0)
