"""The Query DSL reader on its own: what each accepted clause becomes, and that every refusal names its clause."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.api.dsl_filters import DslError
from app.api.query_dsl import parse_search
from app.filters import AllOf, AnyOf, Exists, Not, Range, Terms
from app.settings import Settings

SETTINGS = Settings()


def parsed(body):
    return parse_search(body, SETTINGS).request


def test_words_and_filters_of_a_bool() -> None:
    request = parsed({"query": {"bool": {
        "must": [{"match": {"title": "reset"}}, {"match_all": {}}],
        "should": [{"multi_match": {"query": "password", "fields": ["body"]}}],
        "filter": [{"term": {"metadata.team": 5}}, {"range": {"updated_at": {"gte": "2024-01-01"}}}],
        "must_not": [{"ids": {"values": ["d1"]}}, {"exists": {"field": "metadata.draft"}}],
    }}})
    assert request.query == "reset password"
    assert request.narrowing == AllOf((
        Terms("metadata.team", ("5",)), Range("updated_at", gte="2024-01-01T00:00:00Z"),
        Not(AnyOf((Terms("doc_id", ("d1",)), Exists("metadata.draft")))),
    ))


@pytest.mark.parametrize("text", ["sign-in problems", "e-mail bounce", "what's new", "TCP and IP"])
def test_query_string_words_that_only_look_like_syntax_are_read_as_words(text: str) -> None:
    assert parsed({"query": {"query_string": {"query": text}}}).query == text


@pytest.mark.parametrize("text", ["-spam", "title:reset", "a AND b", "pass*", '"exact phrase"', "a || b"])
def test_query_string_syntax_is_refused(text: str) -> None:
    with pytest.raises(DslError, match=r"syntax \["):
        parsed({"query": {"query_string": {"query": text}}})


@given(st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=5)),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(
        ["query", "bool", "must", "filter", "term", "range", "match", "aggs", "size", "terms", "field", "gte", "x"]), inner, max_size=3)),
    max_leaves=12,
))
def test_any_body_is_read_or_refused_with_a_dsl_error(body) -> None:
    try:
        parse_search(body, SETTINGS)
    except DslError as exc:
        assert exc.kind and exc.reason


def test_updated_at_bounds_take_the_stored_form() -> None:
    request = parsed({"query": {"bool": {"must": {"match": {"body": "x"}}, "filter": {"range": {"updated_at": {
        "gt": "0999-01-01", "lt": "2024-06-01T02:00:00+02:00"}}}}}})
    assert request.narrowing == Range("updated_at", gt="0999-01-01T00:00:00Z", lt="2024-06-01T00:00:00Z")
    with pytest.raises(DslError, match="ISO-8601"):
        parsed({"query": {"bool": {"must": {"match": {"body": "x"}}, "filter": {"range": {"updated_at": {"gt": "0001-01-01T00:00:00+01:00"}}}}}})
