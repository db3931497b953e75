"""The OpenSearch Query DSL subset the ``_search`` facade accepts, as a search request.

A search UI that speaks OpenSearch sends its usual body; this module reads it
into a :class:`~app.search_request.SearchRequest` (the query text, narrowing
and post filters, facets, highlighting) plus what only the OpenSearch answer
shape needs (``_source`` filtering, the aggregation tree). Anything outside the
subset is refused with :class:`DslError`, naming the clause: a clause silently
ignored would return results the UI did not ask for. ``docs/drop-in.md`` lists
each clause and its meaning here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from app.api.dsl_filters import (
    FILTER_KINDS,
    DslError,
    check_bool,
    clauses,
    no_options,
    only,
    read_filter,
    single,
    text_of,
)
from app.api.dsl_shaping import (
    Aggregation,
    SourceFilter,
    check_sort,
    read_aggregations,
    read_count,
    read_highlight,
    read_source,
    read_track_total_hits,
)
from app.facets import FacetRequest
from app.filters import AnyOf, Clause, Not, all_of
from app.search_request import SearchRequest
from app.settings import Settings

#: Top-level body keys the facade reads.
BODY_KEYS = frozenset({
    "query", "from", "size", "track_total_hits", "_source", "sort", "highlight",
    "aggs", "aggregations", "post_filter", "explain", "timeout",
})
#: Query-string syntax the facade would have to interpret; refused rather than read as words.
#: ``+ - !`` are operators only where a term starts ("sign-in" is a word).
QUERY_STRING_SYNTAX = re.compile(r'(?:^|\s)[+\-!]|[=&|><(){}\[\]^"~*?:\\/]|\b(?:AND|OR|NOT|TO)\b')


@dataclass(frozen=True)
class CompatSearch:
    """A facade request: the search to run and how to shape its answer."""

    request: SearchRequest
    source: SourceFilter = SourceFilter()
    aggregations: tuple[Aggregation, ...] = ()
    track_total_hits: bool = True


def parse_search(body: Any, settings: Settings, profile: str | None = None) -> CompatSearch:
    """Read a ``_search`` body; raises :class:`DslError` naming what is not supported."""
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise DslError("request body must be a JSON object", "x_content_parse_exception")
    unknown = sorted(set(body) - BODY_KEYS)
    if unknown:
        raise DslError(f"Unknown key for a START_OBJECT in [{unknown[0]}]: the facade does not support it (docs/drop-in.md)")
    if "aggs" in body and "aggregations" in body:
        raise DslError("Found two aggregation definitions: [aggs] and [aggregations]")
    texts, narrowing = _query(body.get("query", {"match_all": {}}))
    text = " ".join(t for t in texts if t.strip())
    if not text.strip():
        raise DslError(
            "a query without words (match_all, or filters alone) cannot be ranked by hybrid relevance: "
            "send the user's text in match, multi_match or query_string",
            "illegal_argument_exception",
        )
    if len(text) > settings.max_query_chars:
        raise DslError(f"the query text is longer than {settings.max_query_chars} characters", "illegal_argument_exception")
    offset = read_count(body, "from", 0)
    size = read_count(body, "size", 10)
    if size > settings.max_page_size:
        raise DslError(f"[size] must be at most {settings.max_page_size}, was {size}", "illegal_argument_exception")
    check_sort(body.get("sort"))
    explain = body.get("explain", False)
    if not isinstance(explain, bool):
        raise DslError("[explain] must be true or false", "x_content_parse_exception")
    if "timeout" in body and not isinstance(body["timeout"], str):
        raise DslError("[timeout] must be a time value such as \"500ms\"", "x_content_parse_exception")
    facets: list[FacetRequest] = []
    aggregations = read_aggregations(body.get("aggs", body.get("aggregations")), facets, None, "")
    post_filter = read_filter(body["post_filter"]) if "post_filter" in body else None
    request = SearchRequest(
        query=text,
        size=size,
        offset=offset,
        profile=profile,
        explain=explain,
        narrowing=narrowing,
        post_filter=post_filter,
        facets=tuple(facets),
        highlight=read_highlight(body["highlight"]) if "highlight" in body else None,
        passages=True,
    )
    return CompatSearch(request, read_source(body.get("_source", True)), aggregations, read_track_total_hits(body))


# ----------------------------------------------------------------- queries
def _query(query: Any) -> tuple[list[str], Clause | None]:
    """The words a query clause contributes, and the filters it carries."""
    kind, spec = single(query, "query")
    if kind == "match_all":
        no_options(spec, kind)
        return [], None
    if kind in ("match", "match_phrase"):
        _, value = single(spec, kind)
        if isinstance(value, dict):
            only(value, kind, {"query", "operator"})
            _check_or(value, kind)
            value = value.get("query")
        return [text_of(value, kind)], None
    if kind == "multi_match":
        only(spec, kind, {"query", "fields", "type", "operator"})
        _check_or(spec, kind)
        return [text_of(spec.get("query"), kind)], None
    if kind in ("query_string", "simple_query_string"):
        only(spec, kind, {"query", "fields", "default_field", "default_operator"})
        text = text_of(spec.get("query"), kind)
        syntax = QUERY_STRING_SYNTAX.search(text)
        if syntax:
            raise DslError(
                f"[{kind}] is read as plain words; its syntax [{syntax.group()}] is not supported (docs/drop-in.md)",
                "illegal_argument_exception",
            )
        return [text], None
    if kind == "bool":
        check_bool(spec)
        texts: list[str] = []
        filters: list[Clause] = []
        for occur in ("must", "should"):
            for clause in clauses(spec.get(occur), occur):
                words, narrowing = _query(clause)
                if occur == "should" and narrowing is not None:
                    raise DslError("[bool] filters inside [should] are not supported: put them in [filter]")
                texts += words
                filters += [narrowing] if narrowing is not None else []
        filters += [read_filter(clause) for clause in clauses(spec.get("filter"), "filter")]
        excluded = [read_filter(clause) for clause in clauses(spec.get("must_not"), "must_not")]
        if excluded:
            filters.append(Not(excluded[0] if len(excluded) == 1 else AnyOf(tuple(excluded))))
        return texts, all_of(filters)
    if kind in FILTER_KINDS:
        return [], read_filter(query)  # a filter in query context narrows and scores nothing
    raise DslError(f"unknown query [{kind}]: the facade supports match, match_phrase, multi_match, query_string, "
                   "simple_query_string, match_all, bool, term, terms, range, exists and ids")


def _check_or(spec: dict[str, Any], kind: str) -> None:
    """Only ``operator: or``: the hybrid query treats every word as optional."""
    if str(spec.get("operator", "or")).lower() != "or":
        raise DslError(f"[{kind}] operator [{spec['operator']}] is not supported: every word is optional", "illegal_argument_exception")
