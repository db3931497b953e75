"""Facet counts: once per document, count descending then value ascending, filters applied."""

from __future__ import annotations

from app.backends.base import Chunk
from app.facets import FacetRequest, count_facets
from app.filters import Terms


def doc(doc_id: str, **metadata: tuple[str, ...]) -> Chunk:
    return Chunk(chunk_id=f"t/{doc_id}#0", doc_id=doc_id, position=0, title="", text="", tenant="t", acl=("*",), metadata=metadata)


def test_buckets_order_and_other() -> None:
    docs = [doc("1", team=("b", "a")), doc("2", team=("a",)), doc("3", team=("c",)), doc("4", team=("b",)), doc("5")]
    (counts,) = count_facets([FacetRequest("team", "metadata.team", size=2)], docs).values()
    assert counts.buckets == [("a", 2), ("b", 2)] and counts.other == 1 and counts.documents == 5


def test_a_filtered_facet_counts_only_its_documents() -> None:
    docs = [doc("1", team=("a",), lang=("en",)), doc("2", team=("a",), lang=("de",)), doc("3", team=("b",), lang=("en",))]
    counts = count_facets([FacetRequest("en", "metadata.team", filter=Terms("metadata.lang", ("en",)))], docs)["en"]
    assert counts.documents == 2 and counts.buckets == [("a", 1), ("b", 1)]
