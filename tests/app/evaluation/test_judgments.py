"""Loaders for BEIR directories, TREC qrels and runs, and CSV judgments."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.evaluation.judgments import (
    JudgmentError,
    load_beir,
    load_qrels,
    load_trec_run,
    write_trec_run,
)

EXPECTED = {"1": {"d1": 2, "d2": 0}, "2": {"d3": 1}}


def write_beir(root: Path, qrels_text: str, name: str = "test.tsv") -> Path:
    (root / "qrels").mkdir(parents=True)
    (root / "corpus.jsonl").write_text(json.dumps({"_id": "d1", "title": "t", "text": "x"}) + "\n")
    queries = [{"_id": "1", "text": "first"}, {"_id": "2", "text": "second"}, {"_id": "3", "text": "unjudged"}]
    (root / "queries.jsonl").write_text("\n".join(json.dumps(q) for q in queries) + "\n")
    (root / "qrels" / name).write_text(qrels_text)
    return root


def test_beir_directory_and_judged_queries_only(tmp_path):
    ds = load_beir(write_beir(tmp_path, "query-id\tcorpus-id\tscore\n1\td1\t2\n1\td2\t0\n2\td3\t1\n"))
    assert ds.qrels == EXPECTED
    assert ds.judged_queries() == {"1": "first", "2": "second"}
    assert ds.corpus_path.is_file()


def test_beir_qrels_may_be_csv(tmp_path):
    ds = load_beir(write_beir(tmp_path, "query,doc_id,grade\n1,d1,2\n1,d2,0\n2,d3,1\n", "dev.csv"), split="dev")
    assert ds.qrels == EXPECTED


@pytest.mark.parametrize(
    "text",
    [
        "1 0 d1 2\n1 0 d2 0\n\n2 0 d3 1\n",  # TREC
        "query,doc_id,grade\n1,d1,2\n1,d2,0\n2,d3,1\n",  # CSV with header
        "1,d1,2\n1,d2,0\n2,d3,1\n",  # CSV without header
        "1\td1\t2\n1\td2\t0\n2\td3\t1\n",  # TSV without header
    ],
)
def test_qrels_formats(tmp_path, text):
    path = tmp_path / "qrels"
    path.write_text(text)
    assert load_qrels(path) == EXPECTED


def test_trec_run_round_trip(tmp_path):
    run = {"1": {"d1": 2.5, "d2": 1.0}, "2": {"d3": 0.25}}
    path = tmp_path / "run.trec"
    write_trec_run(run, path)
    assert load_trec_run(path) == run
    assert path.read_text().splitlines()[0] == "1 Q0 d1 1 2.500000 hybrid"


def test_errors_name_the_line(tmp_path):
    path = tmp_path / "bad.qrels"
    path.write_text("1 0 d1 2\n1 0 d2 high\n")
    with pytest.raises(JudgmentError, match=r"bad.qrels:2"):
        load_qrels(path)
    with pytest.raises(JudgmentError, match="not a BEIR directory"):
        load_beir(tmp_path)
    write_beir(tmp_path / "x", "1\td1\t1\n9\td1\t1\n")
    with pytest.raises(JudgmentError, match="no text"):
        load_beir(tmp_path / "x").judged_queries()
