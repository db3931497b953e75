"""Query DSL filter clauses, and the reading helpers the facade's DSL modules share.

:func:`read_filter` turns a filter-context clause (``term``, ``terms``,
``range``, ``exists``, ``ids``, ``bool``, ``match_all``) into a narrowing clause
of :mod:`app.filters`; anything else is a :class:`DslError` naming it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from app.documents import stored_timestamp
from app.filters import (
    DOC_ID,
    UPDATED_AT,
    AllOf,
    AnyOf,
    Clause,
    Exists,
    Not,
    Range,
    Terms,
    UnknownField,
    check_field,
)

MAX_CLAUSES = 64


class DslError(ValueError):
    """A body the facade cannot run: OpenSearch's error ``type`` and ``reason``."""

    def __init__(self, reason: str, kind: str = "parsing_exception") -> None:
        super().__init__(reason)
        self.kind, self.reason = kind, reason


FILTER_KINDS = frozenset({"term", "terms", "range", "exists", "ids", "bool", "match_all"})


def read_filter(clause: Any) -> Clause:
    """A filter-context clause as a narrowing clause."""
    kind, spec = single(clause, "filter")
    if kind == "match_all":
        no_options(spec, kind)
        return AllOf(())
    if kind == "term":
        name, value = single(spec, kind)
        if isinstance(value, dict):
            only(value, kind, {"value"})
            value = value.get("value")
        return Terms(field_name(name), (_keyword(value, kind),))
    if kind == "terms":
        name, values = single(spec, kind)
        return Terms(field_name(name), _keywords(values, f"[terms] on [{name}]", kind))
    if kind == "range":
        name, bounds = single(spec, kind)
        if not isinstance(bounds, dict) or not bounds:
            raise DslError(f"[range] on [{name}] needs bounds (gt, gte, lt, lte)", "x_content_parse_exception")
        only(bounds, kind, {"gt", "gte", "lt", "lte"})
        name = field_name(name)
        return Range(name, **{op: _bound(name, value) for op, value in bounds.items()})
    if kind == "exists":
        only(spec, kind, {"field"})
        return Exists(field_name(spec.get("field")))
    if kind == "ids":
        only(spec, kind, {"values"})
        return Terms(DOC_ID, _keywords(spec.get("values"), "[ids]", kind))
    if kind == "bool":
        check_bool(spec)
        required = [read_filter(c) for occur in ("must", "filter") for c in clauses(spec.get(occur), occur)]
        should = [read_filter(c) for c in clauses(spec.get("should"), "should")]
        excluded = [read_filter(c) for c in clauses(spec.get("must_not"), "must_not")]
        parts = required + ([AnyOf(tuple(should))] if should else []) + [Not(c) for c in excluded]
        return AllOf(tuple(parts))
    raise DslError(f"unknown filter [{kind}]: filters may be term, terms, range, exists, ids, bool and match_all")


def check_bool(spec: Any) -> None:
    """A ``bool``'s options: its four occurrences, and any one ``should`` clause sufficing."""
    only(spec, "bool", {"must", "filter", "should", "must_not", "minimum_should_match"})
    if spec.get("minimum_should_match", 1) not in (1, "1"):
        raise DslError("[bool] minimum_should_match other than 1 is not supported", "illegal_argument_exception")


def field_name(name: Any) -> str:
    if not isinstance(name, str):
        raise DslError("a field name must be a string", "x_content_parse_exception")
    try:
        return check_field(name)
    except UnknownField as exc:
        raise DslError(str(exc), "illegal_argument_exception") from None


def _keyword(value: Any, kind: str) -> str:
    """A term value as the keyword it is compared with (OpenSearch reads 5 as "5")."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise DslError(f"[{kind}] values must be strings, numbers or booleans", "x_content_parse_exception")


def _keywords(values: Any, what: str, kind: str) -> tuple[str, ...]:
    """A non-empty list of term values (at most ``MAX_CLAUSES``) as keywords."""
    if not isinstance(values, list) or not values or len(values) > MAX_CLAUSES:
        raise DslError(f"{what} needs a list of 1-{MAX_CLAUSES} values", "x_content_parse_exception")
    return tuple(_keyword(v, kind) for v in values)


def _bound(name: str, value: Any) -> str:
    """A range bound; on ``updated_at``, an ISO-8601 date or time in the stored form."""
    text = _keyword(value, "range")
    if name != UPDATED_AT:
        return text
    try:
        return stored_timestamp(dt.datetime.fromisoformat(text.replace("Z", "+00:00")))
    except (ValueError, OverflowError):
        raise DslError(
            f"[range] on [updated_at] takes ISO-8601 dates or times; [{text}] is not one (date math is not supported)",
            "illegal_argument_exception",
        ) from None


# ----------------------------------------------------------------- shapes
def single(value: Any, where: str) -> tuple[str, Any]:
    """The one ``{key: spec}`` of a clause object."""
    if not isinstance(value, dict) or len(value) != 1:
        raise DslError(f"[{where}] must be an object with exactly one key", "x_content_parse_exception")
    ((key, spec),) = value.items()
    return key, spec


def clauses(value: Any, occur: str) -> list[Any]:
    clauses = [] if value is None else value if isinstance(value, list) else [value]
    if len(clauses) > MAX_CLAUSES:
        raise DslError(f"[bool] {occur} takes at most {MAX_CLAUSES} clauses", "illegal_argument_exception")
    return clauses


def only(spec: Any, kind: str, allowed: set[str]) -> None:
    if not isinstance(spec, dict):
        raise DslError(f"[{kind}] must be an object", "x_content_parse_exception")
    unknown = sorted(set(spec) - allowed)
    if unknown:
        raise DslError(f"[{kind}] option [{unknown[0]}] is not supported (docs/drop-in.md)")


def no_options(spec: Any, kind: str) -> None:
    if spec not in ({}, None):
        raise DslError(f"[{kind}] takes no options here")


def text_of(value: Any, kind: str) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise DslError(f"[{kind}] query must be text", "x_content_parse_exception")
    return value

