"""The template's analyzer chain in Python (app.analysis.Analyzer), checked against Lucene's own."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.analysis import ENGLISH_V1, ENGLISH_V2, LEXICAL_DESIGNS, analyzer
from app.evaluation.lucene_parity import lucene_tokens
from shared_paths import dataset_dir

#: Where the standard tokenizer and a letters-and-digits split part ways.
TRICKY = [
    "U.S.A. and e.g. the i.e. rule",
    "pi is 3.14, a million is 1,000,000; a ratio 1:2",
    "don't won't O'Neil's rock’n’roll",
    "snake_case words and well-known hyphen-ated ones",
    "a1.5 x.5 v2 B-52 10-20 1.5e10 ver. 2.0.1",
    "naïve café Ünïcödé résumé",
    "中文字 ひらがな カタカナ 한국어",
    "emails a@b.com and urls http://example.com/x?y=1",
    "Organization UNIVERSITIES internationally adding lateral",
    "x" * 40 + " " + "y" * 41 + " " + "é" * 40 + " " + "z" * 300,
    "",
    "   ",
    "!!! ??? ... ---",
]


def random_texts(count: int, seed: int = 7) -> list[str]:
    """Word-like strings joined by the punctuation the tokenizer decides on."""
    rng = random.Random(seed)
    pieces = ["a", "Z", "é", "ß", "3", "07", "_", "'", "’", ".", ",", ";", ":", "-", "/", "·", "中", "İ", "ΟΔΟΣ", "x" * 39]
    return ["".join(rng.choice(pieces + [" "] * 4) for _ in range(rng.randint(1, 60))) for _ in range(count)]


@pytest.mark.parametrize("version", sorted(LEXICAL_DESIGNS))
def test_the_python_chain_gives_lucenes_terms(version: int, lucene_jar: Path) -> None:
    spec = LEXICAL_DESIGNS[version].analyzer
    texts = TRICKY + random_texts(400)
    for text, expected in zip(texts, lucene_tokens(spec, texts, lucene_jar)):
        assert analyzer(spec).analyze(" ".join(text.split())) == expected, text


def test_the_python_chain_gives_lucenes_terms_on_the_shared_collections(lucene_jar: Path) -> None:
    texts = []
    for name in ("cranfield", "cisi", "cacm"):
        root = dataset_dir(name)
        for line in open(root / "corpus.jsonl", encoding="utf-8"):
            record = json.loads(line)
            texts.append(f"{record.get('title') or ''} {record.get('text') or ''}")
        texts += [json.loads(line)["text"] for line in open(root / "queries.jsonl", encoding="utf-8")]
    chain = analyzer(ENGLISH_V2)
    mismatched = [t for t, expected in zip(texts, lucene_tokens(ENGLISH_V2, texts, lucene_jar))
                  if chain.analyze(" ".join(t.split())) != expected]
    assert not mismatched, f"{len(mismatched)} of {len(texts)} differ, e.g. {mismatched[0][:200]!r}"


def test_word_boundaries_follow_the_standard_tokenizer() -> None:
    chain = analyzer(ENGLISH_V1)
    assert chain.analyze("U.S.A. e.g. 3.14 1,000 don't x.5 snake_case well-known") == [
        "u.s.a", "e.g", "3.14", "1,000", "don't", "x", "5", "snake_cas", "well", "known"]  # stemmed
    assert chain.analyze("中文") == ["中", "文"]


def test_stems_are_lucenes_snowball_english_not_snowball_3() -> None:
    assert analyzer(ENGLISH_V2).analyze("organization universities adding") == ["organ", "univers", "ad"]


@given(st.text(max_size=200))
def test_terms_are_single_words_without_stop_words(text: str) -> None:
    spec = ENGLISH_V2
    for term in analyzer(spec).analyze(text):
        assert term and not any(c.isspace() for c in term)  # indexed as space-separated terms
        assert term not in spec.stop_words
        assert len(term) <= spec.max_token_length


def test_threads_analysing_at_once_get_the_same_terms() -> None:
    """Each thread stems with its own stemmer (PyStemmer's are not thread-safe)."""
    from concurrent.futures import ThreadPoolExecutor

    texts = random_texts(200, seed=11) + TRICKY
    chain = analyzer(ENGLISH_V2)
    expected = [chain.analyze(t) for t in texts]
    with ThreadPoolExecutor(max_workers=4) as pool:
        for _ in range(3):
            assert list(pool.map(chain.analyze, texts)) == expected


@given(st.sampled_from(TRICKY + random_texts(30)) | st.text(max_size=200), st.data())
def test_marks_are_the_spans_whose_terms_are_wanted(text: str, data: st.DataObject) -> None:
    chain = analyzer(ENGLISH_V2)
    terms = sorted({term for _, _, term in chain.spans(text)})
    wanted = frozenset(data.draw(st.lists(st.sampled_from(terms)) if terms else st.just([])) + ["absent"])
    assert chain.marks(text, wanted) == [(start, end) for start, end, term in chain.spans(text) if term in wanted]


#: ASCII words and joins, typographic punctuation, and a few non-ASCII letters, digits, marks and connectors.
WORD_PIECES = ["a", "Z", "3", "07", "_", "'", ".", ",", ";", ":", "-", "/", "x" * 39, " ", " ", "\t",
               "’", "·", "—", "“", "”", "…", "€", "\u00a0", "é", "ß", "²", "\u0301", "‿", "中", "ひ"]


@given(st.text(max_size=200) | st.lists(st.sampled_from(WORD_PIECES), max_size=60).map("".join))
def test_either_word_pattern_splits_a_text_into_the_same_words(text: str) -> None:
    from app.analysis import _WORD, _words

    assert [m.span() for m in _words(text).finditer(text)] == [m.span() for m in _WORD.finditer(text)]


def test_remembered_terms_stay_bounded_and_right(monkeypatch) -> None:
    import app.analysis as analysis

    monkeypatch.setattr(analysis, "TERM_CACHE_SIZE", 50)
    chain = analysis.Analyzer(ENGLISH_V2)
    for text in random_texts(200, seed=11) + TRICKY:
        wanted = frozenset(term for _, _, term in chain.spans(text))
        assert chain.marks(text, wanted) == [(start, end) for start, end, _ in chain.spans(text)]
        assert len(chain._terms) <= 50 + len(text)
