"""The English text analyzers and lexical designs, defined once for both backends.

Each template version has one :class:`LexicalDesign` (:data:`LEXICAL_DESIGNS`):
its analyzer and whether BM25 runs over whole documents or over chunks. The
embedded backend builds a tantivy analyzer from it; the OpenSearch templates
declare the same chain as a custom analyzer (:func:`opensearch_analysis`). A
test checks they agree.
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


#: Common English function words (NLTK's English list, as bm25s and LanceDB use
#: it), for queries and documents alike. Verbose natural-language queries ("what
#: methods have been used to ...") are where a short list hurts; docs/relevance.md
#: has the comparison with Lucene's list.
ENGLISH_STOP_WORDS: tuple[str, ...] = (
    "a", "about", "above", "after", "again", "against", "ain", "all", "am", "an", "and", "any",
    "are", "aren", "aren\'t", "as", "at", "be", "because", "been", "before", "being", "below",
    "between", "both", "but", "by", "can", "couldn", "couldn\'t", "d", "did", "didn", "didn\'t", "do",
    "does", "doesn", "doesn\'t", "doing", "don", "don\'t", "down", "during", "each", "few", "for",
    "from", "further", "had", "hadn", "hadn\'t", "has", "hasn", "hasn\'t", "have", "haven", "haven\'t",
    "having", "he", "her", "here", "hers", "herself", "him", "himself", "his", "how", "i", "if",
    "in", "into", "is", "isn", "isn\'t", "it", "it\'s", "its", "itself", "just", "ll", "m", "ma",
    "me", "mightn", "mightn\'t", "more", "most", "mustn", "mustn\'t", "my", "myself", "needn",
    "needn\'t", "no", "nor", "not", "now", "o", "of", "off", "on", "once", "only", "or", "other",
    "our", "ours", "ourselves", "out", "over", "own", "re", "s", "same", "shan", "shan\'t", "she",
    "she\'s", "should", "should\'ve", "shouldn", "shouldn\'t", "so", "some", "such", "t", "than",
    "that", "that\'ll", "the", "their", "theirs", "them", "themselves", "then", "there", "these",
    "they", "this", "those", "through", "to", "too", "under", "until", "up", "ve", "very", "was",
    "wasn", "wasn\'t", "we", "were", "weren", "weren\'t", "what", "when", "where", "which", "while",
    "who", "whom", "why", "will", "with", "won", "won\'t", "wouldn", "wouldn\'t", "y", "you", "you\'d",
    "you\'ll", "you\'re", "you\'ve", "your", "yours", "yourself", "yourselves",
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


#: Template version 1: Lucene's stop list.
ENGLISH_V1 = AnalyzerSpec(name="english_text", stop_words=LUCENE_ENGLISH_STOP_WORDS, stemmer="english")
#: Template version 2 on: the longer stop list.
ENGLISH_V2 = AnalyzerSpec(name="english_text_v2", stop_words=ENGLISH_STOP_WORDS, stemmer="english")


@dataclass(frozen=True)
class LexicalDesign:
    """What one template version's lexical leg ranks, and how it analyses text."""

    analyzer: AnalyzerSpec
    #: BM25 over each whole document as one field (title, then body), so term
    #: frequency and length normalisation are the document's; the best chunk is
    #: found by the vector leg. Otherwise BM25 over chunks, the title a separate
    #: boosted field, and a document takes its best chunk.
    whole_documents: bool


LEXICAL_DESIGNS: dict[int, LexicalDesign] = {
    1: LexicalDesign(ENGLISH_V1, whole_documents=False),
    2: LexicalDesign(ENGLISH_V2, whole_documents=True),
}


def lexical_design(template_version: int) -> LexicalDesign:
    """The lexical design of ``template_version`` (the newest for versions above it)."""
    known = [v for v in LEXICAL_DESIGNS if v <= template_version]
    if not known:
        raise ValueError(f"no lexical design for template version {template_version}")
    return LEXICAL_DESIGNS[max(known)]


def document_text(title: str, body: str) -> str:
    """A whole document as the document-level lexical field holds it."""
    return f"{title}\n{body}" if title and body else title or body


def tantivy_analyzer(spec: AnalyzerSpec) -> Any:
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


def opensearch_analysis(spec: AnalyzerSpec) -> dict[str, Any]:
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
