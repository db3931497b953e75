"""The English text analyzers and lexical designs, defined once for both backends.

Each template version has one :class:`LexicalDesign` (:data:`LEXICAL_DESIGNS`):
its analyzer and whether BM25 runs over whole documents or over chunks. The
OpenSearch templates declare the chain as a custom analyzer
(:func:`opensearch_analysis`); the embedded backend runs the same chain in
Python (:class:`Analyzer`) and hands tantivy the analysed terms, because
tantivy's own tokenizer and stemmer differ from Lucene's. Tests check the two
produce the same terms, against Lucene itself.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import regex

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
    #: Snowball language, as Lucene's ``snowball`` filter names it (lowercase).
    stemmer: str
    #: Tokens longer than this many characters are dropped (OpenSearch's
    #: ``length`` filter, which counts UTF-16 code units).
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


# Word boundaries as Lucene's StandardTokenizer draws them (Unicode UAX#29), for
# the scripts it treats as words: letters join across . : ' ’ · between letters,
# digits across . , ; ' ’ between digits, and letters, digits, marks and
# connectors (_) run together (a connector alone is no word). Han and Hiragana
# are one token per character.
_LETTER = r"[\p{L}--\p{Han}--\p{Hiragana}]\p{M}*"
_CORE = rf"{_LETTER}(?:[.:'’·]{_LETTER})*|\p{{N}}\p{{M}}*(?:[.,;'’]\p{{N}}\p{{M}}*)*"
_WORD = regex.compile(
    rf"[\p{{Han}}\p{{Hiragana}}]|[\p{{M}}\p{{Pc}}]*(?:{_CORE})(?:{_CORE}|[\p{{M}}\p{{Pc}}])*", regex.V1
)
# The same boundaries for text whose only letters, digits and connectors are
# ASCII (the classes above are then [A-Za-z], [0-9] and "_"; any other character
# separates words or is one of the joins), for the standard library's engine,
# which runs this pattern several times faster than ``regex`` runs the Unicode one.
_ASCII_CORE = r"[A-Za-z](?:[.:'’·][A-Za-z])*|[0-9](?:[.,;'’][0-9])*"
_ASCII_WORD = re.compile(rf"_*(?:{_ASCII_CORE})(?:{_ASCII_CORE}|_)*")
#: StandardTokenizer splits longer words into pieces of this many characters.
_STANDARD_MAX_TOKEN_LENGTH = 255
#: Words whose terms an analyzer remembers for highlighting (a word and its term: ~150 bytes).
TERM_CACHE_SIZE = 200_000
_UNKNOWN: Any = object()


class Analyzer:
    """The chain of an :class:`AnalyzerSpec` as Lucene runs it: standard tokenizer,
    length cap, lowercase, stop words, Snowball stemmer; text in, terms out."""

    def __init__(self, spec: AnalyzerSpec) -> None:
        self.spec = spec
        self._stop = frozenset(spec.stop_words)
        # A PyStemmer stemmer is not thread-safe: one per thread.
        self._local = threading.local()
        #: word → its term through the chain (``None``: dropped); a highlighted
        #: passage's words are mostly words earlier passages had.
        self._terms: dict[str, str | None] = {}

    def analyze(self, text: str) -> list[str]:
        """The terms of ``text``, in order."""
        kept = []
        for word in _words(text).findall(text):
            for piece in [word] if len(word) <= _STANDARD_MAX_TOKEN_LENGTH else _pieces(word):
                term = self._term(piece)
                if term is not None:
                    kept.append(term)
        return self._stemmer().stemWords(kept)

    def spans(self, text: str) -> list[tuple[int, int, str]]:
        """``(start, end, term)`` of each term of ``text``: where :meth:`analyze`'s terms come from."""
        found: list[tuple[int, int, str]] = []
        for match in _words(text).finditer(text):
            word, start = match.group(), match.start()
            for offset in range(0, len(word), _STANDARD_MAX_TOKEN_LENGTH):
                piece = word[offset : offset + _STANDARD_MAX_TOKEN_LENGTH]
                term = self._term(piece)
                if term is not None:
                    found.append((start + offset, start + offset + len(piece), term))
        stems = self._stemmer().stemWords([term for _, _, term in found])
        return [(start, end, stem) for (start, end, _), stem in zip(found, stems)]

    def marks(self, text: str, wanted: frozenset[str]) -> list[tuple[int, int]]:
        """``(start, end)`` of each word of ``text`` whose term is in ``wanted``: the
        :meth:`spans` a highlighter keeps, each distinct word's term looked up once
        (and remembered: passages share most of their words)."""
        found = [(match.group(), match.span()) for match in _words(text).finditer(text)]
        words = {word for word, _ in found}
        if any(len(word) > _STANDARD_MAX_TOKEN_LENGTH for word in words):
            return [(start, end) for start, end, term in self.spans(text) if term in wanted]  # split words: rare
        terms = self._terms_of(words)
        matching = {word for word in words if terms[word] in wanted}
        return [span for word, span in found if word in matching]

    def _terms_of(self, words: set[str]) -> dict[str, str | None]:
        """Each word's term through the whole chain (stemmed; ``None``: dropped), remembered."""
        known, out, missing = self._terms, {}, []
        for word in words:
            term = known.get(word, _UNKNOWN)  # one lookup: another thread may clear the cache
            if term is _UNKNOWN:
                missing.append(word)
            else:
                out[word] = term
        if missing:
            kept = {word: term for word in missing if (term := self._term(word)) is not None}
            fresh: dict[str, str | None] = dict.fromkeys(missing)
            fresh.update(zip(kept, self._stemmer().stemWords(list(kept.values()))))
            if len(known) + len(fresh) > TERM_CACHE_SIZE:
                known.clear()  # a bounded memory; the words of the next passages refill it
            known.update(fresh)
            out.update(fresh)
        return out

    def _term(self, piece: str) -> str | None:
        """A tokenizer piece after the length cap, lowercase and stop words (``None``: dropped)."""
        if _utf16_length(piece) > self.spec.max_token_length:
            return None
        term = piece.lower() if piece.isascii() else _lower_each(piece)
        return None if term in self._stop else term

    def _stemmer(self) -> Any:
        stemmer = getattr(self._local, "stemmer", None)
        if stemmer is None:
            import Stemmer  # PyStemmer: libstemmer, the Snowball release Lucene 9 ships

            stemmer = self._local.stemmer = Stemmer.Stemmer(self.spec.stemmer)
        return stemmer


def _words(text: str) -> Any:
    """The word pattern for ``text``: the ASCII one when it can tell no difference."""
    if text.isascii() or all(map(_separates, set(text).difference(_ASCII))):
        return _ASCII_WORD
    return _WORD


_ASCII = frozenset(map(chr, range(128)))


@lru_cache(maxsize=4096)
def _separates(char: str) -> bool:
    """Whether a non-ASCII character is no letter, digit, mark or connector (so never inside a word but as a join)."""
    category = unicodedata.category(char)
    return category[0] not in "LNM" and category != "Pc"


def _pieces(word: str) -> list[str]:
    return [word[i:i + _STANDARD_MAX_TOKEN_LENGTH] for i in range(0, len(word), _STANDARD_MAX_TOKEN_LENGTH)]


def _lower_each(word: str) -> str:
    """Lowercase character by character, as Java's ``Character.toLowerCase`` does
    (no final sigma in context; İ is i, not i + combining dot)."""
    return "".join("i" if c == "\u0130" else c.lower() for c in word)


def _utf16_length(word: str) -> int:
    """Length as Lucene counts it (UTF-16 code units)."""
    return len(word) if word.isascii() else len(word.encode("utf-16-le")) // 2


@lru_cache(maxsize=None)
def analyzer(spec: AnalyzerSpec) -> Analyzer:
    """The :class:`Analyzer` of ``spec``, built once per process."""
    return Analyzer(spec)


def tantivy_analyzer(spec: AnalyzerSpec) -> Any:
    """tantivy's own approximation of ``spec`` (its simple tokenizer and stemmer),
    which text indexes of storage schema 2 and earlier were written with."""
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
