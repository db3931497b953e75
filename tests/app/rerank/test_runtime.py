"""The runtime on the shipped model and on the tiny test model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.onnx_session import ALLOW_SPINNING
from app.rerank.runtime import Reranker
from app.rerank.stage import BudgetedRerankStage, load_rerank_stage
from app.settings import Settings

SHIPPED = Settings().rerank_model_dir


@pytest.fixture(scope="module")
def shipped() -> Reranker:
    return Reranker(SHIPPED, variant="int8", threads=1, max_length=128)


def test_relevant_passage_beats_unrelated_ones(shipped: Reranker) -> None:
    query = "how does a vaccine protect against a virus"
    passages = [
        "The train timetable changes in winter and some lines close on Sundays.",
        "Vaccines train the immune system to recognise a virus and produce antibodies against it.",
        "Add the flour and butter, then bake the cake for forty minutes.",
        "The stock market closed higher after strong quarterly earnings.",
    ]
    ranked = shipped.rank(query, passages, top_k=2)
    assert ranked[0][0] == 1
    assert len(ranked) == 2 and ranked[0][1] >= ranked[1][1]


def test_the_session_takes_the_threads_asked_for_and_does_not_spin(tiny_onnx: Path) -> None:
    # A spinning intra-op thread would burn the core another worker's search needs.
    reranker = Reranker(tiny_onnx, variant="fp32", threads=2, max_length=64)
    options = reranker.session.get_session_options()
    assert options.intra_op_num_threads == 2
    assert options.get_session_config_entry(ALLOW_SPINNING) == "0"


def test_the_stage_reranks_with_the_reranker_threads_setting(tiny_onnx: Path) -> None:
    settings = Settings(rerank_model_dir=tiny_onnx, rerank_variant="fp32", rerank_onnx_threads=3, onnx_threads=1)
    stage = load_rerank_stage(settings)
    assert isinstance(stage, BudgetedRerankStage)
    assert stage.reranker.session.get_session_options().intra_op_num_threads == 3


def test_batching_gives_the_same_scores_as_one_by_one(tiny_onnx: Path, shipped: Reranker) -> None:
    passages = ["short", "a somewhat longer passage about aircraft wings", "sorting " * 80, "library catalogues and indexing terms", "x"]
    exact = Reranker(tiny_onnx, variant="fp32", max_length=64, batch_size=4)
    alone = [exact.score("query text", [p])[0] for p in passages]
    assert np.allclose(exact.score("query text", passages), alone, atol=1e-5)
    # Dynamic int8 quantises activations per batch, so allow a small drift
    # (measured: ≤ 6 % of the scores' spread on the shipped model).
    alone = [shipped.score("query text", [p])[0] for p in passages]
    batched = shipped.score("query text", passages)
    assert np.allclose(batched, alone, atol=0.1 * (1 + np.ptp(alone)))


def test_truncation_cuts_the_passage_never_the_query(tiny_onnx: Path) -> None:
    reranker = Reranker(tiny_onnx, variant="fp32", max_length=64, warm_up=False)
    tokenizer = reranker.encoder.tokenizer
    query = "boundary layer transition on swept wings"
    query_ids = tokenizer.encode(query, add_special_tokens=False).ids
    (ids, first), = reranker.encode(query, ["word " * 500])
    assert len(ids) == 64
    assert ids[1 : 1 + len(query_ids)] == query_ids
    assert first == len(query_ids) + 2 and ids[-1] == tokenizer.token_to_id("[SEP]")
    (short, _), = reranker.encode(query, ["two words"])
    assert len(short) < 64  # no padding to the maximum


def test_empty_input_and_top_k(shipped: Reranker) -> None:
    assert shipped.score("q", []) == []
    assert shipped.rank("q", ["a", "b", "c"], top_k=None)[0][0] in {0, 1, 2}
