"""The OpenSearch-compatible facade: ``_search`` and ``_msearch`` under hybrid ranking.

An existing search UI (opensearch-py, the JavaScript client, a UI library) moves
to hybrid relevance by changing its host and sending a bearer token. The body
is read by :mod:`app.api.query_dsl` into the same search request ``/v1/search``
runs, so the query path, security trimming and observability are the same; the
answer and the errors come back in OpenSearch's shapes.
"""

from __future__ import annotations

import fnmatch
import time
from typing import Any, Mapping

import orjson
from flask import Blueprint, Response, g, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from app.api.dsl_filters import DslError
from app.api.dsl_shaping import Aggregation, SourceFilter
from app.api.query_dsl import CompatSearch, parse_search
from app.api.routes import components
from app.auth import Caller
from app.clock import elapsed_ms
from app.errors import ServiceError, Unauthorized, Unavailable
from app.profiles import PROFILE_NAME

compat = Blueprint("compat", __name__)

#: The OpenSearch release whose ``_search`` API the facade answers as (``GET /``).
COMPAT_VERSION = "2.19.0"
#: Query parameters the facade reads; any other is refused, as OpenSearch refuses it.
QUERY_PARAMS = frozenset({"profile", "q"})
PROFILE_HEADER = "X-Hybrid-Profile"
#: Error ``type`` per status when the service, not the DSL, refuses.
ERROR_TYPES = {
    400: "illegal_argument_exception",
    401: "security_exception",
    404: "index_not_found_exception",
    413: "content_too_long_exception",
    503: "search_phase_execution_exception",
}


class CompatError(Exception):
    """An error answered in OpenSearch's shape."""

    def __init__(self, status: int, kind: str, reason: str, headers: Mapping[str, str] | None = None, **extra: Any) -> None:
        super().__init__(reason)
        self.status, self.kind, self.reason, self.headers, self.extra = status, kind, reason, dict(headers or {}), extra

    def body(self) -> dict[str, Any]:
        cause = {"type": self.kind, "reason": self.reason, **self.extra}
        return {"error": {"root_cause": [cause], **cause}, "status": self.status}


def answer(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status=status, headers=dict(headers or {}), mimetype="application/json")


# ----------------------------------------------------------------- endpoints
@compat.get("/")
def cluster_info() -> Response:
    """What a client probing the cluster's root expects (no token needed, as no data is shown)."""
    return answer({
        "name": "hybrid-search",
        "cluster_name": "hybrid-search",
        "cluster_uuid": "_na_",
        "version": {"distribution": "opensearch", "number": COMPAT_VERSION, "build_type": "hybrid-search",
                    "lucene_version": "9.12.1", "minimum_wire_compatibility_version": "7.10.0",
                    "minimum_index_compatibility_version": "7.0.0"},
        "tagline": "The OpenSearch Project: https://opensearch.org/",
    })


@compat.route("/<target>/_search", methods=["GET", "POST"])
def search(target: str) -> Response:
    """One search in OpenSearch's shape, ranked by the hybrid service."""
    started = time.perf_counter()
    caller = _caller()
    _check_params()
    _check_target(target)
    body = _json_body()
    if "q" in request.args:
        if body:
            raise CompatError(400, "illegal_argument_exception", "send the query in the body or in [q], not both")
        body = {"query": {"query_string": {"query": request.args["q"]}}}
    return answer(_run(target, body, caller, started))


@compat.post("/_msearch")
@compat.post("/<target>/_msearch")
def msearch(target: str | None = None) -> Response:
    """Several searches, each answered or failed on its own, as ``_msearch`` does."""
    started = time.perf_counter()
    caller = _caller()
    _check_params()
    if target is not None:
        _check_target(target)
    lines = [line for line in request.get_data().splitlines() if line.strip()]
    if len(lines) % 2:
        raise CompatError(400, "illegal_argument_exception", "_msearch takes header and body lines in pairs")
    responses = []
    for header_line, body_line in zip(lines[::2], lines[1::2]):
        item_started = time.perf_counter()
        try:
            header, body = _ndjson(header_line), _ndjson(body_line)
            if not isinstance(header, dict):
                raise CompatError(400, "illegal_argument_exception", "an _msearch header must be an object")
            unknown = sorted(set(header) - {"index"})
            if unknown:
                raise CompatError(400, "illegal_argument_exception", f"_msearch header option [{unknown[0]}] is not supported")
            item_target = header.get("index", target)
            if not isinstance(item_target, str):
                raise CompatError(400, "illegal_argument_exception", "_msearch needs an index, in the path or the header")
            _check_target(item_target)
            responses.append({**_run(item_target, body, caller, item_started), "status": 200})
        except (CompatError, ServiceError) as exc:
            error = exc if isinstance(exc, CompatError) else _from_service_error(exc)
            responses.append({"error": error.body()["error"], "status": error.status})
    return answer({"took": round(elapsed_ms(started)), "responses": responses})


@compat.errorhandler(CompatError)
def compat_error(exc: CompatError) -> Response:
    return answer(exc.body(), exc.status, exc.headers)


@compat.errorhandler(ServiceError)
def service_error(exc: ServiceError) -> Response:
    error = _from_service_error(exc)
    return answer(error.body(), error.status, error.headers)


@compat.errorhandler(HTTPException)
def http_error(exc: HTTPException) -> Response:
    if isinstance(exc, RequestEntityTooLarge):
        reason = f"request body exceeds {components().settings.max_body_bytes} bytes"
    else:
        reason = exc.description or exc.name
    status = exc.code or 500
    kind = ERROR_TYPES.get(status, (exc.name or "error").lower().replace(" ", "_") + "_exception")
    return answer(CompatError(status, kind, reason).body(), status)


# ----------------------------------------------------------------- the query path
def _run(target: str, body: Any, caller: Caller, started: float) -> dict[str, Any]:
    parts = components()
    try:
        parsed = parse_search(body, parts.settings, _profile())
    except DslError as exc:
        raise CompatError(400, exc.kind, exc.reason) from None
    result = parts.service.search(parsed.request, caller, request_id=g.request_id)
    return _as_opensearch(parsed, result, started)


def _as_opensearch(parsed: CompatSearch, result: Mapping[str, Any], started: float) -> dict[str, Any]:
    """A service answer in ``_search``'s shape; our own details under ``hybrid``."""
    hits = [_hit(hit, result["index"], parsed) for hit in result["hits"]]
    partial = any(reason.endswith(":partial") for reason in result["degraded"])
    failed = [reason for reason in result["degraded"] if not reason.endswith(":partial")]
    found: dict[str, Any] = {"max_score": max((h["_score"] for h in hits), default=None), "hits": hits}
    if parsed.track_total_hits:
        found = {"total": {"value": result["total"], "relation": "eq"}, **found}
    response: dict[str, Any] = {
        "took": round(elapsed_ms(started)),
        "timed_out": partial,
        "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
        "hits": found,
    }
    if parsed.aggregations:
        response["aggregations"] = _aggregations(parsed.aggregations, result.get("facets", {}))
    response["hybrid"] = {
        "profile": result["profile"], "fusion": result["fusion"], "degraded": result["degraded"],
        "failed_legs": failed, "timings_ms": result["timings_ms"], "request_id": result["request_id"],
        "query_id": result["query_id"],
    }
    return response


def _hit(hit: Mapping[str, Any], index: str, parsed: CompatSearch) -> dict[str, Any]:
    source = {
        "doc_id": hit["id"], "title": hit["title"], "body": hit.get("passage", hit["snippet"]),
        "url": hit["url"], "updated_at": hit.get("updated_at"), "metadata": hit["metadata"],
    }
    out: dict[str, Any] = {"_index": index, "_id": hit["id"], "_score": hit["score"]}
    if parsed.source.enabled:
        out["_source"] = filtered_source(source, parsed.source)
    if hit.get("highlight"):
        out["highlight"] = hit["highlight"]
    if "explain" in hit:
        out["_explanation"] = _explanation(hit["explain"], hit["score"])
    return out


def filtered_source(source: Mapping[str, Any], spec: SourceFilter) -> dict[str, Any]:
    """``_source`` includes/excludes on dotted paths (``metadata.team``, ``metadata.*``)."""
    flat: dict[str, Any] = {}
    for key, value in source.items():
        if key == "metadata":
            flat.update({f"metadata.{k}": v for k, v in value.items()})
        else:
            flat[key] = value

    def chosen(path: str, patterns: tuple[str, ...]) -> bool:
        return any(fnmatch.fnmatchcase(path, p) or path.startswith(p + ".") for p in patterns)

    kept = {
        path: value for path, value in flat.items()
        if (not spec.includes or chosen(path, spec.includes)) and not chosen(path, spec.excludes)
    }
    out: dict[str, Any] = {}
    for path, value in kept.items():
        if path.startswith("metadata."):
            out.setdefault("metadata", {})[path[len("metadata."):]] = value
        else:
            out[path] = value
    if "metadata" in source and "metadata" not in out and (not spec.includes or chosen("metadata", spec.includes)):
        if not chosen("metadata", spec.excludes):
            out["metadata"] = {}
    return out


def _aggregations(aggregations: tuple[Aggregation, ...], facets: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for aggregation in aggregations:
        counts = facets[aggregation.facet]
        if aggregation.kind == "terms":
            out[aggregation.name] = {
                "doc_count_error_upper_bound": 0,
                "sum_other_doc_count": counts["other"],
                "buckets": [{"key": b["value"], "doc_count": b["count"]} for b in counts["buckets"]],
            }
        else:
            out[aggregation.name] = {"doc_count": counts["documents"], **_aggregations(aggregation.children, facets)}
    return out


def _explanation(details: Mapping[str, Any], score: float) -> dict[str, Any]:
    legs = [
        {
            "value": part["raw_score"],
            "description": f"{leg}: rank {part['rank']}, normalized {part['normalized_score']}, chunk {part['chunk_id']}",
            "details": [],
        }
        for leg, part in details.items()
        if isinstance(part, dict) and "raw_score" in part
    ]
    description = f"hybrid fusion: fused rank {details.get('fused_rank')}, fused score {details.get('fused_score')}"
    if "rerank" in details:
        description += f", reranked to rank {details['rerank']['rank']}"
    return {"value": score, "description": description, "details": legs}


# ----------------------------------------------------------------- request checks
def _caller() -> Caller:
    return components().verifier.verify(request.headers.get("Authorization"))


def _check_params() -> None:
    unknown = sorted(set(request.args) - QUERY_PARAMS)
    if unknown:
        raise CompatError(400, "illegal_argument_exception",
                          f"request [{request.path}] contains unrecognized parameter: [{unknown[0]}]")


def _check_target(target: str) -> None:
    settings = components().settings
    names = {settings.index_alias} | {n.strip() for n in settings.compat_index_names.split(",") if n.strip()}
    if target not in names:
        raise CompatError(404, "index_not_found_exception", f"no such index [{target}]", index=target,
                          **{"resource.type": "index_or_alias", "resource.id": target, "index_uuid": "_na_"})


def _profile() -> str | None:
    profile = request.args.get("profile") or request.headers.get(PROFILE_HEADER)
    if profile is not None and not PROFILE_NAME.match(profile):
        raise CompatError(400, "illegal_argument_exception", f"[profile] {profile!r} is not a profile name")
    return profile


def _json_body() -> Any:
    raw = request.get_data()
    if not raw.strip():
        return {}
    return _ndjson(raw)


def _ndjson(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise CompatError(400, "parse_exception", f"request body is not valid JSON: {exc}") from None


def _from_service_error(exc: ServiceError) -> CompatError:
    headers: dict[str, str] = {}
    if isinstance(exc, Unavailable) and exc.retry_after_s is not None:
        headers["Retry-After"] = str(exc.retry_after_s)
    if isinstance(exc, Unauthorized):
        headers["WWW-Authenticate"] = 'Bearer realm="hybrid-search"'
    kind = ERROR_TYPES.get(exc.status, exc.code)
    return CompatError(exc.status, kind, exc.message, headers)
