"""How a ranked document is shown: the hit's fields, snippet, highlights and explanation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from app.analysis import Analyzer
from app.backends.base import Chunk, LegHit
from app.fusion import FusedHit
from app.highlight import HighlightRequest, highlight

SNIPPET_CHARS = 320


@dataclass(frozen=True)
class RankedDocument:
    """A fused document with the chunk that represents it and its scores."""

    fused: FusedHit
    fused_rank: int
    best_chunk: dict[str, LegHit]
    #: The score the reranked head is ordered by (interpolated when so configured).
    rerank_score: float | None = None
    rerank_rank: int | None = None
    #: The cross-encoder's own score, before interpolation.
    model_score: float | None = None


def render_hit(
    doc: RankedDocument,
    chunks: Mapping[str, Chunk],
    explain: bool,
    marking: tuple[HighlightRequest, Analyzer, frozenset[str]] | None = None,
    passages: bool = False,
) -> dict[str, Any]:
    """The hit of ``doc`` shown from its chunk; ``marking`` is (request, analyzer, query terms)."""
    chunk = chunks.get(snippet_chunk_id(doc))
    hit: dict[str, Any] = {
        "id": doc.fused.doc_id,
        "title": chunk.title if chunk else "",
        "url": chunk.url if chunk else None,
        "snippet": snippet(chunk.text) if chunk else "",
        "score": doc.rerank_score if doc.rerank_score is not None else doc.fused.score,
        "metadata": {k: list(v) for k, v in chunk.metadata.items()} if chunk else {},
    }
    if chunk is not None:
        hit["updated_at"] = chunk.updated_at
        if passages:
            hit["passage"] = chunk.text
    if marking is not None and chunk is not None:
        spec, chain, terms = marking
        texts = {"title": chunk.title, "body": chunk.text}
        marked = {name: highlight(texts[name], terms, chain, spec) for name in spec.fields}
        hit["highlight"] = {name: fragments for name, fragments in marked.items() if fragments}
    if explain:
        details: dict[str, Any] = {
            leg: {
                "raw_score": part.raw_score,
                "normalized_score": part.normalized_score,
                "rank": part.rank,
                "chunk_id": doc.best_chunk[leg].chunk_id,
            }
            for leg, part in doc.fused.legs.items()
        }
        details["fused_score"] = doc.fused.score
        details["fused_rank"] = doc.fused_rank
        if doc.rerank_score is not None:
            details["rerank"] = {"score": doc.rerank_score, "rank": doc.rerank_rank, "model_score": doc.model_score}
        hit["explain"] = details
    return hit


def snippet_chunk_id(doc: RankedDocument) -> str:
    """The chunk shown for a document: the one from the leg that ranked it best."""
    leg = min(doc.fused.legs, key=lambda name: (doc.fused.legs[name].rank, name))
    return doc.best_chunk[leg].chunk_id


def snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    """The passage with runs of whitespace made one space, cut at a word boundary."""
    # Collapsing a prefix gives a prefix of the collapsed passage, and only its
    # first ``limit`` characters are shown: a chunk is several times longer.
    prefix = 2 * limit + 2
    head = " ".join(text[:prefix].split())
    text = head if len(head) > limit or len(text) <= prefix else " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    return text[: cut if cut > limit // 2 else limit].rstrip(" ,.;:") + " …"
