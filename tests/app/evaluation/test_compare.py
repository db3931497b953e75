"""Paired comparison: counts, movers, and the randomization test."""

from __future__ import annotations

import numpy as np
import pytest

from app.evaluation.compare import compare, paired_randomization_test
from app.evaluation.reports import write_compare_report


def test_counts_and_movers(tmp_path):
    a = {"1": 0.5, "2": 0.5, "3": 0.2, "4": 0.9}
    b = {"1": 0.7, "2": 0.5, "3": 0.0, "4": 1.0, "extra": 1.0}
    queries = {"1": "first query", "3": "third query"}
    c = compare(a, b, queries, metric="ndcg@10", movers=1)
    assert (c.wins, c.losses, c.ties) == (2, 1, 1)
    assert c.mean_difference == pytest.approx((0.2 - 0.2 + 0.1) / 4)
    assert [m.query_id for m in c.movers_up] == ["1"] and c.movers_up[0].query == "first query"
    assert [m.query_id for m in c.movers_down] == ["3"]
    report = write_compare_report([("toy", c)], tmp_path)
    assert "first query" in report.read_text() and list(tmp_path.glob("*.png"))


def test_randomization_test_detects_consistent_gains_only():
    rng = np.random.default_rng(0)
    assert paired_randomization_test(np.full(30, 0.05)) < 0.001
    assert paired_randomization_test(rng.normal(0, 0.1, 30)) > 0.05
    assert paired_randomization_test(np.zeros(10)) == 1.0
    # Exact for a tiny case: 3 queries, 8 sign patterns, 2 as extreme as observed.
    assert paired_randomization_test(np.array([1.0, 1.0, 1.0]), permutations=20000) == pytest.approx(0.25, abs=0.02)

