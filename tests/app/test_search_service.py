"""Pure helpers of the query path (the path itself is tested through the API)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from app.search_service import snippet


def _whole_passage_snippet(text: str, limit: int) -> str:
    """The definition: collapse all whitespace, then cut at a word boundary."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    return text[: cut if cut > limit // 2 else limit].rstrip(" ,.;:") + " …"


_spacing = st.sampled_from([" ", "  ", "\n", "\t \n", " " * 40])
_passages = st.lists(st.tuples(st.text("abc,.", min_size=1, max_size=12), _spacing), max_size=40).map(
    lambda parts: "".join(word + space for word, space in parts)
)


@given(text=_passages | st.text(max_size=200), limit=st.integers(1, 60))
def test_snippet_equals_collapsing_the_whole_passage(text: str, limit: int) -> None:
    assert snippet(text, limit) == _whole_passage_snippet(text, limit)


def test_snippet_looks_past_a_prefix_of_mostly_whitespace() -> None:
    text = "intro" + " " * 100 + "the rest of the passage, which is long enough to be cut"
    assert snippet(text, 30) == _whole_passage_snippet(text, 30) == "intro the rest of the …"


def test_snippet_of_a_long_passage_is_cut_at_a_word() -> None:
    text = "word " * 200
    shown = snippet(text, 23)
    assert shown == "word word word word …"
