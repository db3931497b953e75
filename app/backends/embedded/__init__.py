"""The embedded backend: versioned indexes on local disk, searched in-process.

One job per module: :mod:`.backend` (the alias, snapshot refresh, the backend
interface), :mod:`.store` (SQLite schema and row codec, index files),
:mod:`.text_index` (the tantivy schema and queries), :mod:`.vectors` (HNSW graphs,
over-fetch), :mod:`.writer` (the steps of a write, repair, upgrade, force-merge)
and :mod:`.snapshot` (one generation, query-ready: filters and legs).

Each index ``<data_dir>/indexes/<alias>-vN/`` holds

- ``chunks.sqlite`` — the source of truth: every chunk with its vector;
- ``text/`` — a tantivy index (BM25) derived from it;
- ``hnsw-<generation>/`` — HNSW graphs, derived: one per tenant with at least
  ``hnsw_min_chunks`` chunks, and a ``manifest.json`` naming them;
- ``GENERATION`` — bumped after every committed write, so readers reload.

Derived structures record the generation they were built from; a writer that
finds one behind (a crash between the steps of a write) rebuilds it from SQLite,
so an interrupted ingest never leaves the legs disagreeing for good.

The alias lives in ``<data_dir>/aliases.json`` and is switched with one atomic
``os.replace``; readers stat it per request and follow a switch without restart.
"""

from __future__ import annotations

from app.backends.embedded.backend import EmbeddedBackend

__all__ = ["EmbeddedBackend"]
