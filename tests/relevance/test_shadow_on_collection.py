"""The shadow comparison on a shared collection: the rankings are the query path's, and its
Jaccard and RBO agree with an independent implementation (``rbo`` package style, written here)."""

from __future__ import annotations

import pytest

from app.evaluation.collection import open_collection
from app.evaluation.judgments import load_beir
from app.evaluation.shadow import LoggedQuery, service_ranker, shadow
from app.evaluation.systems import define_system, run_system
from app.profiles import FusionConfig
from app.settings import Settings
from shared_paths import dataset_dir

pytestmark = pytest.mark.slow


def independent_rbo(a: list[str], b: list[str], p: float) -> float:
    """Webber et al.'s agreement sum over the longer list's depth, normalised as the Workbench does."""
    depth = max(len(a), len(b))
    agreements = [len(set(a[:d]) & set(b[:d])) / max(len(a[:d]), len(b[:d])) for d in range(1, depth + 1)]
    return sum(p ** (d - 1) * x for d, x in enumerate(agreements, start=1)) * (1 - p) / (1 - p**depth)


def test_shadow_on_cisi_matches_the_query_path_and_an_independent_rbo(encoder) -> None:
    dataset = load_beir(dataset_dir("cisi"))
    collection = open_collection(dataset, encoder, Settings.from_env(), progress=False)
    queries = dict(list(dataset.judged_queries().items())[:40])
    caller = collection.caller
    logged = [LoggedQuery(text, caller.tenant, tuple(caller.principals)) for text in queries.values()]
    service, settings = collection.service(), collection.settings
    systems = {name: define_system(name, FusionConfig(depth=settings.default_depth)) for name in ("hybrid-rrf", "lexical")}
    report = shadow(logged, *[(name, service_ranker(service, settings, system, None)) for name, system in systems.items()],
                    k=10, progress=False)
    runs = {name: run_system(collection, system, queries, 10, progress=False).rankings for name, system in systems.items()}
    for qid, compared in zip(queries, report.queries):
        assert compared.a == runs["hybrid-rrf"][qid] and compared.b == runs["lexical"][qid]
        union = set(compared.a) | set(compared.b)
        assert compared.measures["jaccard"] == pytest.approx(len(set(compared.a) & set(compared.b)) / len(union))
        for p, name in ((0.9, "rbo90"), (0.5, "rbo50")):
            assert compared.measures[name] == pytest.approx(independent_rbo(compared.a, compared.b, p))
    assert 0 < report.aggregate()["rbo90"] < 1  # the two systems differ, and not completely
