"""``index import``'s field map: our document fields from an old index's fields or literals."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Mapping

from app.documents import Document, LineError, parse_line

FIELD_TARGETS = ("id", "title", "body", "tenant", "acl", "url", "updated_at")
REQUIRED_TARGETS = ("title", "tenant", "acl")
_LITERAL = re.compile(r"""^(['"])(.*)\1$""")


@dataclass(frozen=True)
class FieldMap:
    """Our document field → the old index's field (dotted path) or a quoted literal.

    ``title=headline,body=content,tenant='acme',acl=groups,metadata.lang=language``;
    ``id`` defaults to the old document's ``_id``.
    """

    fields: Mapping[str, str]
    literals: Mapping[str, str]

    @classmethod
    def parse(cls, text: str) -> "FieldMap":
        fields: dict[str, str] = {"id": "_id"}
        literals: dict[str, str] = {}
        for part in filter(None, (p.strip() for p in text.split(","))):
            target, sep, source = (s.strip() for s in part.partition("="))
            if not sep or not target or not source:
                raise ValueError(f"field map entry {part!r} is not TARGET=SOURCE")
            if target not in FIELD_TARGETS and not (target.startswith("metadata.") and len(target) > 9):
                raise ValueError(
                    f"field map target {target!r} is unknown (use {', '.join(FIELD_TARGETS)} or metadata.KEY)"
                )
            literal = _LITERAL.match(source)
            if literal:
                fields.pop(target, None)
                literals[target] = literal.group(2)
            else:
                literals.pop(target, None)
                fields[target] = source
        missing = [t for t in REQUIRED_TARGETS if t not in fields and t not in literals]
        if missing:
            raise ValueError(f"field map lacks {', '.join(missing)} (e.g. --field-map title=...,body=...,tenant=...,acl=...)")
        return cls(fields=fields, literals=literals)

    def source_fields(self) -> list[str]:
        """Top-level ``_source`` fields to fetch from the old index."""
        return sorted({path.split(".")[0] for path in self.fields.values() if path != "_id"})

    def document(self, hit: Mapping[str, Any], source: str, line: int) -> Document | LineError:
        """One old-index hit → a validated document (or the reason it is not one)."""
        record: dict[str, Any] = {}
        metadata: dict[str, Any] = {}
        values = {t: _lookup(hit, path) for t, path in self.fields.items()} | dict(self.literals)
        for target, value in values.items():
            if value is None:
                continue
            if target.startswith("metadata."):
                metadata[target[len("metadata."):]] = _strings(value)
            elif target == "acl":
                record["acl"] = _strings(value)
            elif target in ("id", "tenant"):
                record[target] = str(value) if isinstance(value, (int, float)) else value
            elif target in ("title", "body") and isinstance(value, list):
                record[target] = "\n".join(map(str, value))
            else:
                record[target] = value
        if metadata:
            record["metadata"] = metadata
        # Through the same validation as a JSONL line, so both report alike.
        return parse_line(json.dumps(record, ensure_ascii=False), source, line)


def _lookup(hit: Mapping[str, Any], path: str) -> Any:
    if path == "_id":
        return hit.get("_id")
    value: Any = hit
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _strings(value: Any) -> Any:
    """Scalars and lists of scalars as strings; anything else is left for validation to reject."""
    if isinstance(value, (str, int, float, bool)):
        return [str(value)]
    if isinstance(value, list) and all(isinstance(v, (str, int, float, bool)) for v in value):
        return [str(v) for v in value]
    return value
