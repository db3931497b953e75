"""``lucene-bm25``: real Lucene (the engine inside OpenSearch) as the keyword-search reference."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.evaluation.judgments import load_beir
from app.evaluation.lucene_bm25 import LuceneUnavailable, find_jar, rank_documents
from app.evaluation.metrics import evaluate_rankings, mean, parse_metrics
from shared_paths import dataset_dir


@pytest.fixture(scope="module")
def jar(lucene_jar: Path) -> Path:
    return lucene_jar


def write_beir(root: Path, docs: dict[str, tuple[str, str]], queries: dict[str, str]) -> Path:
    (root / "qrels").mkdir(parents=True)
    (root / "corpus.jsonl").write_text("".join(json.dumps({"_id": i, "title": t, "text": x}) + "\n" for i, (t, x) in docs.items()))
    (root / "queries.jsonl").write_text("".join(json.dumps({"_id": q, "text": x}) + "\n" for q, x in queries.items()))
    (root / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n" + "".join(f"{q}\td1\t1\n" for q in queries))
    return root


def test_lucene_ranks_with_the_english_analyzer_over_whole_documents(tmp_path: Path, jar: Path) -> None:
    dataset = load_beir(write_beir(tmp_path / "beir", {
        "d1": ("Running shoes", "a guide for runners"),
        "d2": ("Cooking", "the pasta runs\tover\nthe pot"),  # tabs and newlines in text are kept in one line
        "d3": ("Gardening", "what to plant in spring"),
    }, {"stem": "run", "title": "gardening tips", "stop": "the of and", "none": "zebra"}))
    rankings = rank_documents(dataset, dataset.queries, 10, jar)
    assert set(rankings["stem"]) == {"d1", "d2"}  # running, runs -> run (Porter stemming)
    assert rankings["title"] == ["d3"]  # the title is part of the document
    assert rankings["stop"] == [] and rankings["none"] == []  # Lucene's 33 English stop words match nothing


def test_a_missing_jar_is_unavailable_with_the_reason(tmp_path: Path) -> None:
    with pytest.raises(LuceneUnavailable, match="HYBRID_LUCENE_JAR names no file"):
        find_jar(tmp_path / "absent.jar")


@pytest.mark.slow
@pytest.mark.parametrize("name,floor", [("cranfield", 0.36), ("cisi", 0.38), ("cacm", 0.49)])
def test_lucene_reproduces_plain_bm25_on_the_shared_collections(name: str, floor: float, jar: Path) -> None:
    """Within reach of the issue's whole-document BM25 (0.370 / 0.396 / 0.505): the reference is sound."""
    dataset = load_beir(dataset_dir(name))
    queries = dataset.judged_queries()
    (metric,) = parse_metrics(["ndcg@10"])
    value = mean(evaluate_rankings(dataset.qrels, rank_documents(dataset, queries, 10, jar), [metric])[str(metric)])
    assert floor <= value <= floor + 0.03, value
