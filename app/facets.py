"""Facets: ``terms`` counts of metadata values over the documents a search considered.

Counted once per document (its metadata is the same on every chunk), over the
candidate documents: every document some retrieval leg returned within the
fusion depth, after the query's filters and the caller's access, before a
``post_filter``. Buckets are ordered as OpenSearch orders a ``terms``
aggregation by default: count descending, then value ascending.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, Iterable

from app.backends.base import Chunk
from app.filters import Clause, admits, field_values


#: The most buckets a facet may ask for (both APIs check it).
MAX_FACET_SIZE = 100


@dataclass(frozen=True)
class FacetRequest:
    """One facet: the ``size`` most common values of ``field`` among the
    documents that pass ``filter`` (all when ``None``)."""

    name: str
    field: str
    size: int = 10
    filter: Clause | None = None


@dataclass(frozen=True)
class FacetCounts:
    #: Documents the facet counted over (those passing its filter).
    documents: int
    buckets: list[tuple[str, int]]
    #: Value occurrences beyond the first ``size`` buckets.
    other: int

    def to_json(self) -> dict[str, Any]:
        return {
            "documents": self.documents,
            "buckets": [{"value": value, "count": count} for value, count in self.buckets],
            "other": self.other,
        }


def count_facets(requests: Iterable[FacetRequest], documents: list[Chunk]) -> dict[str, FacetCounts]:
    """Each facet over ``documents`` (one chunk per document)."""
    out = {}
    for request in requests:
        chosen = [doc for doc in documents if admits(request.filter, doc)]
        counts = Counter(value for doc in chosen for value in set(field_values(doc, request.field)))
        ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        shown = ordered[: request.size]
        out[request.name] = FacetCounts(len(chosen), shown, sum(c for _, c in ordered[request.size :]))
    return out
