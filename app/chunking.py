"""Token-aware chunking: documents → passages the embedding model can read whole.

The body is cut into sections at markdown headings and into paragraphs at
blank lines. Paragraphs of one section are packed into chunks up to
``max_tokens``; a paragraph too long for one chunk is cut at sentences, a
sentence at words, and a word at characters, so the bound holds for any input.
Every chunk of a section starts with the section's heading so it reads on its
own, and consecutive chunks of a section share some trailing text.

Token counts come from the injected ``count_tokens`` (the embedding model's
word-piece counter in production). Packing adds up per-piece counts as an
estimate, and every finished chunk is measured again as a whole, so the bound
holds even when a counter is not additive.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Sequence

from app.backends.base import Chunk, chunk_key
from app.documents import Document

CountTokens = Callable[[str], int]

# ATX heading per CommonMark: up to 3 spaces, 1-6 '#', then space or end of line.
_HEADING = re.compile(r"^ {0,3}#{1,6}(?:[ \t].*)?$")
# '#' lines inside fenced code are comments, not headings.
_FENCE = re.compile(r"^ {0,3}(?:```|~~~)")
# Sentence end: . ! ? (plus closing quotes/brackets) then whitespace; a line
# break inside a paragraph also ends one, so lists and tables split per line.
_SENTENCE_BREAK = re.compile(r"[.!?][\"'\u201d\u2019)\]]*(\s+)|(\s*\n\s*)")
_WORD = re.compile(r"\S+")

PARAGRAPH_SEP = "\n\n"


@dataclass(frozen=True)
class _Section:
    #: Heading line(s); consecutive headings with nothing between them stack.
    heading: str | None
    paragraphs: list[str]


@dataclass(frozen=True)
class _Unit:
    """An indivisible piece of a section that fits in a chunk by itself."""

    #: Joins it to the previous piece in the same chunk ("" inside a split word).
    sep: str
    text: str
    #: ``count_tokens(text)``, used for additive estimates while packing.
    tokens: int


class _TooSmall(ValueError):
    """Not even one character fits (next to the heading, if any)."""


def chunk_document(
    doc: Document,
    count_tokens: CountTokens,
    *,
    max_tokens: int = 200,
    overlap_tokens: int = 40,
) -> list[Chunk]:
    """Cut ``doc`` into chunks of at most ``max_tokens`` (as ``count_tokens`` measures).

    A document with a blank body becomes its title alone (one chunk unless the
    title is itself too long); one with neither yields no chunks.
    """
    if max_tokens < 1:
        raise ValueError(f"max_tokens must be positive, got {max_tokens}")
    if overlap_tokens < 0:
        raise ValueError(f"overlap_tokens must not be negative, got {overlap_tokens}")
    chunker = _Chunker(count_tokens, max_tokens, min(overlap_tokens, max_tokens // 2))

    if doc.body.strip():
        sections = parse_sections(doc.body)
    elif doc.title.strip():
        sections = [_Section(heading=None, paragraphs=[doc.title.strip()])]
    else:
        sections = []

    texts: list[str] = []
    for section in sections:
        texts.extend(chunker.chunk_section(section))
    return [
        Chunk(
            chunk_id=chunk_key(doc.tenant, doc.id, position),
            doc_id=doc.id,
            position=position,
            title=doc.title,
            text=text,
            tenant=doc.tenant,
            acl=doc.acl,
            metadata=doc.metadata,
            url=doc.url,
            updated_at=doc.updated_at,
            content_hash=doc.content_hash,
            document_body=doc.body if position == 0 else None,
        )
        for position, text in enumerate(texts)
    ]


def parse_sections(body: str) -> list[_Section]:
    """Split markdown-ish text at ATX headings and blank lines."""
    sections: list[_Section] = []
    heading: str | None = None
    paragraphs: list[str] = []
    lines: list[str] = []
    in_fence = False

    def end_paragraph() -> None:
        if lines:
            paragraphs.append("\n".join(lines))
            lines.clear()

    for line in body.splitlines():
        if _FENCE.match(line):
            in_fence = not in_fence
        elif not in_fence and _HEADING.match(line):
            end_paragraph()
            if paragraphs or heading is None:
                if paragraphs:
                    sections.append(_Section(heading, list(paragraphs)))
                paragraphs.clear()
                heading = line.strip()
            else:
                # A heading directly under another keeps its parent as context.
                heading = f"{heading}\n{line.strip()}"
            continue
        if line.strip():
            lines.append(line.rstrip())
        else:
            end_paragraph()
    end_paragraph()
    if paragraphs or heading is not None:
        sections.append(_Section(heading, list(paragraphs)))
    return sections


def _sentence_spans(text: str) -> list[tuple[int, int, str]]:
    """``(start, end, sep)`` of each sentence; ``sep`` is what preceded it ("" for the first)."""
    spans: list[tuple[int, int, str]] = []
    start, sep = 0, ""
    for match in _SENTENCE_BREAK.finditer(text):
        ws_start, ws_end = match.span(1) if match.group(1) is not None else match.span(2)
        if ws_end >= len(text):
            break  # trailing whitespace, not a boundary
        if ws_start > start:
            spans.append((start, ws_start, sep))
            sep = "\n" if "\n" in text[ws_start:ws_end] else " "
        start = ws_end
    if start < len(text):
        spans.append((start, len(text), sep))
    return spans


def _compose(prefix: str | None, body: str) -> str:
    return f"{prefix}{PARAGRAPH_SEP}{body}" if prefix else body


def _join(lead: str, units: Sequence[_Unit]) -> str:
    parts: list[str] = []
    text_so_far = bool(lead)
    if lead:
        parts.append(lead)
    for unit in units:
        if text_so_far:
            parts.append(unit.sep)
        parts.append(unit.text)
        text_so_far = True
    return "".join(parts)


class _Chunker:
    def __init__(self, count_tokens: CountTokens, max_tokens: int, overlap_budget: int) -> None:
        self.count = count_tokens
        self.max_tokens = max_tokens
        self.overlap_budget = overlap_budget
        self._prefix_tokens: dict[str, int] = {}

    # --- sections -----------------------------------------------------------------
    def chunk_section(self, section: _Section) -> list[str]:
        """Chunk texts of one section, each starting with its heading when there is room."""
        prefix, paragraphs = section.heading, section.paragraphs
        # A heading that would eat more than half of every chunk is content, not a prefix.
        if prefix is not None and (not paragraphs or self._prefix_count(prefix) > self.max_tokens // 2):
            prefix, paragraphs = None, [prefix, *paragraphs]
        try:
            units = self._units(prefix, paragraphs)
        except _TooSmall:
            if prefix is None:
                raise
            # Not even one character fits beside the heading: drop the prefix.
            prefix, paragraphs = None, [prefix, *paragraphs]
            units = self._units(None, paragraphs)
        return self._pack(prefix, units)

    def _fits(self, prefix: str | None, body: str) -> tuple[bool, int]:
        """Whether ``body`` fits under ``prefix``, and its estimated own token count."""
        total = self.count(_compose(prefix, body))
        own = total - self._prefix_count(prefix)
        return total <= self.max_tokens, max(own, 0)

    def _prefix_count(self, prefix: str | None) -> int:
        if not prefix:
            return 0
        if prefix not in self._prefix_tokens:
            self._prefix_tokens[prefix] = self.count(prefix)
        return self._prefix_tokens[prefix]

    # --- cutting into units -----------------------------------------------------------
    def _units(self, prefix: str | None, paragraphs: Sequence[str]) -> list[_Unit]:
        """Paragraphs that fit stay whole; others are cut at sentences, words, characters."""
        units: list[_Unit] = []
        for paragraph in paragraphs:
            fits, tokens = self._fits(prefix, paragraph)
            if fits:
                units.append(_Unit(PARAGRAPH_SEP, paragraph, tokens))
                continue
            for start, end, sep in _sentence_spans(paragraph):
                sentence = paragraph[start:end]
                sep = sep or PARAGRAPH_SEP
                fits, tokens = self._fits(prefix, sentence)
                if fits:
                    units.append(_Unit(sep, sentence, tokens))
                    continue
                for word_match in _WORD.finditer(sentence):
                    word = word_match.group()
                    fits, tokens = self._fits(prefix, word)
                    if fits:
                        units.append(_Unit(sep, word, tokens))
                    else:
                        for i, piece in enumerate(self._split_word(prefix, word)):
                            units.append(_Unit(sep if i == 0 else "", piece, self.count(piece)))
                    sep = " "
        return units

    def _split_word(self, prefix: str | None, word: str) -> list[str]:
        """Longest fitting character runs (counts are near-monotone in length).

        Each search starts from the previous piece's length and gallops from
        there, so a uniform 5,000-character word costs a few short counts per
        piece instead of re-tokenising the rest of the word each time.
        """
        pieces: list[str] = []
        start, guess = 0, 1
        while start < len(word):
            end = self._longest_fit(prefix, word, start, min(start + guess, len(word)))
            pieces.append(word[start:end])
            guess = end - start
            start = end
        return pieces

    def _longest_fit(self, prefix: str | None, word: str, start: int, guess: int) -> int:
        """End of the longest ``word[start:end]`` that fits, searching around ``guess``."""

        def fits(end: int) -> bool:
            return self._fits(prefix, word[start:end])[0]

        # Invariant once set: word[start:good] fits, word[start:bad] does not.
        if fits(guess):
            good, bad, step = guess, len(word) + 1, 1
            while good < len(word):
                candidate = min(good + step, len(word))
                if not fits(candidate):
                    bad = candidate
                    break
                good, step = candidate, step * 2
        else:
            bad, step = guess, 1
            while True:
                candidate = max(start + 1, bad - step)
                if fits(candidate):
                    good = candidate
                    break
                if candidate == start + 1:
                    raise _TooSmall(f"max_tokens={self.max_tokens} is too small for {word[start]!r}")
                bad, step = candidate, step * 2
        while bad - good > 1:
            mid = (good + bad) // 2
            if fits(mid):
                good = mid
            else:
                bad = mid
        return good

    # --- packing ----------------------------------------------------------------------
    def _pack(self, prefix: str | None, units: Sequence[_Unit]) -> list[str]:
        """Greedy packing; each chunk after the first starts with the previous one's tail."""
        prefix_tokens = self._prefix_count(prefix)
        texts: list[str] = []
        previous_body = ""
        i = 0
        while i < len(units):
            lead, lead_tokens = "", 0
            if previous_body and self.overlap_budget > 0:
                limit = min(self.overlap_budget, self.max_tokens - prefix_tokens - units[i].tokens)
                lead, lead_tokens = self._overlap(previous_body, limit)

            estimate = prefix_tokens + lead_tokens + units[i].tokens
            j = i + 1
            while j < len(units) and estimate + units[j].tokens <= self.max_tokens:
                estimate += units[j].tokens
                j += 1

            # The estimate assumes counts add up; measure the real text and back off.
            while True:
                body = _join(lead, units[i:j])
                if self.count(_compose(prefix, body)) <= self.max_tokens:
                    break
                if j - i > 1:
                    j -= 1
                elif lead:
                    lead, lead_tokens = self._overlap(previous_body, lead_tokens - 1)
                else:  # pragma: no cover - every unit was checked to fit alone
                    raise AssertionError("a unit does not fit by itself")
            texts.append(_compose(prefix, body))
            previous_body = body
            i = j
        return texts

    def _overlap(self, body: str, limit: int) -> tuple[str, int]:
        """The longest tail of ``body`` starting at a word, of at most ``limit`` tokens.

        Starts at a sentence instead when that still gives at least half the
        limit, so the shared text reads naturally.
        """
        if limit <= 0:
            return "", 0
        starts = [m.start() for m in _WORD.finditer(body)]
        if not starts:
            return "", 0

        def tail_tokens(words: int) -> int:
            return self.count(body[starts[len(starts) - words] :])

        # Gallop back from the last word, then bisect: the cost follows the
        # overlap size, not the chunk size. Invariant: ``good`` trailing words
        # fit, ``bad`` do not.
        best_tokens = tail_tokens(1)
        if best_tokens > limit:
            return "", 0
        good, bad, step = 1, len(starts) + 1, 1
        while good < len(starts):
            candidate = min(good + step, len(starts))
            tokens = tail_tokens(candidate)
            if tokens > limit:
                bad = candidate
                break
            good, best_tokens, step = candidate, tokens, step * 2
        while bad - good > 1:
            mid = (good + bad) // 2
            tokens = tail_tokens(mid)
            if tokens <= limit:
                good, best_tokens = mid, tokens
            else:
                bad = mid
        best = len(starts) - good
        tail_start = starts[best]
        sentence_start = next((s for s, _, _ in _sentence_spans(body) if s >= tail_start), None)
        if sentence_start is not None and sentence_start != tail_start:
            sentence_tokens = self.count(body[sentence_start:])
            if 2 * sentence_tokens >= limit and sentence_tokens <= limit:
                return body[sentence_start:], sentence_tokens
        return body[tail_start:], best_tokens
