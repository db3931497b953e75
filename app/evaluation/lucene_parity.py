"""Backend parity with Lucene: the same records, analyzer and access filter, ranked by both.

The records an index holds (``iter_chunks``) are handed to Lucene as an OpenSearch
index of the same template would hold them: one whole-document text record per
document, analysed with the template's chain, and one vector per chunk. The
same queries then run through the backend's legs and through Lucene
(``lucene/LuceneParity.java``: BM25 match queries, exact cosine kNN, both under
the caller's tenant and ACL filter), and :func:`measure_parity` reports how far
their top ``k`` agree.
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from statistics import mean
from typing import TYPE_CHECKING, Iterable, Mapping, Sequence

import numpy as np

from app.analysis import AnalyzerSpec, document_text, lexical_design
from app.backends.base import (
    AccessFilter,
    Chunk,
    LexicalLeg,
    SearchBackend,
    VectorLeg,
    by_document,
    chunk_key,
    document_body,
)
from app.evaluation.judgments import load_beir
from app.evaluation.lucene_bm25 import run_program, write_tsv
from app.fusion import LEGS
from app.settings import Settings

if TYPE_CHECKING:  # the encoder module loads onnxruntime; only its type is needed here
    from app.embedding import Encoder

#: Where :func:`spread_over_tenants` puts documents, and who asks: every caller
#: sees part of one tenant, so the filter shapes both engines' answers.
TENANTS = ("t0", "t1", "t2")
ACLS = (("*",), ("g1",), ("g2",), ("g1", "g2"))
CALLERS = (
    AccessFilter(tenant="t0", principals=frozenset({"g1"})),
    AccessFilter(tenant="t1", principals=frozenset({"g2", "g3"})),
)


@dataclass(frozen=True)
class LegParity:
    """How one leg of a backend agrees with Lucene over a set of queries."""

    leg: str
    queries: int
    #: Mean over queries of |backend top k ∩ Lucene top k| / the larger of the two,
    #: records tied at the cut counted as shared.
    overlap: float
    #: Relative score difference of the records both top-k lists hold: mean and max.
    score_diff_mean: float
    score_diff_max: float


def spread_over_tenants(chunks: Iterable[Chunk]) -> dict[str, list[Chunk]]:
    """``chunks`` re-keyed into :data:`TENANTS` with :data:`ACLS`, by a stable hash of
    the document id, grouped for ``replace_documents``."""
    spread = []
    for chunk in chunks:
        slot = int.from_bytes(hashlib.blake2b(chunk.doc_id.encode(), digest_size=4).digest(), "little")
        tenant, acl = TENANTS[slot % len(TENANTS)], ACLS[(slot // len(TENANTS)) % len(ACLS)]
        spread.append(replace(chunk, tenant=tenant, acl=acl, chunk_id=chunk_key(tenant, chunk.doc_id, chunk.position)))
    return by_document(spread)


def measure_parity(
    backend: SearchBackend,
    index: str,
    template_version: int,
    queries: Mapping[str, str],
    query_vectors: Mapping[str, np.ndarray],
    callers: Sequence[AccessFilter],
    *,
    k: int = 10,
    jar: Path | None = None,
) -> list[LegParity]:
    """Both legs of ``backend`` on ``index`` against Lucene, every query asked by every caller."""
    if not lexical_design(template_version).whole_documents:
        raise ValueError(f"template v{template_version} ranks chunks; parity is measured for document-level BM25")
    chunks = list(backend.iter_chunks(index))
    asks = [(f"{c}:{qid}", caller, qid) for c, caller in enumerate(callers) for qid in queries]
    lucene = _lucene_top(chunks, lexical_design(template_version).analyzer, asks, queries, query_vectors, k, jar)
    document_of = {chunk.chunk_id: chunk.doc_key for chunk in chunks}
    figures = []
    for leg in LEGS:
        ours: dict[str, dict[str, float]] = {}
        for ask, caller, qid in asks:
            run = LexicalLeg(queries[qid], k) if leg == "lexical" else VectorLeg(query_vectors[qid], k)
            hits = backend.run_legs({leg: run}, caller, index)[leg].hits
            # The lexical leg ranks documents and names each by a chunk of it.
            ours[ask] = {(document_of[h.chunk_id] if leg == "lexical" else h.chunk_id): h.score for h in hits}
        figures.append(_agreement(leg, ours, {ask: lucene.get(f"{leg}:{ask}", {}) for ask, _, _ in asks}))
    return figures


def parity_of_collection(
    dataset_dir: Path, encoder: "Encoder", settings: Settings, scratch: Path, *, k: int = 10
) -> list[LegParity]:
    """:func:`measure_parity` on a BEIR collection's judged queries: its evaluation
    index (real vectors, built on first use) spread over tenants into ``scratch``."""
    from app.backends.embedded import EmbeddedBackend
    from app.evaluation.collection import open_collection

    dataset = load_beir(dataset_dir)
    collection = open_collection(dataset, encoder, settings, progress=False)
    source = collection.backend.live_index()
    backend = EmbeddedBackend(settings.replace(data_dir=scratch))
    backend.create_index(replace(source, chunks=0, documents=0))
    backend.replace_documents(source.name, spread_over_tenants(collection.backend.iter_chunks(source.name)))
    queries = dataset.judged_queries()
    vectors = {qid: encoder.embed_query(text) for qid, text in queries.items()}
    return measure_parity(backend, source.name, source.template_version, queries, vectors, CALLERS, k=k,
                          jar=settings.lucene_jar)


def _agreement(leg: str, ours: Mapping[str, Mapping[str, float]], theirs: Mapping[str, Mapping[str, float]]) -> LegParity:
    overlaps, diffs = [], []
    for ask, mine in ours.items():
        reference = theirs[ask]
        if not mine and not reference:
            continue  # nothing matched either engine: no evidence either way
        shared = mine.keys() & reference.keys()
        # Records tied at the cut are interchangeable: engines break ties differently.
        tied_mine = sum(_ties(mine[key], reference) for key in mine.keys() - shared)
        tied_reference = sum(_ties(reference[key], mine) for key in reference.keys() - shared)
        overlaps.append((len(shared) + min(tied_mine, tied_reference)) / max(len(mine), len(reference)))
        diffs.extend(abs(mine[key] - reference[key]) / abs(reference[key]) for key in shared if reference[key])
    return LegParity(
        leg=leg,
        queries=len(overlaps),
        overlap=mean(overlaps) if overlaps else 0.0,
        score_diff_mean=mean(diffs) if diffs else 0.0,
        score_diff_max=max(diffs, default=0.0),
    )


def _ties(score: float, other: Mapping[str, float]) -> bool:
    """``score`` equals the last score of ``other``'s list (float32 precision)."""
    return bool(other) and abs(score - min(other.values())) <= 1e-6 * max(abs(score), 1.0)


def _lucene_top(
    chunks: Sequence[Chunk],
    analyzer: AnalyzerSpec,
    asks: Sequence[tuple[str, AccessFilter, str]],
    queries: Mapping[str, str],
    query_vectors: Mapping[str, np.ndarray],
    k: int,
    jar: Path | None,
) -> dict[str, dict[str, float]]:
    """``"<leg>:<ask>" -> {key: score}`` from Lucene over the same records."""
    with tempfile.TemporaryDirectory(prefix="lucene-parity-") as scratch:
        work = _analysis_config(Path(scratch), analyzer)
        write_tsv(work / "text.tsv", _text_records(chunks))
        write_tsv(work / "vectors.tsv", (
            (c.chunk_id, c.tenant, ",".join(c.acl), _floats(c.vector)) for c in chunks if c.vector is not None
        ))
        write_tsv(work / "queries.tsv", _query_rows(asks, queries, query_vectors))
        run_program("LuceneParity", [work, work / "text.tsv", work / "vectors.tsv", work / "queries.tsv", k,
                                     work / "out.tsv"], work, jar)
        top: dict[str, dict[str, float]] = {}
        for line in (work / "out.tsv").read_text(encoding="utf-8").splitlines():
            qid, key, score = line.split("\t")
            top.setdefault(qid, {})[key] = float(score)
    return top


def lucene_tokens(analyzer: AnalyzerSpec, texts: Sequence[str], jar: Path | None = None) -> list[list[str]]:
    """Each of ``texts`` (one line each) as Lucene's chain for ``analyzer`` tokenizes it."""
    with tempfile.TemporaryDirectory(prefix="lucene-analyze-") as scratch:
        work = _analysis_config(Path(scratch), analyzer)
        (work / "in.txt").write_text("".join(" ".join(t.split()) + "\n" for t in texts), encoding="utf-8")
        run_program("LuceneParity", ["analyze", work, work / "in.txt", work / "out.txt"], work, jar)
        return [line.split() for line in (work / "out.txt").read_text(encoding="utf-8").splitlines()]


def _analysis_config(work: Path, analyzer: AnalyzerSpec) -> Path:
    """``work`` with the files LuceneParity builds the template's analyzer from."""
    (work / "stopwords.txt").write_text("\n".join(analyzer.stop_words) + "\n", encoding="utf-8")
    (work / "analysis.properties").write_text(
        f"max_token_length={analyzer.max_token_length}\nstemmer={analyzer.stemmer.capitalize()}\n", encoding="utf-8"
    )
    return work


def _text_records(chunks: Sequence[Chunk]) -> Iterable[tuple[str, ...]]:
    """One whole-document record per document, as the document-level lexical field holds it."""
    for key, parts in by_document(sorted(chunks, key=lambda c: (c.doc_key, c.position))).items():
        first = parts[0]
        yield key, first.tenant, ",".join(first.acl), document_text(first.title, document_body(parts))


def _query_rows(
    asks: Sequence[tuple[str, AccessFilter, str]], queries: Mapping[str, str], query_vectors: Mapping[str, np.ndarray]
) -> Iterable[tuple[str, ...]]:
    for ask, caller, qid in asks:
        principals = ",".join(sorted(caller.principals))
        yield f"lexical:{ask}", "lexical", caller.tenant, principals, queries[qid]
        yield f"vector:{ask}", "vector", caller.tenant, principals, _floats(query_vectors[qid])


def _floats(vector: np.ndarray) -> str:
    return ",".join(repr(float(x)) for x in np.asarray(vector, dtype=np.float32))
