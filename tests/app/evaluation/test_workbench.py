"""End to end on a tiny generated collection: index, systems, legs cache, tuning, commands."""

from __future__ import annotations

import json

import pytest

from app.cli import main
from app.evaluation.collection import open_collection
from app.evaluation.judgments import load_beir
from app.evaluation.legs_cache import leg_runs
from app.evaluation.metrics import evaluate_rankings, parse_metric, parse_metrics
from app.evaluation.systems import PROFILE_SYSTEM, define_system, evaluate_systems, run_system
from app.evaluation.tuning import LegMatrix, grid, sweep
from app.profiles import FusionConfig, load_profile


@pytest.fixture(scope="module")
def collection(tiny_beir, encoder, eval_settings):
    return open_collection(load_beir(tiny_beir), encoder, eval_settings, progress=False)


def test_index_is_cached_by_content(collection, tiny_beir, encoder, eval_settings):
    again = open_collection(load_beir(tiny_beir), encoder, eval_settings, progress=False)
    assert again.key == collection.key and again.settings.data_dir == collection.settings.data_dir
    assert collection.backend.live_index().documents == 18


def test_systems_run_through_the_service_and_reranker_absence_is_reported(collection):
    results = evaluate_systems(collection, ["lexical", "vector", "hybrid-rrf", "hybrid-rerank"], FusionConfig(),
                               parse_metrics("ndcg@10,recall@5"), progress=False)
    assert set(results) == {"lexical", "vector", "hybrid-rrf", "hybrid-rerank"}
    assert isinstance(results["hybrid-rerank"], str)  # unavailable, with the reason
    for name in ("lexical", "vector", "hybrid-rrf"):
        assert results[name]["ndcg@10"] > 0.5, name  # each topic's documents are easy to find


def test_swept_score_is_the_service_score(collection):
    """The in-memory sweep over cached legs predicts what the real query path returns."""
    queries = collection.dataset.judged_queries()
    runs = leg_runs(collection, queries, depth=10, progress=False)
    assert leg_runs(collection, queries, depth=10, progress=False) == runs  # second call: from the cache
    matrix = LegMatrix.build(runs, collection.dataset.qrels, depth=10)
    metric = parse_metric("ndcg@10")
    configs = [c for c in grid("linear", FusionConfig(depth=10))][::7] + [c for c in grid("rrf", FusionConfig(depth=10))][::37]
    swept = sweep([matrix], configs, metric)
    for config, per_query in zip(configs, swept):
        run = run_system(collection, define_system(PROFILE_SYSTEM, config), queries, 10, progress=False)
        served = evaluate_rankings(collection.dataset.qrels, run.rankings, [metric])[str(metric)]
        assert per_query.tolist() == pytest.approx([served[q] for q in matrix.query_ids]), config


def test_commands(tiny_beir, eval_settings, monkeypatch, tmp_path, capsys, collection):
    for field in ("model_dir", "profiles_dir", "eval_cache_dir", "data_dir"):
        monkeypatch.setenv(f"HYBRID_{field.upper()}", str(getattr(eval_settings, field)))
    out = tmp_path / "eval.json"
    assert main(["eval", "--dataset", str(tiny_beir), "--metrics", "ndcg@10,recall@5", "--json", str(out)]) == 0
    payload = json.loads(out.read_text())
    assert payload["dataset"] == tiny_beir.name and payload["queries"] == 6
    assert set(payload["systems"]) == {"lexical", "vector", "hybrid-rrf", "hybrid-linear", "hybrid-rerank"}
    rerank = payload["systems"]["hybrid-rerank"]
    # Reported either way: scored when a reranker model is installed, else unavailable with the reason.
    assert isinstance(rerank["ndcg@10"], float) or (rerank["ndcg@10"] is None and rerank["unavailable"])
    assert "hybrid-rerank" in capsys.readouterr().out

    profile = eval_settings.profiles_dir / "tiny.json"
    report = tmp_path / "report"
    args = ["tune", "--dataset", str(tiny_beir), "--method", "linear", "--folds", "3", "--depth", "10",
            "--out", str(profile), "--report", str(report)]
    assert main(args) == 0
    tuned = load_profile(eval_settings, "tiny")
    assert tuned.fusion.method == "linear" and tuned.version == 1
    assert {"dataset", "metric", "date", "cv_score"} <= set(tuned.provenance)
    assert (report / "tune.md").is_file() and (report / "weight_curve.png").is_file()
    assert main(args) == 0 and load_profile(eval_settings, "tiny").version == 2

    assert main(["compare", "--dataset", str(tiny_beir), "--a", "settings", "--b", "tiny", "--report", str(report)]) == 0
    assert "wins" in capsys.readouterr().out and (report / "compare.md").is_file()
    assert main(["eval", "--dataset", str(tmp_path), "--systems", "lexical"]) == 1  # one readable error line
