"""The English text analyzer, defined once for both backends.

The embedded backend builds a tantivy analyzer from :data:`ENGLISH`; the
OpenSearch templates declare the same chain as a custom analyzer
(:func:`opensearch_analysis`). A test checks they agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: Lucene's ``_english_`` stop-word set (EnglishAnalyzer.ENGLISH_STOP_WORDS_SET).
LUCENE_ENGLISH_STOP_WORDS: tuple[str, ...] = (
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in",
    "into", "is", "it", "no", "not", "of", "on", "or", "such", "that", "the",
    "their", "then", "there", "these", "they", "this", "to", "was", "will", "with",
)


@dataclass(frozen=True)
class AnalyzerSpec:
    """Lowercase → stop words → Snowball stemmer, over word tokens."""

    name: str
    stop_words: tuple[str, ...]
    #: Snowball language; ``english`` is Porter2 in both tantivy and Lucene.
    stemmer: str
    #: Tokens longer than this are dropped (tantivy's default, mirrored in
    #: OpenSearch with a ``length`` filter).
    max_token_length: int = 40


ENGLISH = AnalyzerSpec(name="english_text", stop_words=LUCENE_ENGLISH_STOP_WORDS, stemmer="english")


def tantivy_analyzer(spec: AnalyzerSpec = ENGLISH) -> Any:
    """A tantivy ``TextAnalyzer`` implementing ``spec``."""
    import tantivy

    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(spec.max_token_length))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.custom_stopword(list(spec.stop_words)))
        .filter(tantivy.Filter.stemmer(spec.stemmer))
        .build()
    )


def opensearch_analysis(spec: AnalyzerSpec = ENGLISH) -> dict[str, Any]:
    """The ``settings.analysis`` block declaring ``spec`` for OpenSearch."""
    return {
        "filter": {
            f"{spec.name}_length": {"type": "length", "max": spec.max_token_length},
            f"{spec.name}_stop": {"type": "stop", "stopwords": list(spec.stop_words)},
            f"{spec.name}_stemmer": {"type": "snowball", "language": spec.stemmer.capitalize()},
        },
        "analyzer": {
            spec.name: {
                "type": "custom",
                "tokenizer": "standard",
                "filter": [
                    f"{spec.name}_length",
                    "lowercase",
                    f"{spec.name}_stop",
                    f"{spec.name}_stemmer",
                ],
            }
        },
    }
