"""Copying one index into another, record by record, re-embedding on a model change."""

from __future__ import annotations

from dataclasses import replace
from typing import Callable, Mapping

from app.backends.base import Chunk, SearchBackend, chunk_key
from app.lifecycle.reports import LifecycleError

#: Chunks copied (and, on a model change, re-embedded) per write.
COPY_BATCH_CHUNKS = 256

Reembed = Callable[[Mapping[str, list[Chunk]]], Mapping[str, list[Chunk]]]


def copy_index(backend: SearchBackend, source: str, dest: str, reembed: Reembed | None) -> tuple[int, int]:
    """Copy every chunk of ``source`` into ``dest`` (through ``reembed`` when the model
    changes); returns the documents written and the chunks read."""
    pending: dict[str, list[Chunk]] = {}
    pending_chunks = 0
    done: set[str] = set()
    chunks_read = 0

    def flush(keep: str | None) -> None:
        # The newest document may continue in the next chunk, so it waits.
        nonlocal pending, pending_chunks
        ready: Mapping[str, list[Chunk]] = {d: c for d, c in pending.items() if d != keep}
        if not ready:
            return
        if reembed is not None:
            ready = reembed(ready)
        backend.replace_documents(dest, ready)
        done.update(ready)
        pending = {d: c for d, c in pending.items() if d == keep}
        pending_chunks = sum(map(len, pending.values()))

    for chunk in backend.iter_chunks(source):
        chunks_read += 1
        key = chunk.doc_key
        if key in done:
            # replace_documents would drop the chunks already written.
            raise LifecycleError(f"chunks of document {key!r} are not contiguous in {source}; migrate with --source")
        # Indexes from before tenant-scoped ids named chunks by document id alone.
        pending.setdefault(key, []).append(replace(chunk, chunk_id=chunk_key(chunk.tenant, chunk.doc_id, chunk.position)))
        pending_chunks += 1
        if pending_chunks >= COPY_BATCH_CHUNKS:
            flush(keep=key)
    flush(keep=None)
    return len(done), chunks_read
