"""Our metrics against trec_eval itself (ir-measures' pytrec_eval provider).

trec_eval is the authority on ties and graded gains; ranx keeps insertion order
on ties, so it is not used here (and its JIT compile costs ~20 s per run).
"""

from __future__ import annotations

import math

import ir_measures
import pytest
from hypothesis import given, settings, strategies as st

from app.evaluation.metrics import evaluate, mean, parse_metric, rank_documents, run_from_rankings

REFERENCE = ir_measures.providers.registry["pytrec_eval"]
MEASURES = {
    "ndcg@10": ir_measures.nDCG @ 10,
    "ndcg@3": ir_measures.nDCG @ 3,
    "mrr@10": ir_measures.RR @ 10,
    "recall@5": ir_measures.R @ 5,
    "hit@3": ir_measures.Success @ 3,
    "map": ir_measures.AP,
    "precision@5": ir_measures.P @ 5,
}

docs = st.sampled_from([f"d{i}" for i in range(12)])
# Few distinct scores so ties are common.
scores = st.sampled_from([0.0, 0.5, 1.0, 1.5, 2.0])


@st.composite
def collections(draw):
    qrels, run = {}, {}
    for q in range(draw(st.integers(1, 4))):
        qid = f"q{q}"
        qrels[qid] = draw(st.dictionaries(docs, st.integers(0, 3), min_size=1, max_size=8))
        run[qid] = draw(st.dictionaries(docs, scores, min_size=1, max_size=10))
    return qrels, run


def reference(qrels, run, name):
    q = [ir_measures.Qrel(qid, d, g) for qid, ds in qrels.items() for d, g in ds.items()]
    r = [ir_measures.ScoredDoc(qid, d, s) for qid, ds in run.items() for d, s in ds.items()]
    return {m.query_id: m.value for m in REFERENCE.iter_calc([MEASURES[name]], q, r)}


@settings(max_examples=150, deadline=None)
@given(collections())
def test_agrees_with_trec_eval_including_ties_and_grades(data):
    qrels, run = data
    ours = evaluate(qrels, run, list(MEASURES))
    for name in MEASURES:
        expected = reference(qrels, run, name)
        for qid, value in expected.items():
            assert ours[name][qid] == pytest.approx(value, abs=1e-4), (name, qid)


def test_ties_are_broken_by_doc_id_descending():
    # trec_eval ranks equal scores by doc id in reverse byte order.
    assert rank_documents({"a": 1.0, "c": 1.0, "b": 2.0}) == ["b", "c", "a"]
    qrels = {"q": {"a": 1}}
    assert evaluate(qrels, {"q": {"a": 1.0, "c": 1.0}}, "mrr@10")["mrr@10"]["q"] == 0.5


def test_judged_queries_only_and_missing_queries_score_zero():
    qrels = {"q1": {"d1": 1}, "q2": {"d2": 1}}
    run = {"q1": {"d1": 1.0}, "unjudged": {"d9": 1.0}}
    result = evaluate(qrels, run, "ndcg@10,recall@10")
    assert result["ndcg@10"] == {"q1": 1.0, "q2": 0.0}
    assert mean(result["recall@10"]) == 0.5


def test_graded_ndcg_by_hand():
    qrels = {"q": {"a": 3, "b": 1}}
    run = {"q": {"b": 2.0, "a": 1.0}}
    ideal = 3 + 1 / math.log2(3)
    actual = 1 + 3 / math.log2(3)
    assert evaluate(qrels, run, "ndcg@10")["ndcg@10"]["q"] == pytest.approx(actual / ideal)


def test_metric_names():
    assert str(parse_metric("NDCG@10")) == "ndcg@10"
    assert parse_metric("map").k is None
    for bad in ("recall", "ndcg@0", "bleu@4"):
        with pytest.raises(ValueError):
            parse_metric(bad)


def test_run_from_rankings_keeps_the_order_through_trec_eval_sorting():
    ranking = ["z", "a", "m"]
    run = run_from_rankings({"q": ranking})
    assert rank_documents(run["q"]) == ranking
