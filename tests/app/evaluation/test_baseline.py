"""The regression gate's verdict and its table of what moved."""

from __future__ import annotations

from app.evaluation.baseline import compare_to_baseline

BASELINE = {
    "metric": "ndcg@10",
    "tolerance": 0.005,
    "collections": {"c": {"profile": {"ndcg@10": 0.50, "recall@100": 0.8}, "lexical": {"ndcg@10": 0.40}}},
}


def test_a_drop_beyond_tolerance_fails_with_a_table():
    failures, moved = compare_to_baseline({"c": {"profile": {"ndcg@10": 0.49, "recall@100": 0.9}, "lexical": {"ndcg@10": 0.3}}}, BASELINE)
    assert len(failures) == 1 and "0.5000 -> 0.4900" in failures[0]
    assert "FAIL" in moved and "-0.1000" in moved  # the lexical leg's move is shown, not gated


def test_noise_within_tolerance_and_gains_pass():
    assert compare_to_baseline({"c": {"profile": {"ndcg@10": 0.496}}}, BASELINE)[0] == []
    assert compare_to_baseline({"c": {"profile": {"ndcg@10": 0.6}}}, BASELINE)[0] == []


def test_a_collection_without_baseline_fails():
    assert compare_to_baseline({"new": {"profile": {"ndcg@10": 0.6}}}, BASELINE)[0]
