"""Pure functions that build the document, index and alias bodies the OpenSearch
backend sends, and read index information back (searches: ``opensearch_queries``).

Nothing here talks to a cluster, so tests validate each body against the
OpenSearch API specification directly.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Iterable, Iterator, Mapping, Sequence

import numpy as np

from app.analysis import document_text
from app.backends.base import (
    BackendError,
    Chunk,
    IndexInfo,
    document_body,
    split_doc_key,
)
from app.backends.opensearch_templates import DOCUMENT_TEXT, EMBEDDING, embedding_mapping
from app.settings import Settings

#: What scans of our indexes sort on: a keyword copy of ``_id`` (sorting on
#: ``_id`` needs fielddata, deprecated and off by default in 2.x+).
SCAN_TIEBREAK = "chunk_id"


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
