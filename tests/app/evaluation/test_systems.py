"""System definitions and request shaping (no index needed)."""

from __future__ import annotations

import pytest

from app.evaluation.systems import define_system, fit_query, parse_systems, search_request
from app.profiles import FusionConfig


def test_long_queries_are_cut_at_a_word_boundary():
    assert fit_query("short  query", 100) == "short query"
    assert fit_query("alpha beta gamma", 11) == "alpha beta"
    assert fit_query("x" * 20, 10) == "x" * 10


def test_systems_force_method_and_legs_but_keep_the_profile():
    base = FusionConfig(method="linear", normalization="z_score", weights={"lexical": 0.3, "vector": 0.7}, depth=50)
    rrf = define_system("hybrid-rrf", base)
    assert rrf.config.method == "rrf" and rrf.config.weights == base.weights and not rrf.config.rerank_enabled
    assert define_system("hybrid-rerank", base).config.rerank_enabled
    assert define_system("lexical", base).legs == {"lexical": True, "vector": False}
    body = search_request(define_system("profile", base), "q", size=100)
    assert body["depth"] == 100 and body["fusion"]["normalization"] == "z_score"
    assert parse_systems("lexical, vector,lexical") == ["lexical", "vector"]
    with pytest.raises(ValueError):
        parse_systems("bm42")


def test_the_lucene_reference_is_a_system_name():
    from app.evaluation.systems import parse_systems

    assert parse_systems("lexical,lucene-bm25") == ["lexical", "lucene-bm25"]
    with pytest.raises(ValueError, match="lucene-bm25"):
        parse_systems("lucene")
