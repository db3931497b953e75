"""Ingestion: validated documents → chunks → embeddings → the index.

Idempotent: a document whose content hash is already stored is skipped; a
changed document replaces all of its old chunks; chunk ids are deterministic.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Callable, Iterable, Mapping, Sequence

from app.backends.base import Chunk, IndexInfo, SearchBackend, doc_key, index_name
from app.chunking import chunk_document
from app.documents import Document, LineError
from app.embedding import Encoder
from app.settings import Settings


class IngestError(RuntimeError):
    """Ingestion cannot start (for example, the index has another model)."""


@dataclass
class IngestReport:
    """What one ingest run did."""

    index: str = ""
    read: int = 0
    indexed: int = 0
    unchanged: int = 0
    failed: int = 0
    deleted: int = 0
    chunks: int = 0
    #: What the run found behind after an interrupted write and rebuilt first.
    repaired: list[str] = field(default_factory=list)
    seconds: float = 0.0
    embed_seconds: float = 0.0
    errors: list[LineError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.failed == 0

    def summary(self) -> str:
        rate = self.indexed / self.seconds if self.seconds else 0.0
        passages = self.chunks / self.seconds if self.seconds else 0.0
        return (
            f"{self.index}: read {self.read}, indexed {self.indexed} ({self.chunks} chunks), "
            f"unchanged {self.unchanged}, deleted {self.deleted}, failed {self.failed} "
            f"in {self.seconds:.1f} s ({rate:.1f} docs/s, {passages:.1f} passages/s; embedding {self.embed_seconds:.1f} s)"
        )


def ensure_index(backend: SearchBackend, encoder: Encoder, settings: Settings) -> str:
    """The alias target, creating ``<alias>-v<template_version>`` on first use."""
    target = backend.alias_target()
    if target is None:
        target = index_name(backend.alias, settings.template_version)
        if target not in {i.name for i in backend.list_indexes()}:
            backend.create_index(
                IndexInfo(
                    name=target,
                    template_version=settings.template_version,
                    model_version=encoder.model_version,
                    dimension=encoder.dimension,
                )
            )
        backend.switch_alias(target)
    return target


def ingest_documents(
    records: Iterable[Document | LineError],
    backend: SearchBackend,
    encoder: Encoder,
    settings: Settings,
    *,
    index: str | None = None,
    progress: Callable[[IngestReport], None] | None = None,
    batch_chunks: int = 256,
) -> IngestReport:
    """Index every valid document of ``records`` into ``index`` (default: the alias)."""
    started = time.perf_counter()
    target = index or ensure_index(backend, encoder, settings)
    info = next((i for i in backend.list_indexes() if i.name == target), None)
    if info is not None and info.model_version != encoder.model_version:
        raise IngestError(
            f"index {target!r} holds embeddings of {info.model_version!r}, but the encoder is "
            f"{encoder.model_version!r}; build a new index with `hybrid-search index migrate`"
        )
    report = IngestReport(index=target)
    # A write that stopped midway (a crash) left the derived structures behind
    # the stored chunks; unchanged documents are skipped below, so repair first.
    report.repaired = backend.repair(target)
    stored = backend.document_hashes(target)
    pending: dict[str, list[Chunk]] = {}
    pending_chunks = 0

    def flush() -> None:
        nonlocal pending, pending_chunks
        if not pending:
            return
        began = time.perf_counter()
        with_vectors = embed_chunks(encoder, pending, settings.embed_batch_size)
        report.embed_seconds += time.perf_counter() - began
        backend.replace_documents(target, with_vectors)
        for key, doc_chunks in pending.items():
            stored[key] = doc_chunks[0].content_hash
        report.indexed += len(pending)
        report.chunks += pending_chunks
        pending, pending_chunks = {}, 0
        if progress:
            progress(report)

    for record in records:
        if isinstance(record, LineError):
            report.failed += 1
            report.errors.append(record)
            continue
        report.read += 1
        if record.key in pending:
            flush()  # a later line for the same document wins, in file order
        if stored.get(record.key) == record.content_hash:
            report.unchanged += 1
            continue
        chunks = chunk_document(
            record,
            encoder.count_tokens,
            max_tokens=settings.chunk_max_tokens,
            overlap_tokens=settings.chunk_overlap_tokens,
        )
        pending[record.key] = chunks
        pending_chunks += len(chunks)
        if pending_chunks >= batch_chunks:
            flush()
    flush()
    report.seconds = time.perf_counter() - started
    return report


def delete_documents(backend: SearchBackend, tenant: str, doc_ids: Iterable[str]) -> int:
    """Remove ``tenant``'s documents from the alias target; returns how many existed."""
    target = backend.alias_target()
    if target is None:
        raise IngestError(f"alias {backend.alias!r} points at no index; nothing to delete")
    return backend.delete_documents(target, [doc_key(tenant, doc_id) for doc_id in doc_ids])


def embed_chunks(encoder: Encoder, chunks_by_doc: Mapping[str, Sequence[Chunk]], batch_size: int) -> dict[str, list[Chunk]]:
    """The chunks of each document with their passages' vectors, in one batch run of the encoder."""
    flat = [chunk for chunks in chunks_by_doc.values() for chunk in chunks]
    vectors = encoder.embed_passages([c.passage() for c in flat], batch_size=batch_size)
    embedded: dict[str, list[Chunk]] = {key: [] for key in chunks_by_doc}
    for chunk, vector in zip(flat, vectors):
        embedded[chunk.doc_key].append(replace(chunk, vector=vector))
    return embedded
