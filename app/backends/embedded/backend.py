"""The embedded backend: the alias, the current snapshot, and writes through one locked writer."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence

from app.analysis import lexical_design
from app.backends.base import (
    AccessFilter,
    BackendError,
    Chunk,
    IndexInfo,
    IndexNotFound,
    Leg,
    LegResult,
    doc_key,
    index_version,
)
from app.backends.embedded.snapshot import Snapshot
from app.backends.embedded.store import (
    CHUNK_COLUMNS,
    SCHEMA_VERSION,
    chunk_from_row,
    open_store,
    read_info,
)
from app.backends.embedded.text_index import TextIndex
from app.backends.embedded.writer import Writer
from app.clock import utc_now
from app.file_lock import file_lock
from app.files import write_atomically
from app.settings import Settings


class EmbeddedBackend:
    """:class:`~app.backends.base.SearchBackend` on tantivy, SQLite and numpy."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.alias = settings.index_alias
        self.root = Path(settings.data_dir)
        self.indexes_dir = self.root / "indexes"
        self._alias_file = self.root / "aliases.json"
        self._alias_path = str(self._alias_file)
        self._snapshot: Snapshot | None = None
        self._snapshot_key: tuple[Any, ...] | None = None
        #: Identity of the alias and GENERATION files the snapshot was checked against.
        self._checked: tuple[Any, ...] | None = None
        self._checked_at = 0.0
        self._reload_lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="leg")
        #: Last snapshot of an index named in ``run_legs(index=...)`` (migration probes).
        self._named: tuple[tuple[str, str], Snapshot] | None = None

    # ------------------------------------------------------------------ reading
    def run_legs(
        self, legs: Mapping[str, Leg], access: AccessFilter, index: str | None = None
    ) -> dict[str, LegResult]:
        # ``index``: a migration probes the new index before the alias moves to it.
        snapshot = self._current() if index is None or index == self.alias_target() else self._snapshot_of(index)
        if len(legs) == 1 or not self.settings.parallel_legs:
            return {name: snapshot.run_leg(name, leg, access) for name, leg in legs.items()}
        # All legs but the last go to the pool; the last runs in this thread, which
        # would otherwise only wait: one hand-off fewer per search (load-tested
        # against pooling both or neither: docs/performance.md).
        *pooled, (last, last_leg) = legs.items()
        futures = {name: self._pool.submit(snapshot.run_leg, name, leg, access) for name, leg in pooled}
        done = {last: snapshot.run_leg(last, last_leg, access)}
        done.update({name: future.result(timeout=self.settings.leg_timeout_s) for name, future in futures.items()})
        return {name: done[name] for name in legs}

    def fetch_chunks(self, chunk_ids: Sequence[str], *, text: bool = True) -> dict[str, Chunk]:
        return self._current().fetch(chunk_ids, text=text)

    def live_index(self) -> IndexInfo:
        return self._current().info

    def _current(self) -> "Snapshot":
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
                    self._snapshot = Snapshot.load(path, self.settings)
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

    def _snapshot_of(self, index: str) -> "Snapshot":
        """A snapshot of an index off the alias, reused while its generation holds."""
        path = self._path(index)
        try:
            key = (index, (path / "GENERATION").read_text().strip())
        except OSError as exc:
            raise BackendError(f"index {index!r}: GENERATION is unreadable ({exc.strerror})") from None
        with self._reload_lock:
            if self._named is None or self._named[0] != key:
                self._named = (key, Snapshot.load(path, self.settings))
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
        record = asdict(info) | {"created_at": info.created_at or utc_now(), "schema": SCHEMA_VERSION}
        record.pop("chunks"), record.pop("documents")
        write_atomically(staging / "info.json", json.dumps(record, indent=2))
        with contextlib.closing(open_store(staging)):
            pass
        TextIndex(lexical_design(info.template_version)).create(staging / "text")
        write_atomically(staging / "GENERATION", "0")
        os.replace(staging, path)

    def document_hashes(self, index: str) -> dict[str, str]:
        with contextlib.closing(open_store(self._path(index))) as db:
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
        with contextlib.closing(open_store(self._path(index))) as db:
            for row in db.execute(f"SELECT {CHUNK_COLUMNS} FROM chunks ORDER BY row"):
                yield chunk_from_row(row)

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
        with contextlib.closing(open_store(path)) as db:
            chunks, documents = db.execute("SELECT COUNT(*), COUNT(*) FILTER (WHERE position = 0) FROM chunks").fetchone()
        return read_info(path, chunks=chunks, documents=documents)

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
            write_atomically(self._alias_file, json.dumps(aliases, indent=2, sort_keys=True))

    def drop_index(self, index: str) -> None:
        if index == self.alias_target():
            raise ValueError(f"refusing to drop {index!r}: the alias {self.alias!r} points at it")
        shutil.rmtree(self._path(index))

    def template_versions(self) -> dict[str, dict[str, Any]]:
        design = lexical_design(self.settings.template_version)
        return {"embedded": {
            "action": "none (the embedded backend builds its schema in code)",
            "template_version": self.settings.template_version,
            "analyzer": design.analyzer.name,
            "chain": f"lowercase, {len(design.analyzer.stop_words)} stop words, {design.analyzer.stemmer} stemmer",
            "lexical": "whole documents" if design.whole_documents else "chunks, title boosted",
        }}

    # -------------------------------------------------------- capabilities
    def generation(self, index: str) -> str:
        """``<index>:<generation>``: changes with every write (capabilities.IndexGenerations)."""
        path = self._path(index)
        try:
            return f"{index}:{(path / 'GENERATION').read_text().strip()}"
        except OSError as exc:
            raise BackendError(f"index {index!r}: GENERATION is unreadable ({exc.strerror})") from None

    def preload(self) -> IndexInfo:
        """The live snapshot, loaded now (capabilities.PreloadBeforeFork)."""
        return self.live_index()

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
    def _writer(self, index: str) -> Iterator["Writer"]:
        path = self._path(index)
        with file_lock(path / "write.lock"):
            writer = Writer(path, self.settings)
            try:
                writer.upgrade()
                writer.repair()
                yield writer
            finally:
                writer.close()
                # This process reads its own writes at once; others within the refresh interval.
                self._checked = None
