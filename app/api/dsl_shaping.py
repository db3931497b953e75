"""The parts of a ``_search`` body that shape its answer: aggregations,
highlighting, ``_source``, ``sort`` and ``track_total_hits``."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Mapping

from app.api.dsl_filters import DslError, field_name, only, read_filter
from app.facets import MAX_FACET_SIZE, FacetRequest
from app.filters import DOC_ID, AllOf, Clause
from app.highlight import (
    FRAGMENT_COUNT_RANGE,
    FRAGMENT_SIZE_RANGE,
    HIGHLIGHT_FIELDS,
    MAX_TAG_CHARS,
    HighlightRequest,
)

MAX_AGGREGATIONS = 8


@dataclass(frozen=True)
class SourceFilter:
    """``_source``: whether to return it, and which fields (dotted, ``*`` wildcards)."""

    enabled: bool = True
    includes: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Aggregation:
    """One named aggregation: ``terms`` (a facet) or ``filter`` around sub-aggregations.

    ``facet`` is the facet whose counts answer it; for a ``filter`` aggregation
    it counts the documents under the filter (its ``documents``).
    """

    name: str
    kind: str
    facet: str
    children: tuple[Aggregation, ...] = ()


def read_aggregations(spec: Any, facets: list[FacetRequest], under: Clause | None, prefix: str) -> tuple[Aggregation, ...]:
    if spec is None:
        return ()
    if not isinstance(spec, dict) or len(spec) > MAX_AGGREGATIONS:
        raise DslError(f"[aggs] must be an object of at most {MAX_AGGREGATIONS} named aggregations", "x_content_parse_exception")
    out = []
    for name, body in spec.items():
        if not isinstance(body, dict):
            raise DslError(f"aggregation [{name}] must be an object", "x_content_parse_exception")
        kinds = sorted(set(body) - {"aggs", "aggregations"})
        if len(kinds) != 1:
            raise DslError(f"aggregation [{name}] must have exactly one type, found {kinds}")
        kind, inner = kinds[0], body[kinds[0]]
        facet = f"{prefix}{name}"
        if kind == "terms":
            if "aggs" in body or "aggregations" in body:
                raise DslError(f"sub-aggregations of the terms aggregation [{name}] are not supported")
            only(inner, "terms", {"field", "size"})
            size = bounded_integer(inner.get("size", 10), "[terms] size", 1, MAX_FACET_SIZE)
            facets.append(FacetRequest(name=facet, field=field_name(inner.get("field")), size=size, filter=under))
            out.append(Aggregation(name, "terms", facet))
        elif kind == "filter":
            narrowed = read_filter(inner) if under is None else AllOf((under, read_filter(inner)))
            facets.append(FacetRequest(name=facet, field=DOC_ID, size=1, filter=narrowed))
            children = read_aggregations(body.get("aggs", body.get("aggregations")), facets, narrowed, f"{facet}>")
            out.append(Aggregation(name, "filter", facet, children))
        else:
            raise DslError(f"unknown aggregation type [{kind}]: the facade supports terms and filter")
    return tuple(out)


def read_highlight(spec: Any) -> HighlightRequest:
    if not isinstance(spec, dict):
        raise DslError("[highlight] must be an object", "x_content_parse_exception")
    only(spec, "highlight", {"fields", "pre_tags", "post_tags", "fragment_size", "number_of_fragments"})
    requested = spec.get("fields", {})
    if isinstance(requested, list):  # [{"title": {}}, ...] is accepted by OpenSearch too
        requested = {k: v for item in requested if isinstance(item, dict) for k, v in item.items()}
    if not isinstance(requested, dict) or not requested:
        raise DslError("[highlight] needs fields", "x_content_parse_exception")
    names: list[str] = []
    for name, options in requested.items():
        if options not in ({}, None):
            raise DslError(f"per-field highlight options on [{name}] are not supported")
        if name == "*":
            names += HIGHLIGHT_FIELDS
        elif name in HIGHLIGHT_FIELDS:
            names.append(name)
        else:
            raise DslError(f"cannot highlight [{name}]: highlighted fields are {', '.join(HIGHLIGHT_FIELDS)}", "illegal_argument_exception")
    request = HighlightRequest(fields=tuple(dict.fromkeys(names)))
    for key, tag in (("pre_tags", "pre_tag"), ("post_tags", "post_tag")):
        if key in spec:
            tags = spec[key]
            if not (isinstance(tags, list) and len(tags) == 1 and isinstance(tags[0], str) and len(tags[0]) <= MAX_TAG_CHARS):
                raise DslError(f"[highlight] {key} must be a list of one tag", "illegal_argument_exception")
            request = replace(request, **{tag: tags[0]})
    for key, (low, high) in (("fragment_size", FRAGMENT_SIZE_RANGE), ("number_of_fragments", FRAGMENT_COUNT_RANGE)):
        if key in spec:
            request = replace(request, **{key: bounded_integer(spec[key], f"[highlight] {key}", low, high)})
    return request


def read_source(spec: Any) -> SourceFilter:
    if isinstance(spec, bool):
        return SourceFilter(enabled=spec)
    if isinstance(spec, str):
        return SourceFilter(includes=(spec,))
    if isinstance(spec, list) and all(isinstance(s, str) for s in spec):
        return SourceFilter(includes=tuple(spec))
    if isinstance(spec, dict):
        only(spec, "_source", {"includes", "excludes"})
        parts = {key: spec.get(key, []) for key in ("includes", "excludes")}
        parts = {key: [value] if isinstance(value, str) else value for key, value in parts.items()}
        if all(isinstance(v, list) and all(isinstance(s, str) for s in v) for v in parts.values()):
            return SourceFilter(includes=tuple(parts["includes"]), excludes=tuple(parts["excludes"]))
    raise DslError("[_source] must be a boolean, a field pattern, a list of them, or {includes, excludes}", "x_content_parse_exception")


def check_sort(spec: Any) -> None:
    """Only relevance order: ``_score`` descending (the hybrid score)."""
    if spec is None:
        return
    items = spec if isinstance(spec, list) else [spec]
    for item in items:
        if item == "_score" or item in ({"_score": "desc"}, {"_score": {"order": "desc"}}):
            continue
        shown = item if isinstance(item, str) else next(iter(item), "?") if isinstance(item, dict) else item
        raise DslError(
            f"sorting on [{shown}] is not supported: hits are ordered by hybrid relevance (_score, descending)",
            "illegal_argument_exception",
        )


def read_track_total_hits(body: Mapping[str, Any]) -> bool:
    value = body.get("track_total_hits", True)
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value >= 0:
        return True
    raise DslError("[track_total_hits] must be a boolean or a non-negative integer", "x_content_parse_exception")


def read_count(body: Mapping[str, Any], key: str, default: int) -> int:
    value = body.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise DslError(f"[{key}] must be a non-negative integer", "x_content_parse_exception")
    return value


def bounded_integer(value: Any, what: str, low: int, high: int) -> int:
    """``value`` if it is an integer within ``[low, high]``; a 400 naming ``what`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise DslError(f"{what} must be an integer from {low} to {high}", "illegal_argument_exception")
    return value


