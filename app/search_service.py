"""The query path, top to bottom in one place.

authenticate (done by the caller) → plan (config, index, legs with the
caller's access) → retrieve (legs run concurrently) → fuse → rerank → respond.
"""

from __future__ import annotations

import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import chain, islice
from operator import itemgetter
from typing import Any, Iterator, Mapping, Sequence

from app.analysis import analyzer, lexical_design
from app.auth import Caller
from app.backends.base import (
    AccessFilter,
    BackendError,
    Chunk,
    IndexInfo,
    Leg,
    LegHit,
    LegResult,
    LexicalLeg,
    QueryRejected,
    SearchBackend,
    VectorLeg,
    index_version,
)
from app.backends.capabilities import ServerSideFusion
from app.clock import elapsed_ms
from app.embedding import Encoder
from app.errors import RETRY_AFTER_S, InvalidRequest, ModelVersionMismatch, Unavailable
from app.facets import FacetCounts, count_facets
from app.filters import admits
from app.fusion import FusedHit, LegContribution, fuse, interpolate
from app.observability.hooks import observe_search
from app.profiles import FusionConfig, ProfileError, resolve
from app.rerank import NO_RERANKER, RerankStage
from app.search_hits import RankedDocument, render_hit, snippet_chunk_id
from app.search_request import SearchRequest
from app.settings import Settings

#: The one result of server-side fusion (OpenSearch ``hybrid`` query).
SERVER_FUSED = "hybrid"
#: Chunks fetched per wanted document, since one document may fill several slots.
CHUNKS_PER_DOCUMENT = 3


@dataclass
class Timings:
    """Wall-clock milliseconds per stage of one request."""

    started: float = field(default_factory=time.perf_counter)
    stages: dict[str, float] = field(default_factory=dict)
    #: perf_counter at each stage's start, for trace spans.
    starts: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        began = self.starts[name] = time.perf_counter()
        try:
            yield
        finally:
            self.stages[name] = round(elapsed_ms(began), 3)

    def as_dict(self) -> dict[str, float]:
        return {**self.stages, "total": round(elapsed_ms(self.started), 3)}


@dataclass(frozen=True)
class Plan:
    """What one search will do: its request, effective config, index, access and legs."""

    request: SearchRequest
    profile: str | None
    config: FusionConfig
    index: IndexInfo
    access: AccessFilter
    legs: dict[str, Leg]


@dataclass(frozen=True)
class Retrieved:
    """What the legs answered: results of the legs that did, and what degraded."""

    results: dict[str, LegResult]
    #: Failed or partial legs, and later a degraded rerank.
    degraded: list[str]
    best_chunk: dict[str, dict[str, LegHit]]
    #: Leg → its best-chunk-per-document run, ``depth`` long.
    runs: dict[str, list[tuple[str, float]]]


@dataclass(frozen=True)
class Faceted:
    """Facet counts, and how many candidates are left after the post filter."""

    counts: dict[str, FacetCounts]
    total: int


class SearchService:
    """Answers search requests for verified callers."""

    def __init__(
        self,
        settings: Settings,
        backend: SearchBackend,
        encoder: Encoder,
        reranker: RerankStage = NO_RERANKER,
    ) -> None:
        self.settings = settings
        self.backend = backend
        self.encoder = encoder
        self.reranker = reranker

    def search(self, request: SearchRequest, caller: Caller, request_id: str = "") -> dict[str, Any]:
        """Run a validated search request as ``caller``."""
        timings = Timings()
        plan = self._plan(request, caller, timings)
        with timings.stage("retrieve"):
            retrieved = self._retrieve(plan)
        for name, result in retrieved.results.items():
            timings.stages[name] = round(result.took_ms, 3)
        with timings.stage("fuse"):
            ranked = self._fuse(plan, retrieved)
        chunks: dict[str, Chunk] = {}
        facets: Faceted | None = None
        if request.facets or request.post_filter is not None:
            with timings.stage("facets"):
                ranked, facets = self._facet(plan, retrieved, ranked)
        if plan.config.rerank_enabled:
            with timings.stage("rerank"):
                ranked, reranked_chunks = self._rerank(request.query, ranked, plan.config, retrieved.degraded, plan.access)
                chunks.update(reranked_chunks)
        with timings.stage("fetch"):
            hits = self._page(plan, ranked, chunks)
        response = self._respond(plan, retrieved, hits, timings, request_id, facets)

        # Record what this search did (audit record, metrics, trace spans, log fields).
        observe_search(
            self.settings,
            caller,
            request.query,
            response,
            starts=timings.starts,
            candidates={name: len(result.hits) for name, result in retrieved.results.items()},
            cache_totals=self.encoder.cache_info(),
            reranker_version=self.reranker.model_version,
        )
        return response

    # ----------------------------------------------------------------- stages
    def _plan(self, request: SearchRequest, caller: Caller, timings: Timings) -> Plan:
        """The effective config, the live index, and the legs to run with the caller's access."""
        try:
            profile, config = resolve(self.settings, request)
        except ProfileError as exc:
            raise InvalidRequest(str(exc), {"profile": [str(exc)]}) from None
        if request.offset + request.size > config.depth:
            raise InvalidRequest(
                f"from + size ({request.offset + request.size}) must not exceed depth ({config.depth}); raise 'depth' to page further",
                {"from": [f"from + size must be <= depth ({config.depth})"]},
            )
        index = self._check_index()
        # The caller's identity, never the body, decides access.
        access = AccessFilter(
            tenant=caller.tenant, principals=caller.principals, metadata=request.filters, narrowing=request.narrowing
        )
        legs: dict[str, Leg] = {}
        per_leg_chunks = config.depth * CHUNKS_PER_DOCUMENT
        if "lexical" in request.legs:
            legs["lexical"] = LexicalLeg(text=request.query, k=per_leg_chunks, max_documents=config.depth)
        if "vector" in request.legs:
            with timings.stage("embed"):
                vector = self.encoder.embed_query(request.query)
            legs["vector"] = VectorLeg(vector=vector, k=per_leg_chunks, max_documents=config.depth)
        return Plan(request, profile, config, index, access, legs)

    def _retrieve(self, plan: Plan) -> Retrieved:
        """Run the legs (inside the backend: threads, or one ``_msearch``); a failed leg degrades."""
        results = self._run_legs(plan.legs, plan.access, plan.config)
        degraded = [name for name, result in results.items() if result.failure is not None]
        degraded += [f"{name}:partial" for name, result in results.items() if result.partial]
        results = {name: result for name, result in results.items() if result.failure is None}
        if not results:
            raise Unavailable("every retrieval leg failed: " + "; ".join(degraded), retry_after_s=RETRY_AFTER_S)
        best_chunk = {name: best_chunk_per_document(result.hits) for name, result in results.items()}
        runs = {
            name: [(doc_id, hit.score) for doc_id, hit in islice(chunks.items(), plan.config.depth)]
            for name, chunks in best_chunk.items()
        }
        return Retrieved(results, degraded, best_chunk, runs)

    def _fuse(self, plan: Plan, retrieved: Retrieved) -> list[RankedDocument]:
        """The fused head (unless the engine fused: then its order is kept).

        Only the head can be reranked or shown, so fusion stops there.
        """
        config, request, runs = plan.config, plan.request, retrieved.runs
        head: int | None = max(request.offset + request.size, config.rerank_depth if config.rerank_enabled else 0)
        if request.post_filter is not None:
            head = None  # the post filter may drop any of the head: fuse every candidate
        if SERVER_FUSED in runs:
            fused = as_fused(runs[SERVER_FUSED][:head])
        else:
            fused = fuse(
                runs,
                method=config.method,
                weights=config.weights,
                normalization=config.normalization,
                rank_constant=config.rank_constant,
                limit=head,
            )
        return [
            RankedDocument(hit, rank, {leg: retrieved.best_chunk[leg][hit.doc_id] for leg in hit.legs})
            for rank, hit in enumerate(fused, start=1)
        ]

    def _facet(
        self, plan: Plan, retrieved: Retrieved, ranked: list[RankedDocument]
    ) -> tuple[list[RankedDocument], Faceted]:
        """Facet counts over the candidate documents, then the post filter on them.

        The candidates are every document a leg returned within the fusion
        depth (see :mod:`app.facets`); each is read once, access checked again.
        """
        request = plan.request
        shown: dict[str, str] = {}
        for leg, run in retrieved.runs.items():
            for doc_id, _ in run:
                shown.setdefault(doc_id, retrieved.best_chunk[leg][doc_id].chunk_id)
        chunks = self._fetch(list(shown.values()), plan.access, text=False)
        documents = {doc_id: chunks[chunk_id] for doc_id, chunk_id in shown.items() if chunk_id in chunks}
        counts = count_facets(request.facets, list(documents.values()))
        if request.post_filter is not None:
            documents = {doc_id: c for doc_id, c in documents.items() if admits(request.post_filter, c)}
            ranked = [doc for doc in ranked if doc.fused.doc_id in documents]
        return ranked, Faceted(counts, len(documents))

    def _page(self, plan: Plan, ranked: list[RankedDocument], chunks: dict[str, Chunk]) -> list[dict[str, Any]]:
        """The requested page, only documents whose shown chunk the caller may read
        now (a write since the legs ran may have changed its access)."""
        request = plan.request
        page = ranked[request.offset : request.offset + request.size]
        shown = [snippet_chunk_id(doc) for doc in page]
        chunks.update(self._fetch([chunk_id for chunk_id in shown if chunk_id not in chunks], plan.access))
        marking = None
        if request.highlight is not None:
            chain = analyzer(lexical_design(plan.index.template_version).analyzer)
            marking = (request.highlight, chain, frozenset(chain.analyze(request.query)))
        return [
            render_hit(doc, chunks, request.explain, marking, request.passages)
            for doc in page
            if snippet_chunk_id(doc) in chunks
        ]

    def _respond(
        self,
        plan: Plan,
        retrieved: Retrieved,
        hits: list[dict[str, Any]],
        timings: Timings,
        request_id: str,
        faceted: Faceted | None = None,
    ) -> dict[str, Any]:
        index = plan.index
        if faceted is None:
            total = len(set(map(itemgetter(0), chain.from_iterable(retrieved.runs.values()))))
        else:
            total = faceted.total
        facets = {} if faceted is None else {name: counts.to_json() for name, counts in faceted.counts.items()}
        return {
            "hits": hits,
            "total": total,
            **({"facets": facets} if plan.request.facets else {}),
            "from": plan.request.offset,
            "size": plan.request.size,
            "index": index.name,
            "index_version": index_version(self.backend.alias, index.name) if index.name.startswith(self.backend.alias) else None,
            "model_version": self.encoder.model_version,
            "profile": plan.profile,
            "fusion": plan.config.describe(),
            "degraded": retrieved.degraded,
            "timings_ms": timings.as_dict(),
            "request_id": request_id,
            # The id a UI's User Behavior Insights events refer to (app.observability.ubi).
            "query_id": uuid.uuid4().hex,
        }

    def _check_index(self) -> IndexInfo:
        try:
            index = self.backend.live_index()
        except BackendError as exc:
            raise backend_unavailable(exc) from None
        if index.model_version != self.encoder.model_version:
            raise ModelVersionMismatch(
                f"index {index.name!r} was built with embedding model {index.model_version!r} but the service runs "
                f"{self.encoder.model_version!r}; re-ingest (hybrid-search index migrate) or deploy the matching model",
                {"index_model_version": index.model_version, "service_model_version": self.encoder.model_version},
            )
        return index

    def _run_legs(self, legs: Mapping[str, Leg], access: AccessFilter, config: FusionConfig) -> dict[str, LegResult]:
        """Both legs in one go; with server-side fusion, one ``hybrid`` query."""
        try:
            if (
                self.settings.opensearch_fusion_mode == "server"
                and len(legs) == 2
                and isinstance(self.backend, ServerSideFusion)
            ):
                fused = self.backend.run_fused(
                    legs["lexical"], legs["vector"], access, method=config.method, weights=config.weights,
                    normalization=config.normalization, rank_constant=config.rank_constant,
                )
                return {SERVER_FUSED: fused}
            return self.backend.run_legs(legs, access)
        except QueryRejected as exc:
            raise InvalidRequest(f"the search engine rejected the query: {exc}") from None
        except BackendError as exc:
            raise backend_unavailable(exc) from None
        except TimeoutError:
            raise Unavailable(
                f"a retrieval leg took longer than {self.settings.leg_timeout_s} s", retry_after_s=RETRY_AFTER_S
            ) from None

    def _fetch(self, chunk_ids: Sequence[str], access: AccessFilter, *, text: bool = True) -> dict[str, Chunk]:
        """The stored chunks ``access`` admits, by id.

        A fetch reads the chunk as stored now, which may be a newer version than
        the one the legs ranked (embedded: the live rows; OpenSearch: a realtime
        mget), so access is checked again on what comes back.
        """
        try:
            found = self.backend.fetch_chunks(chunk_ids, text=text)
        except BackendError as exc:
            raise backend_unavailable(exc) from None
        return {chunk_id: chunk for chunk_id, chunk in found.items() if access.admits(chunk)}

    def _rerank(
        self,
        query: str,
        ranked: list[RankedDocument],
        config: FusionConfig,
        degraded: list[str],
        access: AccessFilter,
    ) -> tuple[list[RankedDocument], dict[str, Chunk]]:
        """Reorder the top ``rerank_depth`` by cross-encoder score; never raises."""
        if self.reranker.unavailable_reason is not None:
            degraded.append("rerank")
            return ranked, {}
        # Documents the caller may no longer read leave the list before scoring.
        chunks = self._fetch([snippet_chunk_id(doc) for doc in ranked[: config.rerank_depth]], access)
        head = [doc for doc in ranked[: config.rerank_depth] if snippet_chunk_id(doc) in chunks]
        ranked = head + ranked[config.rerank_depth :]
        passages = [chunk.passage() if (chunk := chunks.get(snippet_chunk_id(doc))) else "" for doc in head]
        try:
            outcome = self.reranker.rerank(query, passages, self.settings.rerank_budget_ms)
        except Exception:  # noqa: BLE001 - a reranker failure must not fail the search
            degraded.append("rerank")
            return ranked, chunks
        if outcome.degraded:
            degraded.append("rerank")
        scored = head[: len(outcome.scores)]
        if not scored:
            return ranked, chunks
        blended = interpolate(outcome.scores, [doc.fused.score for doc in scored], self.settings.rerank_interpolation)
        order = sorted(zip(scored, blended, outcome.scores), key=lambda t: (-t[1], -t[0].fused.score, t[0].fused.doc_id))
        reranked = [
            RankedDocument(doc.fused, doc.fused_rank, doc.best_chunk, score, rank, model_score)
            for rank, (doc, score, model_score) in enumerate(order, start=1)
        ]
        return reranked + ranked[len(scored) :], chunks

def as_fused(run: Sequence[tuple[str, float]]) -> list[FusedHit]:
    """An engine-fused run as fused hits, order kept."""
    return [
        FusedHit(doc_id, score, {SERVER_FUSED: LegContribution(score, None, rank)})
        for rank, (doc_id, score) in enumerate(run, start=1)
    ]


def best_chunk_per_document(hits: Sequence[LegHit]) -> dict[str, LegHit]:
    """Collapse chunk hits to each document's best chunk, keeping leg order."""
    best: dict[str, LegHit] = {}
    keep_first = best.setdefault
    for hit in hits:
        keep_first(hit.doc_id, hit)
    return best


def backend_unavailable(exc: BackendError) -> Unavailable:
    """The 503 for a backend failure; worth a retry only when the cause is transient."""
    return Unavailable(str(exc), retry_after_s=RETRY_AFTER_S if exc.transient else None)


