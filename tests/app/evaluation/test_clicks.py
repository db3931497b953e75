"""Judgments from UBI clicks: COEC recovers known relevance better than raw CTR, and
``hybrid-search judgments`` writes qrels that ``hybrid-search eval --qrels`` reads."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from pathlib import Path

import pytest

from app.cli import main
from app.evaluation.clicks import THRESHOLDS, grade, judge, query_id, query_key
from app.evaluation.judgments import load_qrels

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "simulate_ubi_clicks.py"


def load_script():
    spec = importlib.util.spec_from_file_location("simulate_ubi_clicks", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


sim = load_script()


@pytest.mark.parametrize("seed", [0, 1])
def test_coec_recovers_relevance_better_than_ctr_under_position_bias(tmp_path: Path, seed: int) -> None:
    truth = sim.synthetic_truth(30, seed)
    sim.simulate(tmp_path, truth, sessions=60, seed=seed)
    truth = {query_key(text): grades for text, grades in truth.items()}
    accuracy = {
        model: sim.pairwise_accuracy(judge(tmp_path / "ubi_queries.jsonl", tmp_path / "ubi_events.jsonl", model), truth)
        for model in ("coec", "ctr")
    }
    assert accuracy["coec"] > 0.8 and accuracy["coec"] > accuracy["ctr"] + 0.05, accuracy


def test_coec_is_clicks_over_the_clicks_its_ranks_earn(tmp_path: Path) -> None:
    queries = [{"query_id": f"s{i}", "user_query": "Q", "query_response_hit_ids": ["a", "b"]} for i in range(4)]
    queries += [{"query_id": f"t{i}", "user_query": "other", "query_response_hit_ids": ["c", "d"]} for i in range(4)]
    clicks = [("s0", "a"), ("s1", "a"), ("s2", "b"), ("t0", "c"), ("t1", "c"), ("t2", "c"), ("t3", "d")]
    (tmp_path / "q.jsonl").write_text("".join(json.dumps(q) + "\n" for q in queries))
    (tmp_path / "e.jsonl").write_text("".join(json.dumps({
        "action_name": "click", "query_id": qid, "event_attributes": {"object": {"object_id": doc}}}) + "\n"
        for qid, doc in clicks) + json.dumps({"action_name": "login", "query_id": None}) + "\n")
    coec = {(j.query, j.doc_id): j.score for j in judge(tmp_path / "q.jsonl", tmp_path / "e.jsonl", "coec", 1)}
    # rank 1 earns 5 clicks in 8 impressions, rank 2 earns 2 in 8
    assert coec[("q", "a")] == pytest.approx(2 / (4 * 5 / 8)) and coec[("q", "b")] == pytest.approx(1 / (4 * 2 / 8))
    ctr = {(j.query, j.doc_id): j.score for j in judge(tmp_path / "q.jsonl", tmp_path / "e.jsonl", "ctr", 1)}
    assert ctr[("other", "c")] == 0.75 and ctr[("other", "d")] == 0.25
    assert judge(tmp_path / "q.jsonl", tmp_path / "e.jsonl", "ctr", 5) == []  # four impressions each: below the minimum
    assert [grade(s, THRESHOLDS["coec"]) for s in (0.5, 0.75, 1.6)] == [0, 1, 2]


def test_judgments_feed_eval(tmp_path: Path, tiny_beir: Path, eval_settings, monkeypatch, capsys) -> None:
    corpus = [json.loads(line) for line in (tiny_beir / "corpus.jsonl").read_text().splitlines()]
    queries = {q["_id"]: q["text"] for q in map(json.loads, (tiny_beir / "queries.jsonl").read_text().splitlines())}
    judged = load_qrels(next((tiny_beir / "qrels").iterdir()))
    truth = {queries[q]: {d["_id"]: judged[q].get(d["_id"], 0) for d in corpus} for q in judged}
    sim.simulate(tmp_path / "ubi", truth, sessions=40, seed=3)
    out = tmp_path / "clicks" / "qrels.tsv"
    assert main(["judgments", "--ubi-queries", str(tmp_path / "ubi" / "ubi_queries.jsonl"),
                 "--ubi-events", str(tmp_path / "ubi" / "ubi_events.jsonl"), "--out", str(out)]) == 0
    assert "judgments of 6 queries (coec" in capsys.readouterr().out
    qrels = load_qrels(out)
    assert set(qrels) == {query_id(text) for text in truth}
    # A BEIR directory from the collection's documents and the judged queries written beside the qrels.
    dataset = tmp_path / "from-clicks"
    (dataset / "qrels").mkdir(parents=True)
    shutil.copy(tiny_beir / "corpus.jsonl", dataset / "corpus.jsonl")
    shutil.copy(out.with_name("qrels.queries.jsonl"), dataset / "queries.jsonl")
    shutil.copy(out, dataset / "qrels" / "test.tsv")
    for field in ("model_dir", "profiles_dir", "eval_cache_dir", "data_dir"):
        monkeypatch.setenv(f"HYBRID_{field.upper()}", str(getattr(eval_settings, field)))
    result = tmp_path / "eval.json"
    assert main(["eval", "--dataset", str(dataset), "--qrels", str(out), "--systems", "lexical,vector",
                 "--metrics", "ndcg@10", "--json", str(result)]) == 0
    payload = json.loads(result.read_text())
    assert payload["queries"] == 6 and payload["systems"]["lexical"]["ndcg@10"] > 0


def test_a_log_without_enough_impressions_is_one_readable_line(tmp_path: Path, capsys) -> None:
    (tmp_path / "q.jsonl").write_text(json.dumps({"query_id": "x", "user_query": "q", "query_response_hit_ids": ["a"]}) + "\n")
    (tmp_path / "e.jsonl").write_text("")
    assert main(["judgments", "--ubi-queries", str(tmp_path / "q.jsonl"), "--ubi-events", str(tmp_path / "e.jsonl"),
                 "--out", str(tmp_path / "out.tsv")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "nothing to judge" in err[0]
