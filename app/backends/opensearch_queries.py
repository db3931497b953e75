"""Pure functions that build the search bodies the OpenSearch backend sends
(the legs, the hybrid query, search pipelines) and read the hits they answer.

Nothing here talks to a cluster, so tests validate each body against the
OpenSearch API specification directly.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from app.backends.base import PUBLIC, AccessFilter, BackendError, LegHit, LegResult, LexicalLeg, VectorLeg
from app.backends.opensearch_client import from_error_response
from app.backends.opensearch_templates import DOCUMENT_TEXT, EMBEDDING
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
from app.filters import AllOf, AnyOf, Clause, Exists, Not, Range, Terms

#: What a leg hit needs from ``_source``; ``_id`` is the chunk id.
HIT_SOURCE = ["doc_id"]


def access_filters(access: AccessFilter) -> list[dict[str, Any]]:
    """Tenant, ACL and metadata as non-scoring filter clauses (inside every leg)."""
    clauses: list[dict[str, Any]] = [
        {"term": {"tenant": access.tenant}},
        {"terms": {"acl": sorted(access.principals | {PUBLIC})}},
    ]
    for key, values in sorted(access.metadata.items()):
        clauses.append({"terms": {f"metadata.{key}": sorted(values)}})
    if access.narrowing is not None:
        clauses.append(filter_query(access.narrowing))
    return clauses


def filter_query(clause: Clause) -> dict[str, Any]:
    """A narrowing clause (:mod:`app.filters`) as a non-scoring Query DSL clause."""
    if isinstance(clause, Terms):
        return {"terms": {clause.field: list(clause.values)}}
    if isinstance(clause, Range):
        bounds = {op: getattr(clause, op) for op in ("gt", "gte", "lt", "lte") if getattr(clause, op) is not None}
        return {"range": {clause.field: bounds}}
    if isinstance(clause, Exists):
        return {"exists": {"field": clause.field}}
    if isinstance(clause, Not):
        return {"bool": {"must_not": [filter_query(clause.clause)]}}
    if isinstance(clause, AllOf):
        return {"bool": {"filter": [filter_query(c) for c in clause.clauses]}}
    if isinstance(clause, AnyOf):
        return {"bool": {"should": [filter_query(c) for c in clause.clauses], "minimum_should_match": 1}}
    raise TypeError(f"not a filter clause: {clause!r}")


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


def leg_result(name: str, item: Mapping[str, Any], wall_ms: float) -> LegResult:
    """One ``_msearch`` answer item as leg ``name``'s result; a transient error
    fails that leg alone (the others still answer), any other raises."""
    if "error" not in item:
        return LegResult(name=name, hits=leg_hits(item), took_ms=float(item.get("took", wall_ms)), partial=is_partial(item))
    error = from_error_response(item.get("status", 500), item["error"], f"running the {name} leg") or BackendError(
        f"the {name} leg failed: {item['error']}", transient=True
    )
    if not (isinstance(error, BackendError) and error.transient):
        raise error
    return LegResult(name=name, hits=[], took_ms=wall_ms, failure=str(error))
