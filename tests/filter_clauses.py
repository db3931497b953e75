"""Hypothesis strategies for narrowing clauses (app.filters) over a small vocabulary,
and chunks whose fields draw from the same vocabulary, so clauses often match."""

from __future__ import annotations

from hypothesis import strategies as st

from app.filters import AllOf, AnyOf, Exists, Not, Range, Terms

KEYS = ("team", "lang")
VALUES = ("a", "b", "c")
DATES = ("2024-01-01T00:00:00Z", "2024-06-01T00:00:00Z", "2025-01-01T00:00:00Z")
FIELDS = ("doc_id", "updated_at", *(f"metadata.{k}" for k in KEYS))


def _values_for(field: str) -> st.SearchStrategy[str]:
    if field == "updated_at":
        return st.sampled_from(DATES)
    if field == "doc_id":
        return st.sampled_from([f"d{i}" for i in range(6)])
    return st.sampled_from(VALUES)


@st.composite
def leaf(draw: st.DrawFn):
    field = draw(st.sampled_from(FIELDS))
    kind = draw(st.sampled_from(["terms", "range", "exists"]))
    if kind == "exists":
        return Exists(field)
    if kind == "terms":
        return Terms(field, tuple(draw(st.lists(_values_for(field), min_size=1, max_size=2, unique=True))))
    bounds = draw(st.dictionaries(st.sampled_from(["gt", "gte", "lt", "lte"]), _values_for(field), min_size=1, max_size=2))
    return Range(field, **bounds)


clauses = st.recursive(
    leaf(),
    lambda inner: st.one_of(
        inner.map(Not),
        st.lists(inner, min_size=1, max_size=3).map(lambda cs: AllOf(tuple(cs))),
        st.lists(inner, min_size=1, max_size=3).map(lambda cs: AnyOf(tuple(cs))),
    ),
    max_leaves=5,
)

#: (metadata, updated_at) of one document.
document_fields = st.tuples(
    st.dictionaries(st.sampled_from(KEYS), st.lists(st.sampled_from(VALUES), min_size=1, max_size=2, unique=True).map(tuple)),
    st.one_of(st.none(), st.sampled_from(DATES)),
)
