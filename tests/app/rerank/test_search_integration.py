"""The service's rerank path with the real stage on a tiny real index."""

from __future__ import annotations

from app.auth import Caller
from app.backends.embedded import EmbeddedBackend
from app.documents import Document
from app.ingest import ingest_documents
from app.rerank.stage import load_rerank_stage
from app.search_request import SearchRequest
from app.search_service import SearchService
from app.settings import Settings

DOCS = [
    ("vaccines", "How vaccines work", "A vaccine trains the immune system to recognise a virus and make antibodies before infection."),
    ("bread", "Baking bread", "Knead the dough, let it rise for an hour, then bake it in a hot oven until golden."),
    ("trains", "Winter timetable", "Some railway lines run fewer trains in winter and close on Sunday evenings."),
    ("immunity", "Herd immunity", "When most people are immune, a virus cannot spread easily through a population."),
]


def test_search_reranks_explains_and_times(settings: Settings, encoder) -> None:
    settings = settings.replace(rerank_enabled=True, rerank_budget_ms=60_000)
    backend = EmbeddedBackend(settings)
    docs = [Document(id=i, title=t, body=b, tenant="t1", acl=("*",)) for i, t, b in DOCS]
    assert ingest_documents(docs, backend, encoder, settings).ok
    stage = load_rerank_stage(settings)
    service = SearchService(settings, backend, encoder, stage)
    caller = Caller(subject="test", tenant="t1", principals=frozenset({"user:test"}))

    answer = service.search(SearchRequest("how does a vaccine protect against a virus", size=4, explain=True), caller)

    assert answer["degraded"] == []
    assert "rerank" in answer["timings_ms"]
    ranks = [hit["explain"]["rerank"]["rank"] for hit in answer["hits"]]
    assert ranks == sorted(ranks) == list(range(1, len(ranks) + 1))
    assert all(hit["score"] == hit["explain"]["rerank"]["score"] for hit in answer["hits"])


def test_missing_model_keeps_fused_order_and_flags(settings: Settings, encoder, tmp_path) -> None:
    settings = settings.replace(rerank_enabled=True, rerank_model_dir=tmp_path / "missing")
    backend = EmbeddedBackend(settings)
    docs = [Document(id=i, title=t, body=b, tenant="t1", acl=("*",)) for i, t, b in DOCS]
    ingest_documents(docs, backend, encoder, settings)
    service = SearchService(settings, backend, encoder, load_rerank_stage(settings))
    caller = Caller(subject="test", tenant="t1", principals=frozenset({"user:test"}))
    plain = service.search(SearchRequest("virus immunity", explain=True, rerank_enabled=False), caller)
    answer = service.search(SearchRequest("virus immunity", explain=True), caller)
    assert answer["degraded"] == ["rerank"]
    assert [h["id"] for h in answer["hits"]] == [h["id"] for h in plain["hits"]]
    assert all("rerank" not in h["explain"] for h in answer["hits"])


def test_interpolation_weight_moves_the_order_from_reranker_to_fusion(settings: Settings, encoder) -> None:
    base = settings.replace(rerank_enabled=True, rerank_budget_ms=60_000)
    backend = EmbeddedBackend(base)
    docs = [Document(id=i, title=t, body=b, tenant="t1", acl=("*",)) for i, t, b in DOCS]
    ingest_documents(docs, backend, encoder, base)
    caller = Caller(subject="test", tenant="t1", principals=frozenset({"user:test"}))
    request = SearchRequest("virus spreading in winter", size=4, explain=True)

    def answer(weight: float) -> list[dict]:
        tuned = base.replace(rerank_interpolation=weight)
        return SearchService(tuned, backend, encoder, load_rerank_stage(tuned)).search(request, caller)["hits"]

    by_fusion, by_reranker = answer(1.0), answer(0.0)
    assert [h["explain"]["fused_rank"] for h in by_fusion] == [1, 2, 3, 4]
    rerank_scores = [h["explain"]["rerank"]["model_score"] for h in by_reranker]
    assert rerank_scores == sorted(rerank_scores, reverse=True)
    assert [h["explain"]["rerank"]["score"] for h in by_reranker] == rerank_scores
    blended = answer(0.5)
    assert all(0.0 <= h["score"] <= 1.0 for h in blended)  # both sides min-max normalised
    assert sorted(h["explain"]["rerank"]["model_score"] for h in blended) == sorted(rerank_scores)
