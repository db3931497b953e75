"""Input documents: one JSON object per JSONL line, validated and normalised.

:func:`read_documents` turns lines into :class:`Document` values, or into
:class:`LineError` values that say which line was bad and why, so one broken
line never stops an ingestion run.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

from marshmallow import (
    RAISE,
    Schema,
    ValidationError,
    fields,
    post_load,
    validate,
    validates_schema,
)

from app.backends.base import doc_key

#: Tenant names end up in filters and index metadata; keep them plain.
TENANT_PATTERN = r"^[A-Za-z0-9_.:-]+$"
#: Metadata keys become filter field names in both backends.
METADATA_KEY_PATTERN = r"^[A-Za-z0-9_.-]{1,64}$"


@dataclass(frozen=True)
class Document:
    """One validated input document.

    ``acl`` and each metadata value are sorted and de-duplicated (they are sets
    semantically), and ``metadata`` is ordered by key, so equal content gives
    equal values and an equal :attr:`content_hash`.
    """

    id: str
    title: str
    body: str
    tenant: str
    acl: tuple[str, ...]
    url: str | None = None
    #: UTC, ``YYYY-MM-DDTHH:MM:SSZ``.
    updated_at: str | None = None
    metadata: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """Tenant-scoped key (:func:`app.backends.base.doc_key`): ids repeat across tenants."""
        return doc_key(self.tenant, self.id)

    def canonical_json(self) -> str:
        """All fields as compact JSON with sorted keys.

        ASCII-only so the bytes never depend on the platform's encoding.
        """
        return json.dumps(
            {
                "id": self.id,
                "title": self.title,
                "body": self.body,
                "tenant": self.tenant,
                "acl": list(self.acl),
                "url": self.url,
                "updated_at": self.updated_at,
                "metadata": {key: list(values) for key, values in self.metadata.items()},
            },
            sort_keys=True,
            ensure_ascii=True,
            separators=(",", ":"),
        )

    @cached_property
    def content_hash(self) -> str:
        """SHA-256 hex of :meth:`canonical_json`; unchanged documents are skipped on re-ingest."""
        return hashlib.sha256(self.canonical_json().encode("ascii")).hexdigest()

    def __hash__(self) -> int:
        # The generated hash would fail on the metadata dict; equal documents
        # have equal content hashes, so this agrees with ``__eq__``.
        return hash((self.id, self.content_hash))


@dataclass(frozen=True)
class LineError:
    """Why one input line was rejected.

    ``messages`` is marshmallow's error dict (field → messages, nested for
    lists and dicts); line-level problems use the keys ``_json`` and
    ``_encoding``.
    """

    source: str
    line: int
    messages: dict[str, Any]

    def __str__(self) -> str:
        parts = [f"{path}: {' '.join(msgs)}" for path, msgs in _flatten_messages(self.messages)]
        return f"{self.source}:{self.line}: " + "; ".join(parts)


def _flatten_messages(messages: Any, prefix: str = "") -> list[tuple[str, list[str]]]:
    """``{"acl": {0: ["Too long."]}}`` → ``[("acl.0", ["Too long."])]``, sorted by path."""
    if isinstance(messages, Mapping):
        out: list[tuple[str, list[str]]] = []
        for key in sorted(messages, key=str):
            path = f"{prefix}.{key}" if prefix else str(key)
            out.extend(_flatten_messages(messages[key], path))
        return out
    if isinstance(messages, (list, tuple)):
        flat = [str(m) for m in messages if not isinstance(m, (Mapping, list, tuple))]
        nested = [m for m in messages if isinstance(m, (Mapping, list, tuple))]
        out = [(prefix or "_schema", flat)] if flat else []
        for m in nested:
            out.extend(_flatten_messages(m, prefix))
        return out
    return [(prefix or "_schema", [str(messages)])]


def _not_blank(value: str) -> None:
    if not value.strip():
        raise ValidationError("Must not be blank.")


class _MetadataValue(fields.Field):
    """A string or a list of strings, loaded as a sorted de-duplicated tuple."""

    default_error_messages = {"invalid": "Not a string or a list of strings."}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> tuple[str, ...]:
        if isinstance(value, str):
            return (value,)
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return tuple(sorted(set(value)))
        raise self.make_error("invalid")


class _UtcTimestamp(fields.DateTime):
    """ISO-8601 in, ``YYYY-MM-DDTHH:MM:SSZ`` (UTC, whole seconds) out.

    A timestamp without an offset is taken to be UTC already.
    """

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:  # type: ignore[override]
        if not isinstance(value, str):
            raise self.make_error("invalid", input=value, obj_type=self.OBJ_TYPE)
        parsed = super()._deserialize(value, attr, data, **kwargs)
        try:
            return stored_timestamp(parsed)
        except OverflowError as exc:  # e.g. 0001-01-01T00:00:00+01:00
            raise self.make_error("invalid", input=value, obj_type=self.OBJ_TYPE) from exc


def stored_timestamp(moment: dt.datetime) -> str:
    """``moment`` as ``updated_at`` is stored: UTC, whole seconds, ``YYYY-MM-DDTHH:MM:SSZ``
    (so stored values compare as text in time order). Without an offset it is UTC already;
    raises ``OverflowError`` when the conversion leaves the calendar."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.timezone.utc)
    return (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
        f"T{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}Z"
    )


class DocumentSchema(Schema):
    """One JSONL line; :meth:`load` returns a :class:`Document`."""

    class Meta:
        unknown = RAISE

    id = fields.String(required=True, validate=[validate.Length(min=1, max=256), _not_blank])
    title = fields.String(required=True)
    body = fields.String(load_default="")
    tenant = fields.String(
        required=True,
        validate=[
            validate.Length(min=1, max=128),
            validate.Regexp(TENANT_PATTERN, error="Only letters, digits and _ . : - are allowed."),
        ],
    )
    acl = fields.List(
        fields.String(validate=validate.Length(min=1, max=256)),
        required=True,
        validate=validate.Length(min=1, error="Must hold at least one principal (\"*\" for public)."),
    )
    url = fields.Url(require_tld=False, allow_none=True, load_default=None)
    updated_at = _UtcTimestamp(format="iso", allow_none=True, load_default=None)
    metadata = fields.Dict(
        keys=fields.String(
            validate=validate.Regexp(
                METADATA_KEY_PATTERN, error="Keys are 1-64 of letters, digits and _ . -."
            )
        ),
        values=_MetadataValue(),
        allow_none=True,
        load_default=None,
    )

    @validates_schema(skip_on_field_errors=False)
    def _title_or_body(self, data: dict[str, Any], **kwargs: Any) -> None:
        # Only judge when title loaded; a missing or mistyped title is reported already.
        if "title" not in data:
            return
        body = data.get("body", "")
        if not data["title"].strip() and not (isinstance(body, str) and body.strip()):
            raise ValidationError("Title or body must be non-blank.", "title")

    @post_load
    def _make_document(self, data: dict[str, Any], **kwargs: Any) -> Document:
        metadata = data.get("metadata") or {}
        return Document(
            id=data["id"],
            title=data["title"],
            body=data.get("body", ""),
            tenant=data["tenant"],
            acl=tuple(sorted(set(data["acl"]))),
            url=data.get("url"),
            updated_at=data.get("updated_at"),
            metadata={key: metadata[key] for key in sorted(metadata)},
        )


_SCHEMA = DocumentSchema()


def parse_line(text: str, source: str, line: int) -> Document | LineError:
    """One JSONL line (already decoded) → a document or the reason it is not one."""
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError) as exc:
        return LineError(source, line, {"_json": [f"Invalid JSON: {exc}."]})
    if not isinstance(obj, dict):
        return LineError(source, line, {"_json": [f"Expected a JSON object, got {_json_type(obj)}."]})
    try:
        # JSON escapes can smuggle in lone surrogates, which cannot be encoded
        # and would fail later in the tokenizer or the index.
        json.dumps(obj, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return LineError(source, line, {"_json": ["Invalid Unicode: unpaired surrogate escape."]})
    try:
        return _SCHEMA.load(obj)
    except ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
        return LineError(source, line, messages)


def _json_type(obj: Any) -> str:
    if obj is None:
        return "null"
    if isinstance(obj, bool):
        return "a boolean"
    if isinstance(obj, (int, float)):
        return "a number"
    if isinstance(obj, str):
        return "a string"
    return "an array"


def read_documents(lines: Iterable[str], source: str) -> Iterator[Document | LineError]:
    """Parse JSONL lines; line numbers are 1-based and count blank lines too."""
    for number, text in enumerate(lines, start=1):
        if number == 1:
            text = text.lstrip("\ufeff")  # editors on Windows like to add a BOM
        if not text.strip():
            continue
        yield parse_line(text, source, number)


def read_jsonl_file(path: Path) -> Iterator[Document | LineError]:
    """:func:`read_documents` over a UTF-8 file; a line with bad bytes is one error, not the end."""
    source = str(path)
    with open(path, "rb") as handle:
        # Split on b"\n" only: other Unicode line separators may sit inside JSON strings.
        for number, raw in enumerate(handle, start=1):
            record = parse_raw_line(raw, source, number)
            if record is not None:
                yield record


def parse_raw_line(raw: bytes, source: str, number: int) -> Document | LineError | None:
    """One line's bytes (any reader: files, S3) → a document, an error, or ``None`` when blank."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return LineError(source, number, {"_encoding": [f"Invalid UTF-8 at byte {exc.start}: {exc.reason}."]})
    if number == 1:
        text = text.lstrip("\ufeff")
    if not text.strip():
        return None
    return parse_line(text, source, number)
