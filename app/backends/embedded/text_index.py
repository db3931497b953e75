"""The tantivy text index: its schema, its documents, and opening it safely."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, Sequence

from app.analysis import ENGLISH, tantivy_analyzer
from app.backends.base import PUBLIC, AccessFilter, BackendError, Chunk
from app.backends.embedded.store import reason

#: tantivy's BM25 (k1 1.2, fixed) is Lucene's times (1 + k1); Lucene ≥ 8 dropped that constant.
BM25_FACTOR = 1.0 + 1.2


class TextIndex:
    """The tantivy schema, the documents written to it, and the lexical queries over it."""

    @staticmethod
    def schema() -> Any:
        import tantivy

        builder = tantivy.SchemaBuilder()
        builder.add_text_field("title", tokenizer_name=ENGLISH.name)
        builder.add_text_field("body", tokenizer_name=ENGLISH.name)
        # doc_key (tenant/id) is what writes delete by: ids repeat across tenants.
        for keyword in ("doc_key", "tenant", "acl", "meta"):
            builder.add_text_field(keyword, tokenizer_name="raw")
        builder.add_unsigned_field("row", stored=True, fast=True)
        return builder.build()

    @classmethod
    def create(cls, path: Path) -> None:
        import tantivy

        path.mkdir(parents=True, exist_ok=True)
        tantivy.Index(cls.schema(), path=str(path))

    @classmethod
    def open(cls, path: Path) -> Any:
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
        index.register_tokenizer(ENGLISH.name, tantivy_analyzer(ENGLISH))
        return index

    @classmethod
    def open_searcher(cls, path: Path) -> tuple[Any, Any]:
        """The index at ``path`` and a searcher over its last commit (which opens every segment)."""
        index = cls.open(path)
        try:
            index.reload()
            return index, index.searcher()
        except (ValueError, OSError) as exc:
            raise BackendError(
                f"index {path.parent.name!r}: text index ({path.name}/) is missing or damaged ({reason(exc)})"
            ) from None

    @classmethod
    def segment_count(cls, path: Path) -> int:
        """Segments in the text index at ``path`` as last committed (each is searched on its own)."""
        return cls.open_searcher(path)[1].num_segments

    @staticmethod
    def match_query(schema: Any, terms: Sequence[str], title_boost: float) -> Any:
        """BM25 over title (boosted) and body for analysed ``terms``, as Lucene's match query scores them."""
        import tantivy

        Q, Occur = tantivy.Query, tantivy.Occur
        should = []
        # A repeated term scores as often as it is repeated (as in Lucene's match
        # query); one clause boosted by the count scores the same with fewer
        # posting lists to walk (long natural-language queries repeat terms).
        for term, count in Counter(terms).items():
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

    @staticmethod
    def document(chunk: Chunk, row: int) -> Any:
        import tantivy

        doc = tantivy.Document()
        doc.add_text("title", chunk.title)
        doc.add_text("body", chunk.text)
        doc.add_text("doc_key", chunk.doc_key)
        doc.add_text("tenant", chunk.tenant)
        for principal in chunk.acl:
            doc.add_text("acl", principal)
        for key, values in chunk.metadata.items():
            for value in values:
                doc.add_text("meta", f"{key}={value}")
        doc.add_unsigned("row", row)
        return doc


_ANALYZER: Any = None


def analyzer() -> Any:
    global _ANALYZER
    if _ANALYZER is None:
        _ANALYZER = tantivy_analyzer(ENGLISH)
    return _ANALYZER
