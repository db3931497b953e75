"""Pure functions that build every body the OpenSearch backend sends, and read
the answers it gets back.

Nothing here talks to a cluster, so tests validate each body against the
OpenSearch API specification directly.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import replace
from typing import Any, Iterable, Iterator, Mapping, Sequence

import numpy as np

from app.analysis import document_text
from app.backends.base import (
    PUBLIC,
    AccessFilter,
    BackendError,
    Chunk,
    IndexInfo,
    LegHit,
    LexicalLeg,
    VectorLeg,
    document_body,
    split_doc_key,
)
from app.backends.opensearch_templates import DOCUMENT_TEXT, embedding_mapping
from app.backends.opensearch_versions import (
    LATEST_RELEASE,
    METHOD_PARAMETERS_SINCE,
    PAGINATION_DEPTH_SINCE,
    RRF_RANK_CONSTANT_IN_COMBINATION_SINCE,
    RRF_WEIGHTS_SINCE,
    SCORE_RANKER_SINCE,
    Release,
    UnsupportedByCluster,
)
from app.settings import Settings

#: What a leg hit needs from ``_source``; ``_id`` is the chunk id.
HIT_SOURCE = ["doc_id"]
EMBEDDING = "embedding"
#: What scans of our indexes sort on: a keyword copy of ``_id`` (sorting on
#: ``_id`` needs fielddata, deprecated and off by default in 2.x+).
SCAN_TIEBREAK = "chunk_id"


# ----------------------------------------------------------------- query legs
def access_filters(access: AccessFilter) -> list[dict[str, Any]]:
    """Tenant, ACL and metadata as non-scoring filter clauses (inside every leg)."""
    clauses: list[dict[str, Any]] = [
        {"term": {"tenant": access.tenant}},
        {"terms": {"acl": sorted(access.principals | {PUBLIC})}},
    ]
    for key, values in sorted(access.metadata.items()):
        clauses.append({"terms": {f"metadata.{key}": sorted(values)}})
    return clauses


def lexical_query(
    leg: LexicalLeg, access: AccessFilter, title_boost: float, whole_documents: bool = False
) -> dict[str, Any]:
    """BM25 over the whole-document field (a ``match``; only first chunks hold
    it), or summed over title (boosted) and body (``multi_match`` ``most_fields``)."""
    if whole_documents:
        return {"bool": {"must": [{"match": {DOCUMENT_TEXT: {"query": leg.text}}}], "filter": access_filters(access)}}
    return {
        "bool": {
            "must": [
                {
                    "multi_match": {
                        "query": leg.text,
                        "type": "most_fields",
                        "fields": [f"title^{title_boost:g}", "body"],
                    }
                }
            ],
            "filter": access_filters(access),
        }
    }


def vector_query(
    leg: VectorLeg, access: AccessFilter, ef_search: int | None = None, release: Release = LATEST_RELEASE
) -> dict[str, Any]:
    """k-NN with the filters inside ``knn.filter`` (efficient filtering, k hits).

    ``ef_search`` goes in the query's ``method_parameters`` (from 2.16): the
    Lucene engine ignores the index's ``knn.algo_param.ef_search`` setting
    before k-NN 3.5 and searches with ``ef = k``. Older clusters get none.
    """
    knn: dict[str, Any] = {
        "vector": [float(x) for x in np.asarray(leg.vector, dtype=np.float32)],
        "k": leg.k,
        "filter": {"bool": {"filter": access_filters(access)}},
    }
    if ef_search is not None and release >= METHOD_PARAMETERS_SINCE:
        knn["method_parameters"] = {"ef_search": max(ef_search, leg.k)}
    return {"knn": {EMBEDDING: knn}}


def leg_body(query: Mapping[str, Any], size: int, timeout_s: float | None = None) -> dict[str, Any]:
    """One search body returning chunk ids, doc ids and scores only; with
    ``timeout_s`` the shards stop there and answer what they have (``timed_out``)."""
    body: dict[str, Any] = {"size": size, "query": dict(query), "_source": list(HIT_SOURCE), "track_total_hits": False}
    if timeout_s is not None:
        body["timeout"] = search_timeout(timeout_s)
    return body


def search_timeout(seconds: float) -> str:
    """A body ``timeout`` in OpenSearch's time units (whole milliseconds, at least 1)."""
    return f"{max(1, int(seconds * 1000))}ms"


def msearch_header(index: str, preference: str | None = None, global_statistics: bool = False) -> dict[str, Any]:
    """One ``_msearch`` header.

    ``preference`` routes identical requests to the same shard copies (replicas
    may differ in deleted documents, and so in BM25 statistics);
    ``global_statistics`` asks for ``dfs_query_then_fetch``, so BM25 on an index
    of several shards uses the index's term statistics, not each shard's.
    """
    header: dict[str, Any] = {"index": index}
    if preference is not None:
        header["preference"] = preference
    if global_statistics:
        header["search_type"] = "dfs_query_then_fetch"
    return header


def msearch_lines(searches: Iterable[tuple[Mapping[str, Any], Mapping[str, Any]]]) -> list[dict[str, Any]]:
    """``_msearch`` NDJSON items from ``(header, body)`` pairs."""
    return [dict(line) for header, body in searches for line in (header, body)]


def search_preference(tenant: str, legs: Iterable[LexicalLeg | VectorLeg]) -> str:
    """A stable ``preference`` for one search: a hash of the tenant and what is searched."""
    digest = hashlib.blake2b(tenant.encode(), digest_size=8)
    for leg in legs:
        if isinstance(leg, LexicalLeg):
            digest.update(b"\x00" + leg.text.encode())
        else:
            digest.update(b"\x01" + np.asarray(leg.vector, dtype=np.float32).tobytes())
    return digest.hexdigest()


def hybrid_body(
    lexical: LexicalLeg,
    vector: VectorLeg,
    access: AccessFilter,
    title_boost: float,
    size: int,
    whole_documents: bool = False,
    release: Release = LATEST_RELEASE,
    ef_search: int | None = None,
) -> dict[str, Any]:
    """One ``hybrid`` query (server-side fusion); filters sit inside each sub-query.

    ``pagination_depth`` (how deep each sub-query ranks) is parsed from 2.19;
    older clusters rank each sub-query to the request's ``size``.
    """
    hybrid: dict[str, Any] = {
        "queries": [
            lexical_query(lexical, access, title_boost, whole_documents),
            vector_query(vector, access, ef_search, release),
        ],
    }
    if release >= PAGINATION_DEPTH_SINCE:
        hybrid["pagination_depth"] = max(lexical.k, vector.k)
    return {"size": size, "_source": list(HIT_SOURCE), "query": {"hybrid": hybrid}}


def search_pipeline(
    method: str, normalization: str, weights: Sequence[float], rank_constant: int, release: Release = LATEST_RELEASE
) -> dict[str, Any]:
    """A search pipeline fusing ``[lexical, vector]`` like the service does.

    ``rrf`` → ``score-ranker-processor`` (from 2.19; weighted from 3.1);
    ``linear`` → ``normalization-processor`` (min_max or l2, weighted
    arithmetic mean). Weights are scaled to sum to 1 as neural-search requires
    (same ranking). Raises :class:`UnsupportedByCluster` for what ``release``
    cannot run.
    """
    if method == "rrf":
        processor = {"score-ranker-processor": {"combination": rrf_combination(weights, rank_constant, release)}}
    elif method == "linear":
        if normalization not in ("min_max", "l2"):
            # z_score is not in the API specification; fuse it client-side.
            raise ValueError(f"server-side fusion supports min_max and l2 normalization, not {normalization!r}")
        processor = {
            "normalization-processor": {
                "normalization": {"technique": normalization},
                "combination": {"technique": "arithmetic_mean", "parameters": {"weights": unit_sum_weights(weights)}},
            }
        }
    else:
        raise ValueError(f"unknown fusion method {method!r}")
    return {"description": f"hybrid-search {method} fusion", "phase_results_processors": [processor]}


def rrf_combination(weights: Sequence[float], rank_constant: int, release: Release) -> dict[str, Any]:
    """The score-ranker's ``combination`` for ``release``.

    RRFProcessorFactory reads ``rank_constant`` from ``combination.parameters``
    in 2.19–3.0 and from ``combination`` itself from 3.1 (where ``parameters``
    holds only ``weights``); a misplaced one is ignored and k = 60 is used.
    """
    if release < SCORE_RANKER_SINCE:
        raise UnsupportedByCluster("server-side RRF (score-ranker-processor)", SCORE_RANKER_SINCE, release)
    scaled = unit_sum_weights(weights)
    weighted = not math.isclose(min(scaled), max(scaled))
    if weighted and release < RRF_WEIGHTS_SINCE:
        raise UnsupportedByCluster("weighted server-side RRF", RRF_WEIGHTS_SINCE, release)
    if release < RRF_RANK_CONSTANT_IN_COMBINATION_SINCE:
        return {"technique": "rrf", "parameters": {"rank_constant": rank_constant}}
    combination: dict[str, Any] = {"technique": "rrf", "rank_constant": rank_constant}
    if weighted:
        combination["parameters"] = {"weights": scaled}
    return combination


def unit_sum_weights(weights: Sequence[float]) -> list[float]:
    """``weights`` scaled to sum to 1 (neural-search refuses any other sum); the
    weighted mean, and so the ranking, is unchanged. All-zero weights are refused."""
    if any(w < 0 for w in weights) or sum(weights) <= 0:
        raise ValueError(f"fusion needs non-negative weights with at least one above 0, not {list(weights)}")
    total = math.fsum(weights)
    return [float(w) / total for w in weights]


def pipeline_id(body: Mapping[str, Any]) -> str:
    """A content-addressed pipeline name, so configurations never overwrite each other."""
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:12]
    return f"hybrid-search-{digest}"


# ----------------------------------------------------------------- documents
def chunk_source(chunk: Chunk, whole_documents: bool = False) -> dict[str, Any]:
    """The stored document of one chunk (the strict mapping's fields); with
    ``whole_documents``, a first chunk also holds its whole document's text."""
    if chunk.vector is None:
        raise ValueError(f"chunk {chunk.chunk_id!r} has no vector")
    source: dict[str, Any] = {
        "doc_id": chunk.doc_id,
        "chunk_id": chunk.chunk_id,
        "position": chunk.position,
        "title": chunk.title,
        "body": chunk.text,
        "tenant": chunk.tenant,
        "acl": list(chunk.acl),
        "metadata": {key: list(values) for key, values in chunk.metadata.items()},
        "content_hash": chunk.content_hash,
        EMBEDDING: [float(x) for x in np.asarray(chunk.vector, dtype=np.float32)],
    }
    if whole_documents and chunk.position == 0:
        source[DOCUMENT_TEXT] = document_text(chunk.title, chunk.document_body or chunk.text)
    if chunk.url is not None:
        source["url"] = chunk.url
    if chunk.updated_at is not None:
        source["updated_at"] = chunk.updated_at
    return source


def chunk_from_source(chunk_id: str, source: Mapping[str, Any]) -> Chunk:
    """Inverse of :func:`chunk_source`."""
    vector = source.get(EMBEDDING)
    return Chunk(
        chunk_id=chunk_id,
        doc_id=source["doc_id"],
        position=int(source.get("position", 0)),
        title=source.get("title", ""),
        text=source.get("body", ""),
        tenant=source["tenant"],
        acl=tuple(source.get("acl", ())),
        metadata={k: tuple(v) if isinstance(v, list) else (v,) for k, v in (source.get("metadata") or {}).items()},
        url=source.get("url"),
        updated_at=source.get("updated_at"),
        content_hash=source.get("content_hash", ""),
        vector=np.asarray(vector, dtype=np.float32) if vector is not None else None,
    )


def index_actions(index: str, chunks: Iterable[Chunk], whole_documents: bool = False) -> Iterator[dict[str, Any]]:
    """``streaming_bulk`` actions: index each chunk under its chunk id (idempotent)."""
    for chunk in chunks:
        source = chunk_source(chunk, whole_documents)
        yield {"_op_type": "index", "_index": index, "_id": chunk.chunk_id, "_source": source}


def doc_ids_by_tenant(doc_keys: Iterable[str]) -> dict[str, list[str]]:
    """Document keys as ``tenant -> ids``: ids are unique only within a tenant,
    so every query that names documents names their tenant too."""
    grouped: dict[str, list[str]] = {}
    for key in doc_keys:
        tenant, doc_id = split_doc_key(key)
        grouped.setdefault(tenant, []).append(doc_id)
    return grouped


def stale_chunks_query(tenant: str, doc_ids: Sequence[str], keep_chunk_ids: Sequence[str]) -> dict[str, Any]:
    """Chunks of ``tenant``'s ``doc_ids`` other than ``keep_chunk_ids`` (``_delete_by_query``)."""
    query: dict[str, Any] = {"bool": {"filter": [{"term": {"tenant": tenant}}, {"terms": {"doc_id": list(doc_ids)}}]}}
    if keep_chunk_ids:
        query["bool"]["must_not"] = [{"ids": {"values": list(keep_chunk_ids)}}]
    return {"query": query}


def first_chunks_query(tenant: str | None = None, doc_ids: Sequence[str] | None = None) -> dict[str, Any]:
    """Position-0 chunks (one per document, carrying the content hash), of
    ``tenant``'s ``doc_ids`` when given."""
    clauses: list[dict[str, Any]] = [{"term": {"position": 0}}]
    if tenant is not None:
        clauses.append({"term": {"tenant": tenant}})
    if doc_ids is not None:
        clauses.append({"terms": {"doc_id": list(doc_ids)}})
    return {"bool": {"filter": clauses}}


# --------------------------------------------------------- indexes and aliases
def index_meta(info: IndexInfo, created_at: str) -> dict[str, Any]:
    """What ``IndexInfo`` keeps in the index mapping's ``_meta``."""
    return {
        "template_version": info.template_version,
        "model_version": info.model_version,
        "dimension": info.dimension,
        "created_at": created_at,
        "managed_by": "hybrid-search",
    }


def create_index_body(info: IndexInfo, settings: Settings, created_at: str) -> dict[str, Any]:
    """Index creation on top of the template: this index's ``_meta`` and vector size."""
    return {
        "mappings": {
            "_meta": index_meta(info, created_at),
            "properties": {EMBEDDING: embedding_mapping(settings, info.dimension)},
        }
    }


def alias_actions(alias: str, new_index: str, current: Iterable[str]) -> dict[str, Any]:
    """One atomic ``_aliases`` call moving ``alias`` onto ``new_index``."""
    actions: list[dict[str, Any]] = [
        {"remove": {"index": old, "alias": alias}} for old in sorted(set(current)) if old != new_index
    ]
    actions.append({"add": {"index": new_index, "alias": alias}})
    return {"actions": actions}


def reindex_body(source_index: str, dest_index: str) -> dict[str, Any]:
    """Server-side copy; ``op_type: create`` so nothing already in ``dest`` is overwritten."""
    return {"source": {"index": source_index}, "dest": {"index": dest_index, "op_type": "create"}, "conflicts": "abort"}


def scan_body(
    pit_id: str,
    keep_alive: str,
    size: int,
    fields: Sequence[str] | None,
    search_after: Sequence[Any] | None,
    query: Mapping[str, Any] | None = None,
    tiebreak: str = "_id",
) -> dict[str, Any]:
    """One page of a point-in-time scan, sorted on a unique field for ``search_after``."""
    body: dict[str, Any] = {
        "size": size,
        "pit": {"id": pit_id, "keep_alive": keep_alive},
        "sort": [{tiebreak: {"order": "asc"}}],
        "track_total_hits": False,
        "query": dict(query) if query is not None else {"match_all": {}},
    }
    if fields is not None:
        body["_source"] = list(fields)
    if search_after is not None:
        body["search_after"] = list(search_after)
    return body


# ------------------------------------------------------------------ answers
def leg_hits(response: Mapping[str, Any]) -> list[LegHit]:
    """The hits of one search answer, best first."""
    return [
        LegHit(chunk_id=hit["_id"], doc_id=hit.get("_source", {}).get("doc_id", ""), score=float(hit["_score"] or 0.0))
        for hit in response.get("hits", {}).get("hits", [])
    ]


def is_partial(response: Mapping[str, Any]) -> bool:
    """A search answer that stopped at its timeout or lacks some shards."""
    shards = response.get("_shards") or {}
    return bool(response.get("timed_out")) or int(shards.get("failed", 0) or 0) > 0


def info_from_meta(index: str, meta: Mapping[str, Any], *, chunks: int = 0, documents: int = 0) -> IndexInfo:
    """Inverse of :func:`index_meta`; an index without our ``_meta`` is not ours."""
    if "model_version" not in meta:
        raise BackendError(f"index {index!r} has no hybrid-search _meta; it was not created by this service")
    return IndexInfo(
        name=index,
        template_version=int(meta.get("template_version", 0)),
        model_version=str(meta["model_version"]),
        dimension=int(meta.get("dimension", 0)),
        chunks=chunks,
        documents=documents,
        created_at=str(meta.get("created_at", "")),
    )


def with_document_body(chunks: Sequence[Chunk]) -> list[Chunk]:
    """``chunks`` with the first one carrying a document body (its chunks' text when it has none)."""
    return [
        replace(c, document_body=document_body(chunks)) if c.position == 0 and c.document_body is None else c
        for c in chunks
    ]
