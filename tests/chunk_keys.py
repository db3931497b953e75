"""Test shorthand for writing chunks keyed by document id within one test's tenants.

A plain module (not a conftest) so test modules can import it by name.
"""

from __future__ import annotations

from typing import Mapping, Sequence

from app.backends.base import Chunk, by_document


def keyed(chunks_by_id: Mapping[str, Sequence[Chunk]]) -> dict[str, list[Chunk]]:
    """``{doc_id: chunks}`` as ``replace_documents`` takes it: keyed by tenant-scoped document key."""
    return by_document(chunk for chunks in chunks_by_id.values() for chunk in chunks)
