"""The store's live rows as a snapshot reads them: shown chunks, and their access view.

A fetch reads the rows as stored now, which may be newer than the snapshot the
legs ranked; the caller re-checks access on what comes back (SearchService), as
it must on OpenSearch's mget. The access view (``text=False``: what facets and
access checks read) is answered from the snapshot's own columns while the
store is still at the snapshot's generation, which every write bumps inside its
transaction, so nothing newer can be missed.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path
from typing import Any, Mapping, Sequence

from app.backends.base import BackendError, Chunk
from app.backends.embedded.store import ACCESS_COLUMNS, SHOWN_COLUMNS, access_chunk, chunk_from_row, open_store

#: Parsed access views kept per snapshot (a chunk is a few hundred bytes).
ACCESS_CACHE_SIZE = 50_000


class LiveRows:
    """Per-process reads of one index's ``chunks.sqlite``."""

    def __init__(self, path: Path, generation: int, access_rows: Mapping[str, tuple[Any, ...]]) -> None:
        self.path, self.generation = path, generation
        #: chunk id → (doc_id, tenant, acl, metadata, updated_at, position) as loaded with the snapshot.
        self._access_rows = access_rows
        self._access_chunks: dict[str, Chunk] = {}
        self._db: sqlite3.Connection | None = None
        self._db_pid: int | None = None
        self._lock = threading.Lock()

    def fetch(self, chunk_ids: Sequence[str], *, text: bool = True) -> dict[str, Chunk]:
        """Chunks by id; without the vector, as OpenSearch's ``_source_excludes`` (a 1.5 kB blob each)."""
        if not chunk_ids:
            return {}
        if not text and self._store_generation() == self.generation:
            return {cid: self._access_chunk(cid) for cid in chunk_ids if cid in self._access_rows}
        try:
            with self._lock:
                rows = self._connection().execute(
                    f"SELECT {SHOWN_COLUMNS if text else ACCESS_COLUMNS}, NULL, NULL FROM chunks "
                    f"WHERE chunk_id IN ({','.join('?' * len(chunk_ids))})",
                    list(chunk_ids),
                ).fetchall()
        except sqlite3.Error as exc:
            raise BackendError(f"index {self.path.name!r}: chunks.sqlite is unreadable ({exc})") from None
        return {chunk.chunk_id: chunk for chunk in map(chunk_from_row, rows)}

    def _access_chunk(self, chunk_id: str) -> Chunk:
        chunk = self._access_chunks.get(chunk_id)
        if chunk is None:
            if len(self._access_chunks) >= ACCESS_CACHE_SIZE:
                self._access_chunks.clear()  # the candidates of recent searches refill it
            chunk = self._access_chunks[chunk_id] = access_chunk(chunk_id, *self._access_rows[chunk_id])
        return chunk

    def _store_generation(self) -> int | None:
        """The store's current generation (bumped inside every write's transaction)."""
        try:
            with self._lock:
                row = self._connection().execute("SELECT value FROM state WHERE key = 'generation'").fetchone()
        except sqlite3.Error:
            return None
        return int(row[0]) if row else None

    def _connection(self) -> sqlite3.Connection:
        """This process's read connection (call with the lock held): never one across a fork."""
        if self._db is None or self._db_pid != os.getpid():
            self._db, self._db_pid = open_store(self.path, readonly=True), os.getpid()
        return self._db
