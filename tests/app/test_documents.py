"""Validation and normalisation of input documents (app.documents)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.documents import Document, DocumentSchema, LineError, read_documents, read_jsonl_file

VALID: dict[str, Any] = {
    "id": "doc-1",
    "title": "Install guide",
    "body": "Run the installer.",
    "tenant": "acme",
    "acl": ["group:eng", "*"],
}


def line(**overrides: Any) -> str:
    """A JSONL line: VALID with overrides; a value of ``...`` drops the field."""
    data = {**VALID, **overrides}
    return json.dumps({k: v for k, v in data.items() if v is not ...})


def load_one(text: str) -> Document | LineError:
    (result,) = list(read_documents([text], "docs.jsonl"))
    return result


def errors_of(text: str) -> dict[str, Any]:
    result = load_one(text)
    assert isinstance(result, LineError), result
    return result.messages


# --- valid documents -------------------------------------------------------------


def test_valid_line_loads_with_defaults() -> None:
    doc = load_one(line(body=...))
    assert doc == Document(
        id="doc-1",
        title="Install guide",
        body="",
        tenant="acme",
        acl=("*", "group:eng"),
        url=None,
        updated_at=None,
        metadata={},
    )


def test_acl_is_sorted_and_deduplicated() -> None:
    doc = load_one(line(acl=["u:b", "u:a", "u:b"]))
    assert doc.acl == ("u:a", "u:b")


def test_metadata_values_normalised_to_sorted_unique_tuples() -> None:
    doc = load_one(line(metadata={"tags": ["b", "a", "b"], "lang": "en", "empty": []}))
    assert doc.metadata == {"empty": (), "lang": ("en",), "tags": ("a", "b")}
    assert list(doc.metadata) == ["empty", "lang", "tags"]


@pytest.mark.parametrize(
    ("given_ts", "expected"),
    [
        ("2024-03-01T12:30:45Z", "2024-03-01T12:30:45Z"),
        ("2024-03-01T12:30:45.987+02:00", "2024-03-01T10:30:45Z"),
        ("2024-03-01T23:30:00-05:00", "2024-03-02T04:30:00Z"),
        ("2024-03-01T12:30:45", "2024-03-01T12:30:45Z"),  # no offset: taken as UTC
        ("2024-03-01", "2024-03-01T00:00:00Z"),
    ],
)
def test_updated_at_normalised_to_utc(given_ts: str, expected: str) -> None:
    assert load_one(line(updated_at=given_ts)).updated_at == expected


def test_optional_fields_accept_null() -> None:
    doc = load_one(line(url=None, updated_at=None, metadata=None))
    assert (doc.url, doc.updated_at, doc.metadata) == (None, None, {})


def test_url_kept() -> None:
    assert load_one(line(url="http://wiki.internal:8080/a?b=c")).url == "http://wiki.internal:8080/a?b=c"


def test_empty_title_with_body_is_valid() -> None:
    doc = load_one(line(title="", body="Only a body"))
    assert isinstance(doc, Document)


def test_body_is_optional() -> None:
    assert isinstance(load_one(line(title="Title", body=...)), Document)


# --- invalid documents -----------------------------------------------------------


def test_missing_required_fields_reported_per_field() -> None:
    assert errors_of(json.dumps({"body": "x"})) == {
        "id": ["Missing data for required field."],
        "title": ["Missing data for required field."],
        "tenant": ["Missing data for required field."],
        "acl": ["Missing data for required field."],
    }


def test_unknown_field_rejected() -> None:
    assert errors_of(line(author="me")) == {"author": ["Unknown field."]}


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"id": ""}, "id", "Length must be between 1 and 256."),
        ({"id": "   "}, "id", "Must not be blank."),
        ({"id": "x" * 257}, "id", "Length must be between 1 and 256."),
        ({"id": 7}, "id", "Not a valid string."),
        ({"title": None}, "title", "Field may not be null."),
        ({"title": " ", "body": "\n"}, "title", "Title or body must be non-blank."),
        ({"title": "", "body": ...}, "title", "Title or body must be non-blank."),
        ({"tenant": ""}, "tenant", "Length must be between 1 and 128."),
        ({"tenant": "t" * 129}, "tenant", "Length must be between 1 and 128."),
        ({"tenant": "acme corp"}, "tenant", "Only letters, digits and _ . : - are allowed."),
        ({"acl": []}, "acl", 'Must hold at least one principal ("*" for public).'),
        ({"acl": "*"}, "acl", "Not a valid list."),
        ({"url": "not a url"}, "url", "Not a valid URL."),
        ({"updated_at": "yesterday"}, "updated_at", "Not a valid datetime."),
        ({"updated_at": 1700000000}, "updated_at", "Not a valid datetime."),
        ({"metadata": ["a"]}, "metadata", "Not a valid mapping type."),
    ],
)
def test_field_errors(overrides: dict[str, Any], field: str, message: str) -> None:
    errors = errors_of(line(**overrides))
    assert list(errors) == [field]
    assert message in errors[field]


def test_acl_item_errors_name_the_index() -> None:
    assert errors_of(line(acl=["ok", "", "x" * 257])) == {
        "acl": {1: ["Length must be between 1 and 256."], 2: ["Length must be between 1 and 256."]}
    }


@pytest.mark.parametrize(
    ("metadata", "expected"),
    [
        ({"bad key": "v"}, {"bad key": {"key": ["Keys are 1-64 of letters, digits and _ . -."]}}),
        ({"k" * 65: "v"}, {"k" * 65: {"key": ["Keys are 1-64 of letters, digits and _ . -."]}}),
        ({"k": 3}, {"k": {"value": ["Not a string or a list of strings."]}}),
        ({"k": ["a", 1]}, {"k": {"value": ["Not a string or a list of strings."]}}),
        ({"k": {"a": "b"}}, {"k": {"value": ["Not a string or a list of strings."]}}),
    ],
)
def test_metadata_errors(metadata: dict[str, Any], expected: dict[str, Any]) -> None:
    assert errors_of(line(metadata=metadata)) == {"metadata": expected}


def test_lone_surrogate_rejected() -> None:
    assert errors_of(line(body="\ud800")) == {"_json": ["Invalid Unicode: unpaired surrogate escape."]}


# --- lines, numbers and messages --------------------------------------------------


def test_line_numbers_are_one_based_and_count_blank_lines() -> None:
    lines = [
        line(id="a"),
        "",
        "   ",
        '{"id": "b", ',
        "[1, 2]",
        line(id="c", tenant="a b"),
        line(id="d"),
        "null",
    ]
    results = list(read_documents(lines, "docs.jsonl"))
    summary = [(r.id if isinstance(r, Document) else r.line) for r in results]
    assert summary == ["a", 4, 5, 6, "d", 8]
    assert results[1].messages["_json"][0].startswith("Invalid JSON: ")
    assert results[2].messages == {"_json": ["Expected a JSON object, got an array."]}
    assert results[3].messages == {"tenant": ["Only letters, digits and _ . : - are allowed."]}
    assert results[5].messages == {"_json": ["Expected a JSON object, got null."]}


def test_line_error_str_is_one_readable_line() -> None:
    error = load_one(json.dumps({"id": "x", "title": "t", "body": ""}))
    assert str(error) == (
        "docs.jsonl:1: acl: Missing data for required field.; "
        "tenant: Missing data for required field."
    )


def test_line_error_str_flattens_nested_messages() -> None:
    error = LineError("f.jsonl", 17, {"metadata": {"a b": {"key": ["Bad key."]}}, "acl": {0: ["Too long.", "Odd."]}})
    assert str(error) == "f.jsonl:17: acl.0: Too long. Odd.; metadata.a b.key: Bad key."
    assert "\n" not in str(error)


def test_read_jsonl_file_handles_bom_crlf_and_bad_bytes(tmp_path: Path) -> None:
    path = tmp_path / "docs.jsonl"
    path.write_bytes(
        b"\xef\xbb\xbf" + line(id="a").encode() + b"\r\n"
        + b'{"id": "b", "title": "caf\xe9"}\r\n'
        + b"\r\n"
        + line(id="c", body="na\u00efve \u2028 ok").encode("utf-8") + b"\n"
    )
    results = list(read_jsonl_file(path))
    assert [type(r).__name__ for r in results] == ["Document", "LineError", "Document"]
    assert results[0].id == "a"
    assert results[1].line == 2 and results[1].source == str(path)
    assert results[1].messages["_encoding"][0].startswith("Invalid UTF-8 at byte 25")
    assert results[2].body == "na\u00efve \u2028 ok"


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.text(max_size=40),
            st.recursive(
                st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                lambda children: st.lists(children, max_size=3)
                | st.dictionaries(st.sampled_from([*VALID, "url", "metadata", "updated_at", "x"]), children, max_size=6),
                max_leaves=12,
            ).map(json.dumps),
        ),
        max_size=8,
    )
)
def test_bad_data_never_raises(lines: list[str]) -> None:
    results = list(read_documents(lines, "fuzz.jsonl"))
    assert len(results) == sum(1 for i, text in enumerate(lines) if text.lstrip("\ufeff" if i == 0 else "").strip())
    for result in results:
        assert isinstance(result, (Document, LineError))
        if isinstance(result, LineError):
            assert str(result).startswith("fuzz.jsonl:")


# --- content hash -------------------------------------------------------------------

FULL = {
    **VALID,
    "url": "https://wiki.example.com/install",
    "updated_at": "2024-03-01T12:30:45Z",
    "metadata": {"lang": "en", "tags": ["setup", "linux"]},
}


def test_content_hash_is_pinned() -> None:
    # Pinned so a change to the canonical form (which forces a full re-embed
    # on the next ingest) is a deliberate decision, and so it holds across runs.
    doc = load_one(json.dumps(FULL))
    assert doc.content_hash == "075b3269a4f1d962e21b9735b4ffb75e3742aec39839e0fb9152d2dce398d5cc"


def test_content_hash_ignores_key_order_and_equivalent_forms() -> None:
    a = load_one(json.dumps(FULL))
    reordered = dict(reversed(list(FULL.items())))
    reordered["metadata"] = {"tags": ["linux", "setup", "linux"], "lang": ["en"]}
    reordered["acl"] = ["*", "group:eng"]
    reordered["updated_at"] = "2024-03-01T14:30:45+02:00"
    b = load_one(json.dumps(reordered))
    assert a == b
    assert a.content_hash == b.content_hash
    assert hash(a) == hash(b)


def test_content_hash_sensitive_to_every_field() -> None:
    base = load_one(json.dumps(FULL))
    changed = {
        "id": "doc-2",
        "title": "Install guide!",
        "body": "Run the installer twice.",
        "tenant": "acme2",
        "acl": ("*",),
        "url": "https://wiki.example.com/other",
        "updated_at": "2024-03-01T12:30:46Z",
        "metadata": {"lang": ("en",), "tags": ("setup",)},
    }
    assert set(changed) == {f.name for f in dataclasses.fields(Document)}
    hashes = {base.content_hash}
    for name, value in changed.items():
        variant = dataclasses.replace(base, **{name: value})
        hashes.add(variant.content_hash)
    assert len(hashes) == 1 + len(changed)


def test_content_hash_distinguishes_field_boundaries() -> None:
    a = dataclasses.replace(load_one(json.dumps(FULL)), title="ab", body="c")
    b = dataclasses.replace(a, title="a", body="bc")
    assert a.content_hash != b.content_hash


def test_schema_is_reusable_directly() -> None:
    doc = DocumentSchema().load(dict(VALID))
    assert isinstance(doc, Document)
