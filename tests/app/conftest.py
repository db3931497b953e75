"""Fixtures for the lifecycle, S3 and index-command tests: a tiny real corpus."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.settings import PROJECT_ROOT

#: Documents per tenant taken from the sample corpus: small enough to embed in a second.
PER_TENANT = 3


@pytest.fixture(scope="session")
def tiny_docs() -> list[dict]:
    """Nine sample documents (three tenants), bodies cut to 600 characters (one or two chunks)."""
    picked: dict[str, list[dict]] = {}
    with open(PROJECT_ROOT / "sample_data" / "corpus.jsonl", encoding="utf-8") as handle:
        for line in handle:
            doc = json.loads(line)
            bucket = picked.setdefault(doc["tenant"], [])
            if len(bucket) < PER_TENANT:
                bucket.append(doc | {"body": doc["body"][:600]})
    return [doc for docs in picked.values() for doc in docs]


@pytest.fixture
def tiny_corpus(tmp_path: Path, tiny_docs: list[dict]) -> Path:
    """``tiny_docs`` as one JSONL file."""
    path = tmp_path / "corpus" / "docs.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(doc) + "\n" for doc in tiny_docs), encoding="utf-8")
    return path
