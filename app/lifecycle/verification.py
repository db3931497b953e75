"""Checks a new index passes before the alias moves to it: counts, shrinkage, probes."""

from __future__ import annotations

import math
import random
from dataclasses import replace

from app.backends.base import AccessFilter, Chunk, IndexInfo, LexicalLeg, SearchBackend, VectorLeg
from app.embedding import Encoder
from app.lifecycle.reports import LifecycleError, Verification
from app.settings import Settings


def index_info(backend: SearchBackend, name: str) -> IndexInfo:
    """``name``'s info with its counts; an index that vanished mid-step is a :class:`LifecycleError`."""
    for info in backend.list_indexes():
        if info.name == name:
            return info
    raise LifecycleError(f"index {name!r} disappeared")


def counted(backend: SearchBackend, name: str, documents: int, chunks: int | None) -> Verification:
    """``name`` against the documents (and, when known, chunks) that went into it."""
    info = index_info(backend, name)
    verification = Verification(
        documents=info.documents, chunks=info.chunks, expected_documents=documents, expected_chunks=chunks
    )
    if info.documents != documents:
        verification.problems.append(f"{name} holds {info.documents} documents, expected {documents}")
    if chunks is not None and info.chunks != chunks:
        verification.problems.append(f"{name} holds {info.chunks} chunks, expected {chunks}")
    if documents == 0:
        verification.problems.append(f"{name} is empty")
    return verification


def check_shrink(verification: Verification, live: IndexInfo, max_shrink: float) -> None:
    """A new index much smaller than the live one is a problem (a truncated source?)."""
    floor = math.ceil(live.documents * (1 - max_shrink))
    if verification.documents < floor:
        verification.problems.append(
            f"the new index would hold {verification.documents} documents against {live.documents} live "
            f"(more than {max_shrink:.0%} fewer; a truncated source?"
            f" raise HYBRID_LIFECYCLE_MAX_SHRINK if intended)"
        )


def probe(
    backend: SearchBackend,
    encoder: Encoder,
    settings: Settings,
    name: str,
    previous: str | None,
    verification: Verification,
    rng: random.Random,
) -> None:
    """Search a sample of document titles in the new (and old) index, before the switch."""
    if not verification.ok:
        return  # counts already failed; probing would only add noise
    depth = settings.lifecycle_probe_depth
    sample = sample_first_chunks(backend, name, settings.lifecycle_probe_queries, rng)
    verification.found_old = 0 if previous else None
    misses_without_reference = []
    for chunk in sample:
        query = chunk.title.strip() or " ".join(chunk.text.split()[:12])
        access = AccessFilter(tenant=chunk.tenant, principals=frozenset(chunk.acl))
        vector = encoder.embed_query(query)
        legs = {"lexical": LexicalLeg(text=query, k=depth), "vector": VectorLeg(vector=vector, k=depth)}
        new = backend.run_legs(legs, access, index=name)
        found_new = chunk.doc_id in {hit.doc_id for hit in new["lexical"].hits}
        verification.probes += 1
        verification.found_new += found_new
        verification.vector_answered += bool(new["vector"].hits)
        if not new["vector"].hits:
            verification.problems.append(f"the vector leg of {name} found nothing for {query!r}")
        if previous:
            old = backend.run_legs({"lexical": legs["lexical"]}, access, index=previous)
            found_old = chunk.doc_id in {hit.doc_id for hit in old["lexical"].hits}
            verification.found_old += found_old  # type: ignore[operator]
            if found_old and not found_new:
                verification.problems.append(
                    f"{previous} finds {chunk.doc_id!r} for {query!r} in its top {depth}, {name} does not"
                )
        elif not found_new:
            misses_without_reference.append(chunk.doc_id)
    # Without an old index to compare with, a few misses are titles too common to rank.
    if len(misses_without_reference) > verification.probes // 10:
        verification.problems.append(
            f"{name} misses {len(misses_without_reference)} of {verification.probes} documents searched by title "
            f"(e.g. {misses_without_reference[:3]})"
        )


def sample_first_chunks(backend: SearchBackend, index: str, size: int, rng: random.Random) -> list[Chunk]:
    """A uniform sample of documents (their first chunks) by reservoir over one scan."""
    sample: list[Chunk] = []
    seen = 0
    for chunk in backend.iter_chunks(index):
        if chunk.position != 0:
            continue
        seen += 1
        if len(sample) < size:
            sample.append(replace(chunk, vector=None))
        else:
            slot = rng.randrange(seen)
            if slot < size:
                sample[slot] = replace(chunk, vector=None)
    return sample
