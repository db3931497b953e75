"""Narrowing clauses: their reference semantics, which both backends must match."""

from __future__ import annotations

import pytest

from app.backends.base import AccessFilter, Chunk
from app.filters import AllOf, AnyOf, Exists, Not, Range, Terms, UnknownField, admits, all_of, check_field


def chunk(**fields) -> Chunk:
    base = dict(chunk_id="t/d1#0", doc_id="d1", position=0, title="", text="", tenant="t", acl=("*",))
    return Chunk(**(base | fields))


def test_each_clause_kind() -> None:
    c = chunk(metadata={"team": ("a", "b")}, updated_at="2024-06-01T00:00:00Z")
    assert admits(Terms("metadata.team", ("b", "z")), c) and not admits(Terms("metadata.team", ("z",)), c)
    assert admits(Terms("doc_id", ("d1",)), c) and not admits(Terms("doc_id", ("d2",)), c)
    assert admits(Range("updated_at", gte="2024-01-01T00:00:00Z", lt="2025-01-01T00:00:00Z"), c)
    assert not admits(Range("updated_at", gt="2024-06-01T00:00:00Z"), c)
    assert admits(Range("metadata.team", gt="a"), c)  # "b" > "a": any value in range
    assert admits(Exists("metadata.team"), c) and not admits(Exists("metadata.lang"), c)
    assert not admits(Exists("updated_at"), chunk())
    assert admits(Not(Exists("metadata.lang")), c)
    assert admits(AnyOf((Exists("metadata.lang"), Terms("doc_id", ("d1",)))), c)
    assert not admits(AllOf((Exists("metadata.lang"), Terms("doc_id", ("d1",)))), c)
    assert admits(None, c)


def test_a_range_on_a_missing_field_admits_nothing() -> None:
    assert not admits(Range("updated_at", lte="9999"), chunk())


def test_narrowing_never_widens_access() -> None:
    hidden = chunk(tenant="other", metadata={"team": ("a",)})
    access = AccessFilter("t", frozenset({"u"}), narrowing=AnyOf((Not(Exists("doc_id")), Exists("doc_id"))))
    assert not access.admits(hidden)  # a clause that is always true still leaves the tenant filter


def test_filterable_fields() -> None:
    assert check_field("metadata.team") == "metadata.team"
    for name in ("tenant", "acl", "metadata.", "body"):
        with pytest.raises(UnknownField, match=f"cannot filter on \\[{name}\\]"):
            check_field(name)


def test_all_of() -> None:
    assert all_of([]) is None and all_of([Exists("doc_id")]) == Exists("doc_id")
    assert all_of([Exists("doc_id"), Exists("updated_at")]) == AllOf((Exists("doc_id"), Exists("updated_at")))
