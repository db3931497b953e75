"""The embedded backend: versioned indexes on local disk, searched in-process.

Each index ``<data_dir>/indexes/<alias>-vN/`` holds

- ``chunks.sqlite`` — the source of truth: every chunk with its vector;
- ``text/`` — a tantivy index (BM25) derived from it;
- ``hnsw-<generation>/`` — HNSW graphs, derived: one per tenant with at least
  ``hnsw_min_chunks`` chunks, and a ``manifest.json`` naming them;
- ``GENERATION`` — bumped after every committed write, so readers reload.

Derived structures record the generation they were built from; a writer that
finds one behind (a crash between the two commits) rebuilds it from SQLite, so
an interrupted ingest never leaves the legs disagreeing for good.

The alias lives in ``<data_dir>/aliases.json`` and is switched with one atomic
``os.replace``; readers stat it per request and follow a switch without restart.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import shutil
import sqlite3
import threading
import time
from collections import Counter, OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, replace
from datetime import datetime, timezone
from itertools import repeat
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

import numpy as np
import orjson

from app.analysis import ENGLISH, tantivy_analyzer
from app.file_lock import file_lock
from app.backends.base import (
    KEY_SEPARATOR,
    PUBLIC,
    AccessFilter,
    BackendError,
    Chunk,
    IndexInfo,
    IndexNotFound,
    Leg,
    LegHit,
    LegResult,
    LexicalLeg,
    VectorLeg,
    chunk_key,
    doc_key,
    index_version,
    split_doc_key,
)
from app.settings import Settings

#: tantivy's BM25 (k1 1.2, fixed) is Lucene's times (1 + k1); Lucene ≥ 8 dropped that constant.
_TANTIVY_BM25_FACTOR = 1.0 + 1.2
#: 2: chunk ids and the text index's delete key are scoped by tenant (1: by document id).
_SCHEMA_VERSION = 2


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


class EmbeddedBackend:
    """:class:`~app.backends.base.SearchBackend` on tantivy, SQLite and numpy."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.alias = settings.index_alias
        self.root = Path(settings.data_dir)
        self.indexes_dir = self.root / "indexes"
        self._alias_file = self.root / "aliases.json"
        self._alias_path = str(self._alias_file)
        self._snapshot: _Snapshot | None = None
        self._snapshot_key: tuple[Any, ...] | None = None
        #: Identity of the alias and GENERATION files the snapshot was checked against.
        self._checked: tuple[Any, ...] | None = None
        self._checked_at = 0.0
        self._reload_lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="leg")
        #: Last snapshot of an index named in ``run_legs(index=...)`` (migration probes).
        self._named: tuple[tuple[str, str], _Snapshot] | None = None

    # ------------------------------------------------------------------ reading
    def run_legs(
        self, legs: Mapping[str, Leg], access: AccessFilter, index: str | None = None
    ) -> dict[str, LegResult]:
        # ``index``: a migration probes the new index before the alias moves to it.
        snapshot = self._current() if index is None or index == self.alias_target() else self._snapshot_of(index)
        if len(legs) == 1 or len(snapshot.rows) < self.settings.parallel_legs_min_chunks:
            return {name: snapshot.run_leg(name, leg, access) for name, leg in legs.items()}
        # All legs but the last go to the pool; the last runs in this thread, which
        # would otherwise only wait: one hand-off fewer per search. Load-tested A/B
        # (issue 6): higher throughput and lower p95 than pooling both or neither.
        *pooled, (last, last_leg) = legs.items()
        futures = {name: self._pool.submit(snapshot.run_leg, name, leg, access) for name, leg in pooled}
        done = {last: snapshot.run_leg(last, last_leg, access)}
        done.update({name: future.result(timeout=self.settings.leg_timeout_s) for name, future in futures.items()})
        return {name: done[name] for name in legs}

    def fetch_chunks(self, chunk_ids: Sequence[str]) -> dict[str, Chunk]:
        return self._current().fetch(chunk_ids)

    def live_index(self) -> IndexInfo:
        return self._current().info

    def _current(self) -> "_Snapshot":
        """The snapshot of the alias target, reloaded when alias or data moved."""
        # Hot path (several calls per search): both files are only ever replaced
        # with os.replace, so unchanged inode + mtime means unchanged contents;
        # two stats instead of opening and parsing both files.
        now = time.monotonic()
        if self._checked is not None and now - self._checked_at < self.settings.embedded_refresh_interval_s:
            return self._snapshot  # type: ignore[return-value]
        stamp = self._stamp()
        if stamp is not None and stamp == self._checked:
            self._checked_at = now
            return self._snapshot  # type: ignore[return-value]
        target = self.alias_target()
        if target is None:
            raise IndexNotFound(f"alias {self.alias!r} does not point at any index; run `hybrid-search ingest` first")
        path = self.indexes_dir / target
        try:
            generation = (path / "GENERATION").read_text().strip()
        except FileNotFoundError:
            raise IndexNotFound(f"index {target!r} (alias {self.alias!r}) is missing or has no GENERATION file") from None
        except OSError as exc:
            raise BackendError(f"index {target!r}: GENERATION is unreadable ({exc.strerror})") from None
        key = (target, generation)
        if self._snapshot_key != key:
            with self._reload_lock:
                if self._snapshot_key != key:
                    self._snapshot = _Snapshot.load(path, self.settings)
                    self._snapshot_key = key
        assert self._snapshot is not None
        # Taken before the reads above: a write in between only forces one more slow
        # check, and what is served is at least as new as the stamp the refresh
        # interval starts from.
        self._checked = stamp if stamp is not None and stamp[0] == path else None
        self._checked_at = now
        return self._snapshot

    def _stamp(self) -> tuple[Any, ...] | None:
        """Current snapshot's path and (inode, mtime) of the alias and its GENERATION file."""
        snapshot = self._snapshot
        if snapshot is None:
            return None
        try:  # (str paths: building Path objects cost more than the two stats)
            alias, generation = os.stat(self._alias_path), os.stat(snapshot.generation_file)
        except OSError:
            return None
        return (snapshot.path, alias.st_ino, alias.st_mtime_ns, generation.st_ino, generation.st_mtime_ns)

    def _snapshot_of(self, index: str) -> "_Snapshot":
        """A snapshot of an index off the alias, reused while its generation holds."""
        path = self._path(index)
        try:
            key = (index, (path / "GENERATION").read_text().strip())
        except OSError as exc:
            raise BackendError(f"index {index!r}: GENERATION is unreadable ({exc.strerror})") from None
        with self._reload_lock:
            if self._named is None or self._named[0] != key:
                self._named = (key, _Snapshot.load(path, self.settings))
            return self._named[1]

    # ------------------------------------------------------------------ writing
    def create_index(self, info: IndexInfo) -> None:
        index_version(self.alias, info.name)  # validates the name
        path = self.indexes_dir / info.name
        if path.exists():
            raise ValueError(f"index {info.name!r} already exists")
        self.indexes_dir.mkdir(parents=True, exist_ok=True)
        staging = self.indexes_dir / f".{info.name}.creating"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        record = asdict(info) | {"created_at": info.created_at or _now(), "schema": _SCHEMA_VERSION}
        record.pop("chunks"), record.pop("documents")
        _atomic_write(staging / "info.json", json.dumps(record, indent=2))
        with contextlib.closing(_open_db(staging)):
            pass
        _TextIndex.create(staging / "text")
        _atomic_write(staging / "GENERATION", "0")
        os.replace(staging, path)

    def document_hashes(self, index: str) -> dict[str, str]:
        with contextlib.closing(_open_db(self._path(index))) as db:
            rows = db.execute("SELECT tenant, doc_id, content_hash FROM chunks WHERE position = 0")
            return {doc_key(tenant, doc_id): content_hash for tenant, doc_id, content_hash in rows}

    def replace_documents(self, index: str, chunks_by_doc: Mapping[str, Sequence[Chunk]]) -> None:
        if not chunks_by_doc:
            return
        with self._writer(index) as writer:
            writer.replace(chunks_by_doc)

    def delete_documents(self, index: str, doc_keys: Iterable[str]) -> int:
        with self._writer(index) as writer:
            return writer.delete(list(doc_keys))

    def repair(self, index: str) -> list[str]:
        # Opening a writer repairs (see _writer); this says what it found.
        with self._writer(index) as writer:
            return writer.repaired

    def force_merge(self, index: str) -> None:
        with self._writer(index) as writer:
            writer.force_merge()

    def iter_chunks(self, index: str) -> Iterator[Chunk]:
        with contextlib.closing(_open_db(self._path(index))) as db:
            for row in db.execute(f"SELECT {_CHUNK_COLUMNS} FROM chunks ORDER BY row"):
                yield _chunk_from_row(row)

    # ------------------------------------------------------- versions and alias
    def list_indexes(self) -> list[IndexInfo]:
        if not self.indexes_dir.is_dir():
            return []
        infos = []
        for path in sorted(self.indexes_dir.iterdir()):
            try:
                index_version(self.alias, path.name)
            except ValueError:
                continue
            infos.append(self.index_info(path.name))
        return sorted(infos, key=lambda i: index_version(self.alias, i.name))

    def index_info(self, index: str) -> IndexInfo:
        path = self._path(index)
        with contextlib.closing(_open_db(path)) as db:
            chunks, documents = db.execute("SELECT COUNT(*), COUNT(*) FILTER (WHERE position = 0) FROM chunks").fetchone()
        return _read_info(path, chunks=chunks, documents=documents)

    def alias_target(self) -> str | None:
        try:
            return json.loads(self._alias_file.read_text()).get(self.alias)
        except FileNotFoundError:
            return None
        except (ValueError, OSError) as exc:
            raise BackendError(f"alias file aliases.json is unreadable: {exc}") from None

    def switch_alias(self, index: str) -> None:
        self._path(index)
        self.root.mkdir(parents=True, exist_ok=True)
        with file_lock(self.root / ".aliases.lock"):
            try:
                aliases = json.loads(self._alias_file.read_text())
            except FileNotFoundError:
                aliases = {}
            aliases[self.alias] = index
            _atomic_write(self._alias_file, json.dumps(aliases, indent=2, sort_keys=True))

    def drop_index(self, index: str) -> None:
        if index == self.alias_target():
            raise ValueError(f"refusing to drop {index!r}: the alias {self.alias!r} points at it")
        shutil.rmtree(self._path(index))

    # ------------------------------------------------ lifecycle (index import)
    def scan_index(self, index: str, fields: Sequence[str] | None = None) -> Iterator[dict[str, Any]]:
        """Every chunk of ``index`` as ``{"_id": chunk_id, **fields}``, like OpenSearch's scan.

        Lets ``hybrid-search index import`` read an embedded index (``body`` is
        the chunk text) with the same field map it uses on a cluster.
        """
        for chunk in self.iter_chunks(index):
            record = {
                "doc_id": chunk.doc_id, "position": chunk.position, "title": chunk.title, "body": chunk.text,
                "tenant": chunk.tenant, "acl": list(chunk.acl), "url": chunk.url, "updated_at": chunk.updated_at,
                "metadata": {key: list(values) for key, values in chunk.metadata.items()},
            }
            wanted = record if fields is None else {k: record[k] for k in fields if k in record}
            yield {"_id": chunk.chunk_id, **wanted}

    # ---------------------------------------------------------------- helpers
    def _path(self, index: str) -> Path:
        path = self.indexes_dir / index
        if not (path / "info.json").is_file():
            raise IndexNotFound(f"index {index!r} does not exist")
        return path

    @contextlib.contextmanager
    def _writer(self, index: str) -> Iterator["_Writer"]:
        path = self._path(index)
        with file_lock(path / "write.lock"):
            writer = _Writer(path, self.settings)
            try:
                writer.upgrade()
                writer.repair()
                yield writer
            finally:
                writer.close()


# ---------------------------------------------------------------------- storage

_CHUNK_COLUMNS_BUT_VECTOR = "chunk_id, doc_id, position, title, text, tenant, acl, metadata, url, updated_at, content_hash"
_CHUNK_COLUMNS = f"{_CHUNK_COLUMNS_BUT_VECTOR}, vector"


def _open_db(path: Path, *, readonly: bool = False) -> sqlite3.Connection:
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
                vector BLOB NOT NULL
            );
            CREATE INDEX IF NOT EXISTS chunks_document ON chunks (tenant, doc_id);
            CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
            INSERT OR IGNORE INTO state VALUES ('generation', 0), ('text_generation', 0), ('hnsw_generation', -1);
            """
        )
    return db


def _chunk_from_row(row: Sequence[Any]) -> Chunk:
    chunk_id, doc_id, position, title, text, tenant, acl, metadata, url, updated_at, content_hash, vector = row
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
    )


def _read_info(path: Path, **counts: int) -> IndexInfo:
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
        raise BackendError(f"index {path.name!r}: info.json is missing or damaged ({_reason(exc)})") from None


def _schema_of(path: Path) -> int:
    """The storage schema the index at ``path`` was written with."""
    try:
        return int(json.loads((path / "info.json").read_text()).get("schema", 1))
    except (OSError, ValueError, TypeError) as exc:
        raise BackendError(f"index {path.name!r}: info.json is missing or damaged ({_reason(exc)})") from None


#: An absolute path inside a message, up to its last component.
_ABSOLUTE_PATH = re.compile(r"(?:/[^/\s'\"]+)+/(?=[^/\s'\"]+)")


def _reason(exc: BaseException) -> str:
    """What went wrong, without the server's paths (a file keeps its own name)."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    if isinstance(exc, KeyError):
        return f"no key {exc}"
    return _ABSOLUTE_PATH.sub("", str(exc))


class _TextIndex:
    """The tantivy schema and the lexical query over it."""

    @staticmethod
    def schema() -> Any:
        import tantivy

        builder = tantivy.SchemaBuilder()
        builder.add_text_field("title", tokenizer_name=ENGLISH.name)
        builder.add_text_field("body", tokenizer_name=ENGLISH.name)
        # doc_key (tenant/id) is what writes delete by: ids repeat across tenants.
        for keyword in ("doc_key", "tenant", "acl", "meta"):
            builder.add_text_field(keyword, tokenizer_name="raw")
        builder.add_unsigned_field("row", stored=True, fast=True)
        return builder.build()

    @classmethod
    def create(cls, path: Path) -> None:
        import tantivy

        path.mkdir(parents=True, exist_ok=True)
        tantivy.Index(cls.schema(), path=str(path))

    @classmethod
    def open(cls, path: Path) -> Any:
        """The committed index at ``path``; a missing or damaged one is a :class:`BackendError`.

        Opened with the schema it was written with: creating one where it is
        missing would answer every query with nothing, as if nothing matched.
        """
        import tantivy

        try:
            index = tantivy.Index.open(str(path))
        except (ValueError, OSError) as exc:
            raise BackendError(
                f"index {path.parent.name!r}: text index ({path.name}/) is missing or damaged ({_reason(exc)})"
            ) from None
        index.register_tokenizer(ENGLISH.name, tantivy_analyzer(ENGLISH))
        return index

    @classmethod
    def open_searcher(cls, path: Path) -> tuple[Any, Any]:
        """The index at ``path`` and a searcher over its last commit (which opens every segment)."""
        index = cls.open(path)
        try:
            index.reload()
            return index, index.searcher()
        except (ValueError, OSError) as exc:
            raise BackendError(
                f"index {path.parent.name!r}: text index ({path.name}/) is missing or damaged ({_reason(exc)})"
            ) from None

    @classmethod
    def segment_count(cls, path: Path) -> int:
        """Segments in the text index at ``path`` as last committed (each is searched on its own)."""
        return cls.open_searcher(path)[1].num_segments

    @staticmethod
    def document(chunk: Chunk, row: int) -> Any:
        import tantivy

        doc = tantivy.Document()
        doc.add_text("title", chunk.title)
        doc.add_text("body", chunk.text)
        doc.add_text("doc_key", chunk.doc_key)
        doc.add_text("tenant", chunk.tenant)
        for principal in chunk.acl:
            doc.add_text("acl", principal)
        for key, values in chunk.metadata.items():
            for value in values:
                doc.add_text("meta", f"{key}={value}")
        doc.add_unsigned("row", row)
        return doc


class _Writer:
    """One locked write session on one index.

    A write is four steps, each durable before the next starts: the rows
    (SQLite, the truth, one transaction), the text index, the vector graphs,
    and publishing the generation to readers. A crash between two leaves the
    derived structures behind the rows, never ahead; :meth:`repair` catches up.
    """

    def __init__(self, path: Path, settings: Settings) -> None:
        self.path = path
        self.settings = settings
        self.info = _read_info(path)
        try:
            self.db = _open_db(path)
        except sqlite3.Error as exc:
            raise BackendError(f"index {path.name!r}: chunks.sqlite is damaged ({exc})") from None
        self._text: Any = None
        #: What :meth:`upgrade` and :meth:`repair` rebuilt in this session.
        self.repaired: list[str] = []

    def close(self) -> None:
        self.db.close()

    def _state(self, key: str) -> int:
        return self.db.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()[0]

    def _set_state(self, key: str, value: int) -> None:
        self.db.execute("UPDATE state SET value = ? WHERE key = ?", (value, key))

    def _text_writer(self) -> Any:
        if self._text is None:
            self._text = _TextIndex.open(self.path / "text")
        return self._text.writer(heap_size=64_000_000, num_threads=1)

    def _next_generation(self) -> int:
        """Bump the generation (inside the caller's transaction) and return it."""
        generation = self._state("generation") + 1
        self._set_state("generation", generation)
        return generation

    def upgrade(self) -> None:
        """Bring an index of an older storage schema to this one, in place.

        Schema 1 named chunks ``<doc id>#<n>`` and deleted by document id alone,
        so a document of one tenant could replace another tenant's. Every step
        repeats safely: a crash midway leaves schema 1 in ``info.json`` and the
        next writer starts over.
        """
        if _schema_of(self.path) >= _SCHEMA_VERSION:
            return
        with self.db:
            self.db.execute("UPDATE chunks SET chunk_id = tenant || ? || doc_id || '#' || position", (KEY_SEPARATOR,))
            self.db.execute("DROP INDEX IF EXISTS chunks_doc")
            generation = self._next_generation()
        # The text index's schema changes: build it anew beside the old one, then swap.
        building, text, old = self.path / "text.building", self.path / "text", self.path / "text.old"
        shutil.rmtree(building, ignore_errors=True)
        _TextIndex.create(building)
        self._text = _TextIndex.open(building)
        self._write_all_text()
        self._text = None
        shutil.rmtree(old, ignore_errors=True)
        if text.exists():
            os.replace(text, old)
        os.replace(building, text)
        shutil.rmtree(old, ignore_errors=True)
        with self.db:
            self._set_state("text_generation", generation)
        self._sync_vectors(generation, touched=set())
        self._publish(generation)
        record = json.loads((self.path / "info.json").read_text()) | {"schema": _SCHEMA_VERSION}
        _atomic_write(self.path / "info.json", json.dumps(record, indent=2))
        self.repaired.append(f"storage schema {_SCHEMA_VERSION}")

    def repair(self) -> None:
        """Rebuild what an earlier write left behind the rows, in write order."""
        generation = self._state("generation")
        if self._state("text_generation") != generation:
            self._write_all_text()
            with self.db:
                self._set_state("text_generation", generation)
            self.repaired.append("text index")
        if self._state("hnsw_generation") != generation:
            self._sync_vectors(generation, touched=None)
            self.repaired.append("vector graphs")
        if _read_generation(self.path) != generation:
            self._publish(generation)
            self.repaired.append("published generation")

    def force_merge(self) -> None:
        """Rewrite the text index as one segment, under a new generation.

        tantivy searches every segment on its own (its own term lookups, its own
        top-k threshold) and every commit adds one. The Python binding has no
        merge call, so the text index is rebuilt from SQLite, the truth. Vectors
        do not change, so every tenant's graph is kept. A crash midway leaves
        the new generation without its text index, which the next writer repairs.
        """
        if _TextIndex.segment_count(self.path / "text") <= 1:
            return
        with self.db:
            generation = self._next_generation()
        self._write_all_text()
        with self.db:
            self._set_state("text_generation", generation)
        self._sync_vectors(generation, touched=set())
        self._publish(generation)

    def _write_all_text(self) -> None:
        """Replace the text index's contents with every stored chunk, committed."""
        writer = self._text_writer()
        writer.delete_all_documents()
        for row, *rest in self.db.execute(f"SELECT row, {_CHUNK_COLUMNS} FROM chunks ORDER BY row"):
            writer.add_document(_TextIndex.document(_chunk_from_row(rest), row))
        writer.commit()
        writer.wait_merging_threads()

    def replace(self, chunks_by_doc: Mapping[str, Sequence[Chunk]]) -> None:
        for key, chunks in chunks_by_doc.items():
            for chunk in chunks:
                if chunk.doc_key != key:
                    raise ValueError(f"chunk {chunk.chunk_id!r} does not belong to document {key!r}")
                if chunk.vector is None or chunk.vector.shape != (self.info.dimension,):
                    raise ValueError(f"chunk {chunk.chunk_id!r} needs a {self.info.dimension}-d vector")
        self._commit(list(chunks_by_doc), [c for chunks in chunks_by_doc.values() for c in chunks])

    def delete(self, doc_keys: list[str]) -> int:
        existing = [
            key
            for key in dict.fromkeys(doc_keys)
            if self.db.execute(
                "SELECT 1 FROM chunks WHERE tenant = ? AND doc_id = ? LIMIT 1", split_doc_key(key)
            ).fetchone()
        ]
        if existing:
            self._commit(existing, [])
        return len(existing)

    def _commit(self, doc_keys: list[str], new_chunks: list[Chunk]) -> None:
        """Replace the chunks of ``doc_keys`` with ``new_chunks``: the four steps in order."""
        touched = {chunk.tenant for chunk in new_chunks} | {split_doc_key(key)[0] for key in doc_keys}
        generation, rows = self._write_rows(doc_keys, new_chunks)
        self._write_text(generation, doc_keys, rows)
        self._sync_vectors(generation, touched)
        self._publish(generation)

    def _write_rows(self, doc_keys: list[str], new_chunks: list[Chunk]) -> tuple[int, list[tuple[int, Chunk]]]:
        """Step 1, the truth: the rows, in one SQLite transaction; the new generation and rows."""
        rows = []
        with self.db:
            generation = self._next_generation()
            self.db.executemany("DELETE FROM chunks WHERE tenant = ? AND doc_id = ?", map(split_doc_key, doc_keys))
            for chunk in new_chunks:
                cursor = self.db.execute(
                    f"INSERT INTO chunks ({_CHUNK_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        chunk.chunk_id, chunk.doc_id, chunk.position, chunk.title, chunk.text, chunk.tenant,
                        json.dumps(list(chunk.acl)), json.dumps({k: list(v) for k, v in chunk.metadata.items()}),
                        chunk.url, chunk.updated_at, chunk.content_hash,
                        np.asarray(chunk.vector, dtype=np.float32).tobytes(),
                    ),
                )
                rows.append((cursor.lastrowid, chunk))
        return generation, rows

    def _write_text(self, generation: int, doc_keys: list[str], rows: list[tuple[int, Chunk]]) -> None:
        """Step 2: the text index, committed, then marked as of ``generation``."""
        writer = self._text_writer()
        for key in doc_keys:
            writer.delete_documents_by_term("doc_key", key)
        for row, chunk in rows:
            writer.add_document(_TextIndex.document(chunk, row))
        writer.commit()
        writer.wait_merging_threads()
        with self.db:
            self._set_state("text_generation", generation)

    def _sync_vectors(self, generation: int, touched: set[str] | None) -> None:
        """(Re)build the HNSW graph of each large tenant this write ``touched``
        (every large tenant when ``None``); the others keep their graph.

        Every filter pins one tenant, so a graph per tenant is walked only by that
        tenant's queries: the ACL filter then admits most of the graph and a small
        over-fetch finds ``k`` admitted chunks. (One graph over all tenants needed
        ef ≈ 550 for a 27-36 % filter on 100,000 chunks: ~6 ms, no faster than
        scanning the tenant exactly; issue 6.) Graphs go to a new
        ``hnsw-<generation>/`` directory, so a reader never sees half a set; an
        untouched tenant's graph is hard-linked from the previous set, so writing
        to one tenant does not rebuild another's graph.
        """
        import hnswlib

        target = self.path / f"hnsw-{generation}"
        shutil.rmtree(target, ignore_errors=True)
        large = {
            tenant: count
            for tenant, count in self.db.execute("SELECT tenant, COUNT(*) FROM chunks GROUP BY tenant ORDER BY tenant")
            if count >= self.settings.hnsw_min_chunks
        }
        previous_dir = self.path / f"hnsw-{generation - 1}"
        previous = (
            json.loads((previous_dir / "manifest.json").read_text())
            if touched is not None
            and self._state("hnsw_generation") == generation - 1
            and (previous_dir / "manifest.json").exists()
            else {}
        )
        if large:
            building = target.with_suffix(".tmp")
            shutil.rmtree(building, ignore_errors=True)
            building.mkdir()
            manifest = {}
            for number, (tenant, count) in enumerate(large.items()):
                manifest[tenant] = {"file": f"{number}.bin", "chunks": count}
                kept = previous.get(tenant)
                if tenant not in (touched or ()) and kept is not None and kept["chunks"] == count:
                    _link_or_copy(previous_dir / kept["file"], building / f"{number}.bin")
                    continue
                rows, matrix = _load_vectors(self.db, self.info.dimension, tenant=tenant)
                graph = hnswlib.Index(space="cosine", dim=self.info.dimension)
                graph.init_index(
                    max_elements=len(rows), ef_construction=self.settings.hnsw_ef_construction, M=self.settings.hnsw_m
                )
                graph.set_num_threads(max(1, os.cpu_count() or 1))
                graph.add_items(matrix, rows)
                graph.save_index(str(building / f"{number}.bin"))
            _atomic_write(building / "manifest.json", json.dumps(manifest, indent=1, sort_keys=True))
            os.replace(building, target)
        with self.db:
            self._set_state("hnsw_generation", generation)
        # Keep the previous set for readers still loading it; drop older sets, an
        # interrupted build, and the single graph of earlier versions.
        keep = {f"hnsw-{generation}", f"hnsw-{generation - 1}"}
        for old in self.path.glob("hnsw-*"):
            if old.name not in keep:
                shutil.rmtree(old, ignore_errors=True)
        (self.path / "vectors.hnsw").unlink(missing_ok=True)

    def _publish(self, generation: int) -> None:
        """Step 4: readers load ``generation`` from their next refresh."""
        _atomic_write(self.path / "GENERATION", str(generation))


def _read_generation(path: Path) -> int | None:
    """The generation published to readers of the index at ``path`` (``None`` when unreadable)."""
    try:
        return int((path / "GENERATION").read_text().strip())
    except (OSError, ValueError):
        return None


def _admitted(mask: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Which ``positions`` (-1: not held) the filter ``mask`` admits."""
    held = positions >= 0
    return held & mask[np.where(held, positions, 0)]


def _over_fetch(k: int, share: float) -> int:
    """How many unfiltered hits to ask for so that ``k`` of them pass a filter
    admitting ``share`` of the ranked chunks.

    When the filter does not follow the ranking, the survivors of ``n`` hits are
    binomial (mean ``n·share``); ``n`` is the least that puts ``k`` three standard
    deviations below that mean (short about once in 700 queries), plus 10. Both
    legs fall back to an exact plan when too few pass, so a filter that does
    follow the ranking costs time, never hits. (The former ``1.5·k / share`` asked
    for 210 where this asks for 165 at k 100, share 0.75: the graph walk's cost
    grows with it, ~9.5 µs per unit of ef on 100,000 chunks.)
    """
    if share >= 1.0:
        return k + 10
    spread = 3.0 * math.sqrt(share * (1.0 - share))
    root = (spread + math.sqrt(spread * spread + 4.0 * share * k)) / (2.0 * share)
    return math.ceil(root * root) + 10


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:  # a file system without hard links
        shutil.copyfile(source, target)


def _load_vectors(db: sqlite3.Connection, dimension: int, tenant: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Rows (ascending) and their vectors, of one tenant or of all."""
    rows = []
    blobs = []
    where, params = ("WHERE tenant = ?", (tenant,)) if tenant is not None else ("", ())
    for row, blob in db.execute(f"SELECT row, vector FROM chunks {where} ORDER BY row", params):
        rows.append(row)
        blobs.append(blob)
    matrix = np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(rows), dimension)
    return np.asarray(rows, dtype=np.int64), matrix


# ---------------------------------------------------------------------- reading


class _Snapshot:
    """An immutable, query-ready view of one index generation."""

    def __init__(self, path: Path, settings: Settings) -> None:
        self.path = path
        self.generation_file = str(path / "GENERATION")
        self.settings = settings
        # This connection only loads: a snapshot may be loaded in the gunicorn master
        # and shared by the forked workers, and an SQLite connection must not cross
        # a fork, so fetch() opens one per process (_connection).
        self._db: sqlite3.Connection | None = None
        self._db_pid: int | None = None
        self._db_lock = threading.Lock()
        self.info = _read_info(path)
        try:
            db = _open_db(path, readonly=True)
            try:
                # One read transaction: every SELECT sees the same committed write.
                db.execute("BEGIN")
                generation, text_generation, built_from = (
                    db.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()[0]
                    for key in ("generation", "text_generation", "hnsw_generation")
                )
                self.rows, self.vectors = _load_vectors(db, self.info.dimension)
                columns = db.execute("SELECT chunk_id, doc_id, tenant, acl, metadata FROM chunks ORDER BY row").fetchall()
                db.execute("COMMIT")
            finally:
                db.close()
        except sqlite3.Error as exc:
            raise BackendError(f"index {path.name!r}: chunks.sqlite is missing or damaged ({exc})") from None
        except (ValueError, TypeError) as exc:  # a vector blob of the wrong size
            raise BackendError(f"index {path.name!r}: chunks.sqlite holds damaged vectors ({exc})") from None
        #: False after a write stopped between its steps: the text index may miss the
        #: newest chunks (never shows others, see _positions) until a writer repairs it.
        self.text_current = text_generation == generation
        # Row id -> position, for turning the legs' row ids into positions with one
        # gather; rows the snapshot does not hold map to -1 (see _positions).
        self._position_of_row = np.full(int(self.rows[-1]) + 1 if len(self.rows) else 0, -1, dtype=np.int32)
        self._position_of_row[self.rows] = np.arange(len(self.rows), dtype=np.int32)
        chunk_ids: list[str] = []
        doc_ids: list[str] = []
        tenant_codes: dict[str, int] = {}
        tenants = np.empty(len(self.rows), dtype=np.int32)
        doc_codes: dict[tuple[str, str], int] = {}
        self._doc_codes = np.empty(len(self.rows), dtype=np.int64)
        acl_postings: dict[str, list[int]] = {}
        meta_postings: dict[tuple[str, str], list[int]] = {}
        for pos, (chunk_id, doc_id, tenant, acl, metadata) in enumerate(columns):
            chunk_ids.append(chunk_id)
            doc_ids.append(doc_id)
            tenants[pos] = tenant_codes.setdefault(tenant, len(tenant_codes))
            self._doc_codes[pos] = doc_codes.setdefault((tenant, doc_id), len(doc_codes))
            for principal in orjson.loads(acl):
                acl_postings.setdefault(principal, []).append(pos)
            for key, values in orjson.loads(metadata).items():
                for value in values:
                    meta_postings.setdefault((key, value), []).append(pos)
        # Object arrays (of the same strings): a leg's hits are gathered with one take.
        self.chunk_ids = np.array(chunk_ids, dtype=object)
        self.doc_ids = np.array(doc_ids, dtype=object)
        self.info = replace(self.info, chunks=len(self.rows), documents=len(doc_codes))
        #: Chunks per document, rounded up: how deep a leg must go for N documents.
        self._chunks_per_document = max(1, math.ceil(len(self.rows) / max(1, len(doc_codes))))
        self._tenant_codes = tenant_codes
        self._tenants = tenants
        self._acl = {k: np.asarray(v, dtype=np.int64) for k, v in acl_postings.items()}
        self._meta = {k: np.asarray(v, dtype=np.int64) for k, v in meta_postings.items()}
        self._masks: OrderedDict[tuple, tuple[np.ndarray, int]] = OrderedDict()
        self._masks_lock = threading.Lock()
        #: tenant code -> (positions, contiguous copy of their vectors), built on first use.
        self._tenant_blocks: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self.text_index, self.searcher = _TextIndex.open_searcher(path / "text")
        self.analyzer = _analyzer()
        self._tenant_sizes = np.bincount(tenants, minlength=len(tenant_codes))
        self.graphs = self._load_graphs(generation, built_from)

    @classmethod
    def load(cls, path: Path, settings: Settings) -> "_Snapshot":
        return cls(path, settings)

    def _load_graphs(self, generation: int, built_from: int) -> dict[int, Any]:
        """Tenant code -> its HNSW graph, for the tenants that have one (when the
        graphs were built from this ``generation``)."""
        manifest_path = self.path / f"hnsw-{generation}" / "manifest.json"
        if built_from != generation or not manifest_path.exists():
            return {}  # exact search stays correct; a stale graph would not
        import hnswlib

        graphs = {}
        try:
            manifest = json.loads(manifest_path.read_text())
        except (OSError, ValueError) as exc:
            raise BackendError(
                f"index {self.path.name!r}: {manifest_path.parent.name}/manifest.json is damaged ({_reason(exc)})"
            ) from None
        for tenant, entry in manifest.items():
            code = self._tenant_codes.get(tenant)
            if code is None or entry["chunks"] != self._tenant_sizes[code]:
                continue
            graph = hnswlib.Index(space="cosine", dim=self.info.dimension)
            try:
                graph.load_index(str(manifest_path.parent / entry["file"]), max_elements=entry["chunks"])
            except (RuntimeError, OSError, ValueError) as exc:
                raise BackendError(
                    f"index {self.path.name!r}: vector graph {manifest_path.parent.name}/{entry['file']} is "
                    f"missing or damaged ({_reason(exc)})"
                ) from None
            graph.set_ef(self.settings.hnsw_ef_search)
            graph.set_num_threads(1)
            graphs[code] = graph
        return graphs

    def _positions(self, rows: np.ndarray) -> np.ndarray:
        """Positions of stored row ids; -1 for a row this snapshot does not hold
        (the text index or a graph may be ahead of it after a crash)."""
        known = rows < len(self._position_of_row)
        if known.all():
            return self._position_of_row[rows]
        return np.where(known, self._position_of_row[np.where(known, rows, 0)], -1)

    # -------------------------------------------------------------- filters
    def allowed(self, access: AccessFilter) -> tuple[np.ndarray, int]:
        """Boolean mask over chunk positions that ``access`` admits, and how many it admits."""
        key = (access.tenant, access.principals, tuple(sorted(access.metadata.items())))
        with self._masks_lock:
            cached = self._masks.get(key)
            if cached is not None:
                self._masks.move_to_end(key)
                return cached
        n = len(self.rows)
        code = self._tenant_codes.get(access.tenant)
        if code is None:
            mask = np.zeros(n, dtype=bool)
        else:
            readable = np.zeros(n, dtype=bool)
            for principal in access.principals | {PUBLIC}:
                postings = self._acl.get(principal)
                if postings is not None:
                    readable[postings] = True
            mask = readable & (self._tenants == code)
            for field, values in access.metadata.items():
                matching = np.zeros(n, dtype=bool)
                for value in values:
                    postings = self._meta.get((field, value))
                    if postings is not None:
                        matching[postings] = True
                mask &= matching
        mask.setflags(write=False)
        cached = (mask, int(np.count_nonzero(mask)))
        with self._masks_lock:
            self._masks[key] = cached
            if len(self._masks) > 256:
                self._masks.popitem(last=False)
        return cached

    # ----------------------------------------------------------------- legs
    def run_leg(self, name: str, leg: Leg, access: AccessFilter) -> LegResult:
        started = time.perf_counter()
        if isinstance(leg, LexicalLeg):
            hits = self.lexical(leg, access)
        elif isinstance(leg, VectorLeg):
            hits = self.vector(leg, access)
        else:  # pragma: no cover - the union is closed
            raise TypeError(f"unknown leg {leg!r}")
        return LegResult(name=name, hits=hits, took_ms=(time.perf_counter() - started) * 1000)

    def lexical(self, leg: LexicalLeg, access: AccessFilter) -> list[LegHit]:
        """BM25 over title (boosted) + body, Lucene-scaled; only admitted chunks.

        Two plans with the same answer, picked by the filter's selectivity. When
        the filter admits a large share of the index, rank without it (a pure
        disjunction, which tantivy prunes with block-max WAND) deep enough that
        ``k`` admitted chunks are expected among the hits, and drop the rest; the
        admitted chunks of a ranking keep their order, so these are the filtered
        top ``k``. If too few survive, or the filter is selective, the filter goes
        inside the query. (100,000 chunks, a filter admitting 30 %: 0.8 against
        1.7 ms; the ACL term set is what costs.)
        """
        import tantivy

        Q, Occur = tantivy.Query, tantivy.Occur
        schema = self.text_index.schema
        terms = self.analyzer.analyze(leg.text)
        mask, admitted = self.allowed(access)
        if not terms or leg.k <= 0 or admitted == 0:
            return []
        should = []
        # A repeated term scores as often as it is repeated (as in Lucene's match
        # query); one clause boosted by the count scores the same with fewer
        # posting lists to walk (a fifth of a long CISI query's terms are repeats).
        for term, count in Counter(terms).items():
            title = Q.term_query(schema, "title", term)
            body = Q.term_query(schema, "body", term)
            should.append((Occur.Should, Q.boost_query(title, self.settings.title_boost * count)))
            should.append((Occur.Should, body if count == 1 else Q.boost_query(body, float(count))))
        text_query = Q.boolean_query(should)

        def ranked(query: Any, k: int) -> tuple[np.ndarray, np.ndarray]:
            hits = self.searcher.search(query, k, count=False).hits
            # The row comes from its fast (columnar) field in one call: reading stored
            # documents one by one cost most of this leg at k=300 (issue 6 profile).
            rows = self.searcher.fast_field_values("row", [address for _, address in hits])
            scores = np.array([score for score, _ in hits], dtype=np.float64) / _TANTIVY_BM25_FACTOR
            return self._positions(np.array(rows, dtype=np.int64)), scores

        def top(k: int) -> tuple[np.ndarray, np.ndarray]:
            fetch = _over_fetch(k, admitted / len(self.rows))
            if fetch <= self.settings.lexical_post_filter_max_fetch:
                positions, scores = ranked(text_query, fetch)
                keep = _admitted(mask, positions)
                if np.count_nonzero(keep) >= k or len(positions) < fetch:
                    return positions[keep][:k], scores[keep][:k]
            positions, scores = ranked(Q.boolean_query([(Occur.Must, text_query), *self._filter_clauses(access)]), k)
            # The mask, not the text index, is the truth: after an interrupted write the
            # text index may hold rows this snapshot does not (or no longer) admit.
            keep = _admitted(mask, positions)
            return positions[keep], scores[keep]

        return self._ranked_hits(leg, top)

    def _filter_clauses(self, access: AccessFilter) -> list[tuple[Any, Any]]:
        """``access`` as tantivy clauses that must match and add nothing to the score."""
        import tantivy

        Q, Occur = tantivy.Query, tantivy.Occur
        schema = self.text_index.schema
        clauses = [
            (Occur.Must, Q.const_score_query(Q.term_query(schema, "tenant", access.tenant), 0.0)),
            (
                Occur.Must,
                Q.const_score_query(Q.term_set_query(schema, "acl", sorted(access.principals | {PUBLIC})), 0.0),
            ),
        ]
        for key, values in sorted(access.metadata.items()):
            clauses.append(
                (Occur.Must, Q.const_score_query(Q.term_set_query(schema, "meta", [f"{key}={v}" for v in values]), 0.0))
            )
        return clauses

    def vector(self, leg: VectorLeg, access: AccessFilter) -> list[LegHit]:
        """k-NN by cosine, within the caller's tenant: HNSW when the filter admits
        most of a tenant that has a graph, else exact over the admitted chunks."""
        mask, admitted = self.allowed(access)
        if min(leg.k, admitted) <= 0:
            return []
        query = np.asarray(leg.vector, dtype=np.float32)
        code = self._tenant_codes[access.tenant]
        fraction = admitted / self._tenant_sizes[code]
        graph = self.graphs.get(code)
        if graph is not None and fraction > self.settings.exact_search_max_fraction:
            hits = self._ranked_hits(leg, lambda k: self._approximate(graph, query, min(k, admitted), mask, fraction))
            if hits is not None:
                return hits
        return self._ranked_hits(leg, lambda k: self._exact(query, min(k, admitted), mask, code, admitted))

    def _exact(
        self, query: np.ndarray, k: int, mask: np.ndarray, code: int, admitted: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top ``k`` admitted chunk positions by cosine, and their ``(1 + cos) / 2`` scores."""
        if admitted * 4 < self._tenant_sizes[code]:
            # A restrictive filter: gather and score only the admitted rows
            # (1 % of a 39k-chunk tenant: 0.05 ms against 4.5 ms for the block).
            allowed = np.flatnonzero(mask)
            cosines = np.take(self.vectors, allowed, axis=0) @ query
        else:
            # Most of the tenant: score its contiguous block and keep the admitted
            # rows; gathering them costs more than the product from a quarter up.
            positions, block = self._tenant_block(code)
            keep = mask[positions]
            cosines = (block @ query)[keep]
            allowed = positions[keep]
        top = np.argpartition(-cosines, k - 1)[:k] if k < len(cosines) else np.arange(len(cosines))
        top = top[np.lexsort((allowed[top], -cosines[top]))]
        return allowed[top], (1.0 + cosines[top].astype(np.float64)) / 2.0

    def _ranked_hits(
        self, leg: Leg, top: Callable[[int], tuple[np.ndarray, np.ndarray] | None]
    ) -> list[LegHit] | None:
        """Hits from ``top(k)`` (ranked chunk positions and scores, or ``None``).

        With ``leg.max_documents`` a first pass asks for only as many chunks as
        that many documents have on average in this index (100 rather than 300 on
        a one-chunk-per-document index); only if those hold too few distinct
        documents does a second pass ask for ``leg.k``. The answer is the same as
        collapsing ``top(leg.k)``: the first documents of a ranking are the first
        documents of any longer ranking that begins with it.
        """
        k = leg.k if leg.max_documents is None else min(leg.k, leg.max_documents * self._chunks_per_document)
        ranked = top(k)
        if ranked is None:
            return None
        hits = self._hits(*ranked, leg.max_documents)
        if k < leg.k and len(ranked[0]) == k and len(hits) < (leg.max_documents or 0):
            ranked = top(leg.k)
            return None if ranked is None else self._hits(*ranked, leg.max_documents)
        return hits

    def _hits(self, positions: np.ndarray, scores: np.ndarray, max_documents: int | None) -> list[LegHit]:
        """Hits for ranked chunk positions; with ``max_documents``, each document's
        first (best) chunk only, and that many documents at most.

        Collapsing here, in numpy, spares the query path building and discarding
        Python objects for the chunks it would drop anyway (issue 6 profile).
        """
        if max_documents is not None and len(positions):
            _, first = np.unique(self._doc_codes[positions], return_index=True)
            keep = np.sort(first)[:max_documents]
            positions, scores = positions[keep], scores[keep]
        # tuple.__new__ over zipped columns: LegHit(...) calls a Python-level __new__
        # per hit, which took half of this method's time for 100 hits.
        columns = zip(self.chunk_ids[positions].tolist(), self.doc_ids[positions].tolist(), scores.tolist())
        return list(map(tuple.__new__, repeat(LegHit), columns))

    def _tenant_block(self, code: int) -> tuple[np.ndarray, np.ndarray]:
        """Positions of one tenant's chunks, ascending, and their vectors side by side."""
        block = self._tenant_blocks.get(code)
        if block is None:
            positions = np.flatnonzero(self._tenants == code)
            block = self._tenant_blocks.setdefault(code, (positions, np.ascontiguousarray(self.vectors[positions])))
        return block

    def _approximate(
        self, graph: Any, query: np.ndarray, k: int, mask: np.ndarray, fraction: float
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """The tenant's graph with over-fetch for the filter's share of it, then
        the filter; ``None`` if fewer than ``k`` survive."""
        fetch = min(graph.get_current_count(), _over_fetch(k, fraction))
        # ef is the graph's, not the query's: a concurrent query on another request
        # thread may run at its ef. Harmless: too small an ef only means too few
        # survivors, and the caller then searches exactly.
        graph.set_ef(max(self.settings.hnsw_ef_search, fetch))
        labels, distances = graph.knn_query(query, k=fetch)
        positions = self._positions(labels[0].astype(np.int64))
        keep = _admitted(mask, positions)
        if keep.sum() < k:
            return None
        cosines = 1.0 - distances[0][keep][:k].astype(np.float64)
        return positions[keep][:k], (1.0 + cosines) / 2.0

    # ----------------------------------------------------------------- fetch
    def _connection(self) -> sqlite3.Connection:
        """This process's read connection (call with ``_db_lock`` held)."""
        if self._db is None or self._db_pid != os.getpid():
            self._db, self._db_pid = _open_db(self.path, readonly=True), os.getpid()
        return self._db

    def fetch(self, chunk_ids: Sequence[str]) -> dict[str, Chunk]:
        if not chunk_ids:
            return {}
        # Without the vector, as the OpenSearch backend's _source_excludes: these
        # chunks are shown, not searched, and each vector is a 1.5 kB blob to copy.
        # The live rows, which may be newer than this snapshot: the caller re-checks
        # access on what comes back (SearchService), as it must on OpenSearch's mget.
        try:
            with self._db_lock:
                rows = self._connection().execute(
                    f"SELECT {_CHUNK_COLUMNS_BUT_VECTOR}, NULL FROM chunks "
                    f"WHERE chunk_id IN ({','.join('?' * len(chunk_ids))})",
                    list(chunk_ids),
                ).fetchall()
        except sqlite3.Error as exc:
            raise BackendError(f"index {self.path.name!r}: chunks.sqlite is unreadable ({exc})") from None
        return {chunk.chunk_id: chunk for chunk in map(_chunk_from_row, rows)}


_ANALYZER: Any = None


def _analyzer() -> Any:
    global _ANALYZER
    if _ANALYZER is None:
        _ANALYZER = tantivy_analyzer(ENGLISH)
    return _ANALYZER
