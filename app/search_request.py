"""What a caller asked for: the validated search request the query path runs.

Built by :func:`app.api.schemas.load_search_request` from a JSON body (and by
the evaluation tools through the same function), so every field here has
already passed the schema's checks. Identity is not part of it: tenant and
principals come from the verified caller.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping

from app.facets import FacetRequest
from app.filters import METADATA_PREFIX, Clause, Terms, all_of
from app.fusion import LEGS
from app.highlight import HighlightRequest

_NO_FILTERS: Mapping[str, tuple[str, ...]] = MappingProxyType({})


@dataclass(frozen=True)
class SearchRequest:
    """One search, as validated; ``None`` means "as the profile says"."""

    query: str
    size: int = 10
    offset: int = 0
    #: Metadata key → accepted values (a document matches any of them).
    filters: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: _NO_FILTERS)
    profile: str | None = None
    method: str | None = None
    #: Per-leg weights overriding the profile's, leg by leg.
    weights: Mapping[str, float] = field(default_factory=dict)
    normalization: str | None = None
    rank_constant: int | None = None
    depth: int | None = None
    legs: tuple[str, ...] = LEGS
    rerank_enabled: bool | None = None
    rerank_depth: int | None = None
    explain: bool = False
    #: Further narrowing inside every leg (the ``_search`` facade's filter clauses).
    narrowing: Clause | None = None
    #: Applied after facets are counted, before paging (a UI facets on a field it filters).
    post_filter: Clause | None = None
    facets: tuple[FacetRequest, ...] = ()
    highlight: HighlightRequest | None = None
    #: Hits carry the shown chunk's whole text (``passage``), as ``_source`` needs it.
    passages: bool = False

    @classmethod
    def from_fields(cls, data: Mapping[str, Any]) -> SearchRequest:
        """From the schema's loaded fields (the JSON body's shape, ``from`` as ``from_``)."""
        fusion, rerank, legs = data.get("fusion", {}), data.get("rerank", {}), data.get("legs", {})
        return cls(
            query=data["query"],
            size=data.get("size", 10),
            offset=data.get("from_", 0),
            filters=MappingProxyType(dict(data.get("filters", {}))),
            profile=data.get("profile"),
            method=fusion.get("method"),
            weights=MappingProxyType(dict(fusion.get("weights", {}))),
            normalization=fusion.get("normalization"),
            rank_constant=fusion.get("rank_constant"),
            depth=data.get("depth"),
            legs=tuple(name for name in LEGS if legs.get(name, True)),
            rerank_enabled=rerank.get("enabled"),
            rerank_depth=rerank.get("depth"),
            explain=data.get("explain", False),
            post_filter=metadata_terms(data.get("post_filters", {})),
            facets=tuple(
                FacetRequest(name=f["field"], field=METADATA_PREFIX + f["field"], size=f.get("size", 10))
                for f in data.get("facets", [])
            ),
            highlight=HighlightRequest(**data["highlight"]) if "highlight" in data else None,
        )

    def config_changes(self) -> dict[str, Any]:
        """The :class:`~app.profiles.FusionConfig` fields this request overrides."""
        changes = {
            "method": self.method,
            "normalization": self.normalization,
            "rank_constant": self.rank_constant,
            "depth": self.depth,
            "rerank_enabled": self.rerank_enabled,
            "rerank_depth": self.rerank_depth,
        }
        return {key: value for key, value in changes.items() if value is not None}


def metadata_terms(filters: Mapping[str, tuple[str, ...]]) -> Clause | None:
    """``{key: values}`` as one clause: each key holds any of its values."""
    return all_of([Terms(METADATA_PREFIX + key, tuple(values)) for key, values in sorted(filters.items())])
