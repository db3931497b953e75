"""The tantivy text index: its schema, the records written to it, and the lexical queries over it.

Its layout follows the index's template version (:func:`app.analysis.lexical_design`):
one record per chunk (``title`` and ``body`` fields) or one per document (a single
``text`` field holding the whole document). Either way a record carries the
access fields and the ``row`` of a chunk — for a document, its first chunk — so
a hit maps to a chunk the snapshot holds.

Text is analysed in Python with the template's chain as Lucene runs it
(:class:`app.analysis.Analyzer`) and indexed as its terms, split on spaces
(the ``pre_analyzed`` tokenizer), so both backends index and query the same
terms. Indexes written before storage schema 3 hold terms from tantivy's own
chain; :meth:`TextIndex.at` reads which from the index and queries it alike.
"""

from __future__ import annotations

import json
from collections import Counter
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Sequence

from app.analysis import AnalyzerSpec, LexicalDesign, analyzer, document_text, tantivy_analyzer
from app.backends.base import PUBLIC, AccessFilter, BackendError, Chunk, document_body
from app.backends.embedded.store import reason

#: tantivy's BM25 (k1 1.2, fixed) is Lucene's times (1 + k1); Lucene ≥ 8 dropped that constant.
BM25_FACTOR = 1.0 + 1.2


#: The tokenizer of text fields holding terms analysed in Python: split on spaces.
PRE_ANALYZED = "pre_analyzed"


class TextIndex:
    """The text index of one lexical design; ``pre_analyzed`` unless it is an
    index written by tantivy's own chain (storage schema 2 and earlier)."""

    def __init__(self, design: LexicalDesign, *, pre_analyzed: bool = True) -> None:
        self.design = design
        self.pre_analyzed = pre_analyzed
        self._analyze = analyzer(design.analyzer).analyze if pre_analyzed else _tantivy_chain(design.analyzer).analyze

    @classmethod
    def at(cls, path: Path, design: LexicalDesign) -> "TextIndex":
        """The text index at ``path`` as it was written: the tokenizer its schema names."""
        try:
            fields = json.loads((path / "meta.json").read_text())["schema"]
            tokenizers = {f["options"]["indexing"]["tokenizer"] for f in fields if f["type"] == "text"}
        except (OSError, ValueError, KeyError, TypeError):
            return cls(design)  # unreadable: open() reports it
        return cls(design, pre_analyzed=PRE_ANALYZED in tokenizers)

    def analyze(self, text: str) -> list[str]:
        """The terms ``text`` is indexed and queried as."""
        return self._analyze(text)

    def schema(self) -> Any:
        import tantivy

        name = PRE_ANALYZED if self.pre_analyzed else self.design.analyzer.name
        builder = tantivy.SchemaBuilder()
        if self.design.whole_documents:
            builder.add_text_field("text", tokenizer_name=name)
        else:
            builder.add_text_field("title", tokenizer_name=name)
            builder.add_text_field("body", tokenizer_name=name)
        # doc_key (tenant/id) is what writes delete by: ids repeat across tenants.
        for keyword in ("doc_key", "tenant", "acl", "meta"):
            builder.add_text_field(keyword, tokenizer_name="raw")
        builder.add_unsigned_field("row", stored=True, fast=True)
        return builder.build()

    def create(self, path: Path) -> None:
        import tantivy

        path.mkdir(parents=True, exist_ok=True)
        tantivy.Index(self.schema(), path=str(path))

    def open(self, path: Path) -> Any:
        """The committed index at ``path``; a missing or damaged one is a :class:`BackendError`.

        Opened with the schema it was written with: creating one where it is
        missing would answer every query with nothing, as if nothing matched.
        """
        import tantivy

        try:
            index = tantivy.Index.open(str(path))
        except (ValueError, OSError) as exc:
            raise BackendError(
                f"index {path.parent.name!r}: text index ({path.name}/) is missing or damaged ({reason(exc)})"
            ) from None
        if self.pre_analyzed:
            index.register_tokenizer(PRE_ANALYZED, _split_on_spaces())
        else:
            index.register_tokenizer(self.design.analyzer.name, _tantivy_chain(self.design.analyzer))
        return index

    def open_searcher(self, path: Path) -> tuple[Any, Any]:
        """The index at ``path`` and a searcher over its last commit (which opens every segment)."""
        index = self.open(path)
        try:
            index.reload()
            return index, index.searcher()
        except (ValueError, OSError) as exc:
            raise BackendError(
                f"index {path.parent.name!r}: text index ({path.name}/) is missing or damaged ({reason(exc)})"
            ) from None

    def segment_count(self, path: Path) -> int:
        """Segments in the text index at ``path`` as last committed (each is searched on its own)."""
        return self.open_searcher(path)[1].num_segments

    @staticmethod
    def deleted_share(path: Path) -> float:
        """The share of the records in the text index at ``path`` that are deleted
        but still counted in its statistics (0 when unreadable)."""
        try:
            segments = json.loads((path / "meta.json").read_text())["segments"]
            held = sum(s["max_doc"] for s in segments)
            deleted = sum((s["deletes"] or {}).get("num_deleted_docs", 0) for s in segments)
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return 0.0
        return deleted / held if held else 0.0

    def match_query(self, schema: Any, terms: Sequence[str], title_boost: float) -> Any:
        """BM25 for analysed ``terms`` as Lucene's match query scores them: over the
        whole-document field, or over title (boosted) and body."""
        import tantivy

        Q, Occur = tantivy.Query, tantivy.Occur
        should = []
        # A repeated term scores as often as it is repeated (as in Lucene's match
        # query); one clause boosted by the count scores the same with fewer
        # posting lists to walk (long natural-language queries repeat terms).
        for term, count in Counter(terms).items():
            if self.design.whole_documents:
                text = Q.term_query(schema, "text", term)
                should.append((Occur.Should, text if count == 1 else Q.boost_query(text, float(count))))
                continue
            title = Q.term_query(schema, "title", term)
            body = Q.term_query(schema, "body", term)
            should.append((Occur.Should, Q.boost_query(title, title_boost * count)))
            should.append((Occur.Should, body if count == 1 else Q.boost_query(body, float(count))))
        return Q.boolean_query(should)

    @staticmethod
    def filtered(schema: Any, query: Any, access: AccessFilter) -> Any:
        """``query`` restricted to what ``access`` admits; the filter adds nothing to the score."""
        import tantivy

        Q, Occur = tantivy.Query, tantivy.Occur
        clauses = [
            (Occur.Must, query),
            (Occur.Must, Q.const_score_query(Q.term_query(schema, "tenant", access.tenant), 0.0)),
            (
                Occur.Must,
                Q.const_score_query(Q.term_set_query(schema, "acl", sorted(access.principals | {PUBLIC})), 0.0),
            ),
        ]
        for key, values in sorted(access.metadata.items()):
            clauses.append(
                (Occur.Must, Q.const_score_query(Q.term_set_query(schema, "meta", [f"{key}={v}" for v in values]), 0.0))
            )
        return Q.boolean_query(clauses)

    def records(self, rows: Iterable[tuple[int, Chunk]]) -> Iterable[Any]:
        """The records for stored chunks with their rows: one per chunk, or one per
        document. A document needs all its chunks in ``rows``, in position order."""
        if not self.design.whole_documents:
            for row, chunk in rows:
                yield self._record(chunk, row, title=chunk.title, body=chunk.text)
            return
        first_row = -1
        chunks: list[Chunk] = []
        for row, chunk in [*rows, (-1, None)]:
            if chunks and (chunk is None or chunk.position == 0 or chunk.doc_key != chunks[0].doc_key):
                yield self._record(chunks[0], first_row, text=document_text(chunks[0].title, document_body(chunks)))
                chunks = []
            if chunk is None:
                break
            if chunk.position == 0:
                first_row = row
            if chunks or chunk.position == 0:
                chunks.append(chunk)

    def _record(self, chunk: Chunk, row: int, **fields: str) -> Any:
        import tantivy

        doc = tantivy.Document()
        for name, value in fields.items():
            doc.add_text(name, " ".join(self.analyze(value)) if self.pre_analyzed else value)
        doc.add_text("doc_key", chunk.doc_key)
        doc.add_text("tenant", chunk.tenant)
        for principal in chunk.acl:
            doc.add_text("acl", principal)
        for key, values in chunk.metadata.items():
            for value in values:
                doc.add_text("meta", f"{key}={value}")
        doc.add_unsigned("row", row)
        return doc


@lru_cache(maxsize=None)
def _tantivy_chain(spec: AnalyzerSpec) -> Any:
    """tantivy's analyzer for ``spec``, built once per process (schema-2 indexes)."""
    return tantivy_analyzer(spec)


@lru_cache(maxsize=None)
def _split_on_spaces() -> Any:
    import tantivy

    return tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace()).build()
