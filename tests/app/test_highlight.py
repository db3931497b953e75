"""Highlighting: the analysed query terms marked in fragments, as the unified highlighter marks them."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from app.analysis import ENGLISH_V1, analyzer
from app.highlight import HighlightRequest, highlight

CHAIN = analyzer(ENGLISH_V1)


def terms(query: str) -> frozenset[str]:
    return frozenset(CHAIN.analyze(query))


def test_stemmed_words_are_marked_and_stop_words_are_not() -> None:
    text = "The failover of databases: promote the replica database."
    (fragment,) = highlight(text, terms("database the failovers"), CHAIN, HighlightRequest(number_of_fragments=0))
    assert fragment == "The <em>failover</em> of <em>databases</em>: promote the replica <em>database</em>."


def test_fragments_are_windows_in_text_order() -> None:
    text = " ".join(["filler"] * 40 + ["alpha"] + ["filler"] * 40 + ["alpha"] + ["filler"] * 40)
    fragments = highlight(text, terms("alpha"), CHAIN, HighlightRequest(fragment_size=50, number_of_fragments=5))
    assert len(fragments) == 2 and all("<em>alpha</em>" in f and len(f) <= 50 + 9 for f in fragments)
    assert highlight(text, terms("alpha"), CHAIN, HighlightRequest(fragment_size=50, number_of_fragments=1)) == fragments[:1]


def test_no_match_no_fragment() -> None:
    assert highlight("nothing here", terms("alpha"), CHAIN, HighlightRequest()) == []


@given(st.text(alphabet=st.sampled_from("ab c,.é"), max_size=200), st.sampled_from(["a", "ab", "b c"]))
def test_removing_the_tags_gives_back_the_text(text: str, query: str) -> None:
    whole = highlight(text, terms(query), CHAIN, HighlightRequest(number_of_fragments=0, pre_tag="<<", post_tag=">>"))
    if whole:
        assert whole[0].replace("<<", "").replace(">>", "") == text.strip()
