"""Tests for scripts/make_sample_corpus.py and the committed sample data."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / "scripts" / "make_sample_corpus.py"
SAMPLE_CORPUS = REPO_ROOT / "sample_data" / "corpus.jsonl"
SAMPLE_QUERIES = REPO_ROOT / "sample_data" / "queries.jsonl"

PRINCIPAL = re.compile(r"^(user|group):[a-z][a-z0-9_-]*$")
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
DOC_FIELDS = {"id": str, "title": str, "body": str, "tenant": str, "acl": list, "url": str,
              "updated_at": str, "metadata": dict}
QUERY_FIELDS = {"id": str, "text": str, "tenant": str, "principals": list}


def _load_script() -> ModuleType:
    """Import the script by path; it is not part of a package."""
    spec = importlib.util.spec_from_file_location("make_sample_corpus", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(module)
    return module


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _generate(module: ModuleType, directory: Path, *extra: str) -> tuple[Path, Path]:
    corpus, queries = directory / "corpus.jsonl", directory / "queries.jsonl"
    assert module.main(["--out", str(corpus), "--queries-out", str(queries), *extra]) == 0
    return corpus, queries


@pytest.fixture(scope="module")
def script() -> ModuleType:
    return _load_script()


@pytest.fixture(scope="module")
def generated(script: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return _generate(script, tmp_path_factory.mktemp("default"))


@pytest.fixture(scope="module")
def docs(generated: tuple[Path, Path]) -> list[dict[str, Any]]:
    return _read_jsonl(generated[0])


@pytest.fixture(scope="module")
def queries(generated: tuple[Path, Path]) -> list[dict[str, Any]]:
    return _read_jsonl(generated[1])


def test_two_runs_are_byte_identical(script: ModuleType, tmp_path: Path) -> None:
    first = _generate(script, tmp_path / "a")
    second = _generate(script, tmp_path / "b")
    for a, b in zip(first, second):
        assert a.read_bytes() == b.read_bytes()


def test_seed_changes_content_but_not_ids(script: ModuleType, tmp_path: Path, docs: list[dict[str, Any]]) -> None:
    corpus, _ = _generate(script, tmp_path, "--seed", "8")
    other = _read_jsonl(corpus)
    assert [d["id"] for d in other] == [d["id"] for d in docs]
    assert [d["body"] for d in other] != [d["body"] for d in docs]


def test_committed_sample_data_is_up_to_date(generated: tuple[Path, Path]) -> None:
    assert SAMPLE_CORPUS.read_bytes() == generated[0].read_bytes(), "regenerate sample_data/corpus.jsonl"
    assert SAMPLE_QUERIES.read_bytes() == generated[1].read_bytes(), "regenerate sample_data/queries.jsonl"


def test_documents_have_required_fields_and_types(docs: list[dict[str, Any]]) -> None:
    for doc in docs:
        assert set(doc) == set(DOC_FIELDS), doc["id"]
        for field, kind in DOC_FIELDS.items():
            assert isinstance(doc[field], kind), (doc["id"], field)
        assert doc["title"].strip() and doc["body"].strip()
        assert doc["url"].startswith("https://")
        assert TIMESTAMP.match(doc["updated_at"]), doc["updated_at"]
        assert doc["acl"], doc["id"]
        for principal in doc["acl"]:
            assert principal == "*" or PRINCIPAL.match(principal), (doc["id"], principal)
        meta = doc["metadata"]
        assert {"category", "product", "audience", "tags"} <= set(meta), doc["id"]
        assert meta["audience"] in {"public", "internal"}
        assert (meta["audience"] == "public") == (doc["acl"] == ["*"]), doc["id"]
        for key, value in meta.items():
            assert isinstance(value, str) or (
                isinstance(value, list) and all(isinstance(v, str) for v in value)
            ), (doc["id"], key)


def test_ids_are_unique(docs: list[dict[str, Any]]) -> None:
    ids = [doc["id"] for doc in docs]
    assert len(ids) == len(set(ids))
    assert all(doc["id"].startswith(doc["tenant"] + "-") for doc in docs)


def test_corpus_size_and_tenants(docs: list[dict[str, Any]]) -> None:
    assert len(docs) >= 150
    tenants = {doc["tenant"] for doc in docs}
    assert len(tenants) >= 2
    for tenant in tenants:
        acls = [doc["acl"] for doc in docs if doc["tenant"] == tenant]
        assert ["*"] in acls, f"{tenant} has no public documents"
        assert any("*" not in acl for acl in acls), f"{tenant} has no restricted documents"


def test_bodies_are_realistic_length_and_structured(docs: list[dict[str, Any]]) -> None:
    words = [len(doc["body"].split()) for doc in docs]
    assert min(words) >= 80 and max(words) <= 900
    assert sum(w > 400 for w in words) >= 10, "need some multi-chunk documents"
    assert all("\n\n" in doc["body"] for doc in docs)
    assert sum("\n## " in doc["body"] for doc in docs) >= 0.9 * len(docs)
    leftovers = [doc["id"] for doc in docs if re.search(r"\{[a-z][a-z0-9_]*\}", doc["title"] + doc["body"])]
    assert not leftovers, f"unfilled placeholders in {leftovers}"


def test_bodies_differ_within_a_tenant(docs: list[dict[str, Any]]) -> None:
    for tenant in {doc["tenant"] for doc in docs}:
        bodies = [doc["body"] for doc in docs if doc["tenant"] == tenant]
        titles = [doc["title"] for doc in docs if doc["tenant"] == tenant]
        assert len(set(bodies)) == len(bodies)
        assert len(set(titles)) == len(titles)


def test_acl_excludes_some_query_principals(docs: list[dict[str, Any]], queries: list[dict[str, Any]]) -> None:
    restricted = [doc for doc in docs if "*" not in doc["acl"]]
    assert restricted
    excluded = [
        (doc["id"], query["id"])
        for doc in restricted
        for query in queries
        if query["tenant"] == doc["tenant"] and not set(query["principals"]) & set(doc["acl"])
    ]
    assert excluded, "every restricted document is visible to every query"
    assert any(len(doc["acl"]) == 1 and doc["acl"][0].startswith("user:") for doc in restricted)


def test_queries_are_well_formed(docs: list[dict[str, Any]], queries: list[dict[str, Any]]) -> None:
    assert 40 <= len(queries) <= 80
    ids = [query["id"] for query in queries]
    assert len(ids) == len(set(ids))
    tenants = {doc["tenant"] for doc in docs}
    acl_principals = {p for doc in docs for p in doc["acl"] if p != "*"}
    for query in queries:
        assert set(query) == set(QUERY_FIELDS)
        for field, kind in QUERY_FIELDS.items():
            assert isinstance(query[field], kind), (query["id"], field)
        assert query["tenant"] in tenants
        assert query["text"].strip()
        assert all(PRINCIPAL.match(p) for p in query["principals"]), query["id"]
    used = {p for query in queries for p in query["principals"]}
    assert used & acl_principals, "query principals share no vocabulary with document ACLs"
    assert {q["tenant"] for q in queries} == tenants
