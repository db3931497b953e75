"""Highlighting: fragments of a field's text with the query's terms marked.

Marks what OpenSearch's unified highlighter marks for a ``match`` query: every
word whose analysed term (the index's own chain: tokenizer, lowercase, stop
words, stemmer) is one of the query's analysed terms. Fragments are
``fragment_size``-character windows around marked words, cut at word
boundaries, returned in text order; ``number_of_fragments: 0`` returns the
whole field, marked.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.analysis import Analyzer

#: Highlighted fields a request may name (a hit's title and the passage shown).
HIGHLIGHT_FIELDS = ("title", "body")
#: What a request may ask for (both APIs check these): inclusive bounds, and a tag's length.
FRAGMENT_SIZE_RANGE = (10, 10_000)
FRAGMENT_COUNT_RANGE = (0, 50)
MAX_TAG_CHARS = 64


@dataclass(frozen=True)
class HighlightRequest:
    """What to highlight and how; OpenSearch's defaults."""

    fields: tuple[str, ...] = HIGHLIGHT_FIELDS
    pre_tag: str = "<em>"
    post_tag: str = "</em>"
    fragment_size: int = 100
    number_of_fragments: int = 5


def highlight(text: str, query_terms: frozenset[str], chain: Analyzer, request: HighlightRequest) -> list[str]:
    """The marked fragments of ``text`` (none when no query term occurs in it)."""
    marks = chain.marks(text, query_terms)
    if not marks:
        return []
    if request.number_of_fragments == 0:
        return [_marked(text, 0, len(text), marks, request)]
    fragments: list[str] = []
    cursor = 0
    for start, _ in marks:
        if start < cursor:
            continue  # already inside the previous fragment
        begin, finish = _window(text, start, request.fragment_size)
        fragments.append(_marked(text, begin, finish, marks, request))
        cursor = finish
        if len(fragments) == request.number_of_fragments:
            break
    return fragments


def _window(text: str, start: int, size: int) -> tuple[int, int]:
    """A window of about ``size`` characters holding ``start``, a little context before it."""
    begin = max(0, start - size // 4)
    if begin > 0:
        space = text.rfind(" ", 0, begin + 1)
        begin = space + 1 if space >= 0 and begin - space < size // 4 else begin
    finish = min(len(text), begin + size)
    if finish < len(text):
        space = text.rfind(" ", start, finish)
        finish = space if space > start else finish
    return begin, finish


def _marked(text: str, begin: int, finish: int, marks: list[tuple[int, int]], request: HighlightRequest) -> str:
    out, at = [], begin
    for start, end in marks:
        if start < begin or end > finish:
            continue
        out += [text[at:start], request.pre_tag, text[start:end], request.post_tag]
        at = end
    out.append(text[at:finish])
    return "".join(out).strip()
