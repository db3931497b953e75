"""The store: SQLite schema and row codec (the truth), and the small files beside it."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import orjson

from app.backends.base import BackendError, Chunk, IndexInfo

#: 3: the text index holds terms analysed as Lucene does (2: by tantivy's own
#: chain); 2: chunk ids and the text index's delete key are scoped by tenant
#: (1: by document id).
SCHEMA_VERSION = 3


#: What a shown chunk needs (fetch); CHUNK_COLUMNS adds what writes and copies need.
SHOWN_COLUMNS = "chunk_id, doc_id, position, title, text, tenant, acl, metadata, url, updated_at, content_hash"
CHUNK_COLUMNS = f"{SHOWN_COLUMNS}, document_body, vector"
#: SHOWN_COLUMNS' shape without the text: what access checks and facets read.
ACCESS_COLUMNS = "chunk_id, doc_id, position, '', '', tenant, acl, metadata, NULL, updated_at, ''"


def open_store(path: Path, *, readonly: bool = False) -> sqlite3.Connection:
    """The index's ``chunks.sqlite``; a writable connection creates the schema if missing."""
    if readonly:
        db = sqlite3.connect(f"file:{path / 'chunks.sqlite'}?mode=ro", uri=True, check_same_thread=False)
    else:
        db = sqlite3.connect(path / "chunks.sqlite", check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.executescript(
            """
            CREATE TABLE IF NOT EXISTS chunks (
                row INTEGER PRIMARY KEY AUTOINCREMENT,
                chunk_id TEXT NOT NULL UNIQUE,
                doc_id TEXT NOT NULL,
                position INTEGER NOT NULL,
                title TEXT NOT NULL,
                text TEXT NOT NULL,
                tenant TEXT NOT NULL,
                acl TEXT NOT NULL,
                metadata TEXT NOT NULL,
                url TEXT,
                updated_at TEXT,
                content_hash TEXT NOT NULL,
                vector BLOB NOT NULL,
                document_body TEXT
            );
            CREATE INDEX IF NOT EXISTS chunks_document ON chunks (tenant, doc_id);
            CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
            INSERT OR IGNORE INTO state VALUES ('generation', 0), ('text_generation', 0), ('hnsw_generation', 0);
            """
        )
        if "document_body" not in {column for _, column, *_ in db.execute("PRAGMA table_info(chunks)")}:
            # Stores from before document-level BM25; readers never select it.
            db.execute("ALTER TABLE chunks ADD COLUMN document_body TEXT")
    return db


def access_chunk(
    chunk_id: str, doc_id: str, tenant: str, acl: str, metadata: str, updated_at: str | None, position: int
) -> Chunk:
    """A chunk with only what access checks and facets read (the shape of ``ACCESS_COLUMNS``)."""
    return Chunk(
        chunk_id=chunk_id, doc_id=doc_id, position=position, title="", text="", tenant=tenant,
        acl=tuple(orjson.loads(acl)), metadata={k: tuple(v) for k, v in orjson.loads(metadata).items()},
        updated_at=updated_at,
    )


def chunk_from_row(row: Sequence[Any]) -> Chunk:
    """A chunk from the :data:`CHUNK_COLUMNS` of a row (``document_body`` and ``vector`` may be NULL)."""
    chunk_id, doc_id, position, title, text, tenant, acl, metadata, url, updated_at, content_hash, body, vector = row
    return Chunk(
        chunk_id=chunk_id,
        doc_id=doc_id,
        position=position,
        title=title,
        text=text,
        tenant=tenant,
        acl=tuple(orjson.loads(acl)),
        metadata={k: tuple(v) for k, v in orjson.loads(metadata).items()},
        url=url,
        updated_at=updated_at,
        content_hash=content_hash,
        vector=np.frombuffer(vector, dtype=np.float32) if vector is not None else None,
        document_body=body,
    )


def read_info(path: Path, **counts: int) -> IndexInfo:
    """``info.json`` of the index at ``path``; a missing or damaged one is a :class:`BackendError`."""
    try:
        record = json.loads((path / "info.json").read_text())
        return IndexInfo(
            name=record["name"],
            template_version=record["template_version"],
            model_version=record["model_version"],
            dimension=record["dimension"],
            created_at=record.get("created_at", ""),
            **counts,
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BackendError(f"index {path.name!r}: info.json is missing or damaged ({reason(exc)})") from None


def schema_of(path: Path) -> int:
    """The storage schema the index at ``path`` was written with."""
    try:
        return int(json.loads((path / "info.json").read_text()).get("schema", 1))
    except (OSError, ValueError, TypeError) as exc:
        raise BackendError(f"index {path.name!r}: info.json is missing or damaged ({reason(exc)})") from None


#: An absolute path inside a message, up to its last component.
_ABSOLUTE_PATH = re.compile(r"(?:/[^/\s'\"]+)+/(?=[^/\s'\"]+)")


def reason(exc: BaseException) -> str:
    """What went wrong, without the server's paths (a file keeps its own name)."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    if isinstance(exc, KeyError):
        return f"no key {exc}"
    return _ABSOLUTE_PATH.sub("", str(exc))


def read_generation(path: Path) -> int | None:
    """The generation published to readers of the index at ``path`` (``None`` when unreadable)."""
    try:
        return int((path / "GENERATION").read_text().strip())
    except (OSError, ValueError):
        return None


def load_vectors(db: sqlite3.Connection, dimension: int, tenant: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Rows (ascending) and their vectors, of one tenant or of all."""
    rows = []
    blobs = []
    where, params = ("WHERE tenant = ?", (tenant,)) if tenant is not None else ("", ())
    for row, blob in db.execute(f"SELECT row, vector FROM chunks {where} ORDER BY row", params):
        rows.append(row)
        blobs.append(blob)
    matrix = np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(rows), dimension)
    return np.asarray(rows, dtype=np.int64), matrix
