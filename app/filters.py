"""Narrowing filters: the clauses a caller may narrow a search by.

A caller narrows *within* what its verified identity may read; nothing here
can widen access, since every clause only removes chunks (the tenant and ACL
filters are applied beside it, inside every retrieval leg). Each clause has
reference semantics (:func:`admits`) that both backends must agree with: the
OpenSearch backend translates clauses to Query DSL, the embedded one to masks.

Fields a clause may name: ``doc_id``, ``updated_at`` and ``metadata.<key>``.
All of them are keywords (``updated_at`` is stored as ``YYYY-MM-DDTHH:MM:SSZ``),
so ranges compare strings, as OpenSearch compares keyword ranges.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Union

if TYPE_CHECKING:
    from app.backends.base import Chunk

DOC_ID = "doc_id"
UPDATED_AT = "updated_at"
METADATA_PREFIX = "metadata."


@dataclass(frozen=True)
class Terms:
    """``field`` holds any of ``values``."""

    field: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class Range:
    """``field`` holds a value within the bounds (``None``: unbounded)."""

    field: str
    gt: str | None = None
    gte: str | None = None
    lt: str | None = None
    lte: str | None = None


@dataclass(frozen=True)
class Exists:
    """``field`` holds at least one value."""

    field: str


@dataclass(frozen=True)
class Not:
    clause: Clause


@dataclass(frozen=True)
class AllOf:
    clauses: tuple[Clause, ...]


@dataclass(frozen=True)
class AnyOf:
    clauses: tuple[Clause, ...]


Clause = Union[Terms, Range, Exists, Not, AllOf, AnyOf]


class UnknownField(ValueError):
    """A clause names a field that cannot be filtered on."""


def check_field(name: str) -> str:
    """``name`` if a clause may filter on it; raises :class:`UnknownField` otherwise."""
    if name in (DOC_ID, UPDATED_AT) or (name.startswith(METADATA_PREFIX) and len(name) > len(METADATA_PREFIX)):
        return name
    raise UnknownField(f"cannot filter on [{name}]: filterable fields are doc_id, updated_at and metadata.<key>")


def field_values(chunk: Chunk, name: str) -> tuple[str, ...]:
    """The values ``chunk`` holds in field ``name``."""
    if name == DOC_ID:
        return (chunk.doc_id,)
    if name == UPDATED_AT:
        return (chunk.updated_at,) if chunk.updated_at is not None else ()
    return tuple(chunk.metadata.get(name[len(METADATA_PREFIX):], ()))


def in_range(value: str, clause: Range) -> bool:
    return (
        (clause.gt is None or value > clause.gt)
        and (clause.gte is None or value >= clause.gte)
        and (clause.lt is None or value < clause.lt)
        and (clause.lte is None or value <= clause.lte)
    )


def admits(clause: Clause | None, chunk: Chunk) -> bool:
    """The reference semantics: whether ``chunk`` passes ``clause`` (``None`` passes all)."""
    if clause is None:
        return True
    if isinstance(clause, Terms):
        return bool(set(field_values(chunk, clause.field)).intersection(clause.values))
    if isinstance(clause, Range):
        return any(in_range(value, clause) for value in field_values(chunk, clause.field))
    if isinstance(clause, Exists):
        return bool(field_values(chunk, clause.field))
    if isinstance(clause, Not):
        return not admits(clause.clause, chunk)
    if isinstance(clause, AllOf):
        return all(admits(c, chunk) for c in clause.clauses)
    if isinstance(clause, AnyOf):
        return any(admits(c, chunk) for c in clause.clauses)
    raise TypeError(f"not a filter clause: {clause!r}")


def all_of(clauses: list[Clause]) -> Clause | None:
    """One clause requiring every one of ``clauses`` (``None`` for none)."""
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else AllOf(tuple(clauses))
