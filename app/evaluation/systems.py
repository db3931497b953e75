"""Named retrieval systems, each run through the real query path.

A system is a fusion configuration plus which legs run; every query goes
through :meth:`SearchService.search` exactly as an API request would. A system
that cannot run here (no reranker installed) comes back as
:class:`Unavailable` with the reason, never silently dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Mapping, Sequence

from tqdm import tqdm

from app.api.schemas import load_search_request
from app.evaluation import lucene_bm25
from app.evaluation.collection import IndexedCollection
from app.evaluation.metrics import Metric, evaluate_rankings, mean
from app.profiles import FusionConfig
from app.rerank import NO_RERANKER, RerankStage
from app.search_service import SearchService

SYSTEMS = ("lexical", "vector", "hybrid-rrf", "hybrid-linear", "hybrid-rerank")
#: The configuration under evaluation exactly as written (a profile or file).
PROFILE_SYSTEM = "profile"
#: Systems outside our query path, run over the same collection as references.
REFERENCE_SYSTEMS = (lucene_bm25.SYSTEM,)


@dataclass(frozen=True)
class System:
    """What one system sends with every query."""

    name: str
    config: FusionConfig
    legs: Mapping[str, bool]


@dataclass(frozen=True)
class Unavailable:
    """A system that could not be evaluated, and why."""

    name: str
    reason: str


@dataclass(frozen=True)
class SystemRun:
    """Ranked doc ids per query, and whether any answer came back degraded."""

    name: str
    rankings: dict[str, list[str]]
    degraded_queries: int = 0


def define_system(name: str, base: FusionConfig) -> System:
    """The system ``name`` built on ``base`` (a profile or the configured default).

    ``lexical``/``vector`` run one leg; ``hybrid-rrf``/``hybrid-linear`` force
    the method and keep the base's weights, normalisation and rank constant;
    ``hybrid-rerank`` is the base with reranking on; ``profile`` is the base.
    """
    both = {"lexical": True, "vector": True}
    no_rerank = replace(base, rerank_enabled=False)
    if name == "lexical":
        return System(name, no_rerank, {"lexical": True, "vector": False})
    if name == "vector":
        return System(name, no_rerank, {"lexical": False, "vector": True})
    if name == "hybrid-rrf":
        return System(name, replace(no_rerank, method="rrf"), both)
    if name == "hybrid-linear":
        return System(name, replace(no_rerank, method="linear"), both)
    if name == "hybrid-rerank":
        return System(name, replace(base, rerank_enabled=True), both)
    if name == PROFILE_SYSTEM:
        return System(name, base, both)
    raise ValueError(f"unknown system {name!r}; choose from {', '.join((*SYSTEMS, PROFILE_SYSTEM))}")


def search_request(system: System, query: str, size: int, profile: str | None = None) -> dict[str, Any]:
    """The API request body that runs ``system`` for ``query``; every fusion field is explicit."""
    config = system.config
    request: dict[str, Any] = {
        "query": query,
        "size": size,
        "depth": max(config.depth, size),
        "legs": dict(system.legs),
        "fusion": {
            "method": config.method,
            "normalization": config.normalization,
            "weights": dict(config.weights),
            "rank_constant": config.rank_constant,
        },
        "rerank": {"enabled": config.rerank_enabled, "depth": config.rerank_depth},
    }
    if profile:
        request["profile"] = profile
    return request


def run_system(
    collection: IndexedCollection,
    system: System,
    queries: Mapping[str, str],
    size: int,
    *,
    reranker: RerankStage = NO_RERANKER,
    profile: str | None = None,
    progress: bool = True,
) -> SystemRun | Unavailable:
    """Search every query; ``size`` documents each (at least the deepest cutoff)."""
    if system.config.rerank_enabled and reranker.unavailable_reason is not None:
        return Unavailable(system.name, reranker.unavailable_reason)
    service = collection.service(reranker)
    run = _search_all(service, collection, system, queries, size, profile, progress)
    if system.config.rerank_enabled and queries and run.degraded_queries == len(queries):
        return Unavailable(system.name, "every answer came back degraded (the reranker never ran)")
    return run


def _search_all(
    service: SearchService,
    collection: IndexedCollection,
    system: System,
    queries: Mapping[str, str],
    size: int,
    profile: str | None,
    progress: bool,
) -> SystemRun:
    rankings: dict[str, list[str]] = {}
    degraded = 0
    for qid, text in tqdm(queries.items(), desc=f"{collection.dataset.name}: {system.name}", unit="q",
                          disable=not progress, leave=False):
        hits, was_degraded = search_pages(service, collection, search_request(system, text, size, profile), size)
        rankings[qid] = [hit["id"] for hit in hits]
        degraded += was_degraded
    return SystemRun(system.name, rankings, degraded)


def search_pages(service: SearchService, collection: IndexedCollection, body: Mapping[str, Any],
                 size: int) -> tuple[list[dict[str, Any]], bool]:
    """The top ``size`` hits, paged like a client (the API caps a page at ``max_page_size``)."""
    page = collection.settings.max_page_size
    hits: list[dict[str, Any]] = []
    degraded = False
    body = {**body, "query": fit_query(str(body["query"]), collection.settings.max_query_chars)}
    for start in range(0, size, page):
        request = load_search_request({**body, "from": start, "size": min(page, size - start)}, collection.settings)
        response = service.search(request, collection.caller)
        hits.extend(response["hits"])
        degraded = degraded or bool(response["degraded"])
        if start + page >= response["total"]:
            break
    return hits, degraded


def fit_query(text: str, limit: int) -> str:
    """The query cut at a word boundary to the API's length limit (some test collections
    have paragraph-long queries; a client would have to shorten them the same way)."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit + 1)
    return text[: cut if cut > 0 else limit]


def run_lucene_bm25(collection: IndexedCollection, queries: Mapping[str, str], size: int) -> SystemRun | Unavailable:
    """Lucene's BM25 over the collection's whole documents (the keyword search being replaced)."""
    try:
        rankings = lucene_bm25.rank_documents(collection.dataset, queries, size, collection.settings.lucene_jar)
    except lucene_bm25.LuceneUnavailable as exc:
        return Unavailable(lucene_bm25.SYSTEM, str(exc))
    return SystemRun(lucene_bm25.SYSTEM, rankings)


def parse_systems(text: str | Sequence[str]) -> list[str]:
    """``"lexical,hybrid-rrf"`` → validated names, order kept, duplicates dropped."""
    names = [n.strip() for n in (text.split(",") if isinstance(text, str) else text) if n.strip()]
    known = (*SYSTEMS, PROFILE_SYSTEM, *REFERENCE_SYSTEMS)
    for name in names:
        if name not in known:
            raise ValueError(f"unknown system {name!r}; choose from {', '.join(known)}")
    return list(dict.fromkeys(names))


def evaluate_systems(
    collection: IndexedCollection,
    systems: Sequence[str],
    base: FusionConfig,
    metrics: Sequence[Metric],
    *,
    reranker: RerankStage = NO_RERANKER,
    profile: str | None = None,
    progress: bool = True,
) -> dict[str, dict[str, Any] | str]:
    """Mean metric values per system over the judged queries, or why a system could not run."""
    queries = collection.dataset.judged_queries()
    size = max(m.k or base.depth for m in metrics)
    results: dict[str, dict[str, Any] | str] = {}
    for name in systems:
        if name == lucene_bm25.SYSTEM:
            outcome = run_lucene_bm25(collection, queries, size)
        else:
            outcome = run_system(collection, define_system(name, base), queries, size, reranker=reranker,
                                 profile=profile if name == PROFILE_SYSTEM else None, progress=progress)
        if isinstance(outcome, Unavailable):
            results[name] = outcome.reason
            continue
        per_query = evaluate_rankings(collection.dataset.qrels, outcome.rankings, metrics)
        scores: dict[str, Any] = {metric: mean(values) for metric, values in per_query.items()}
        if outcome.degraded_queries:
            scores["_note"] = f"{outcome.degraded_queries} queries answered degraded"
        results[name] = scores
    return results
