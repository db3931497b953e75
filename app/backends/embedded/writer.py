"""Writing an index: the four steps of a write, repair, schema upgrade, force-merge."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from app.analysis import lexical_design
from app.backends.base import (
    KEY_SEPARATOR,
    BackendError,
    Chunk,
    split_doc_key,
)
from app.backends.embedded.store import (
    CHUNK_COLUMNS,
    SCHEMA_VERSION,
    chunk_from_row,
    load_vectors,
    open_store,
    read_generation,
    read_info,
    schema_of,
)
from app.backends.embedded.text_index import TextIndex
from app.backends.embedded.vectors import build_graph, link_or_copy
from app.files import write_atomically
from app.settings import Settings


class Writer:
    """One locked write session on one index.

    A write is four steps, each durable before the next starts: the rows
    (SQLite, the truth, one transaction), the text index, the vector graphs,
    and publishing the generation to readers. A crash between two leaves the
    derived structures behind the rows, never ahead; :meth:`repair` catches up.
    """

    def __init__(self, path: Path, settings: Settings) -> None:
        self.path = path
        self.settings = settings
        self.info = read_info(path)
        try:
            self.db = open_store(path)
        except sqlite3.Error as exc:
            raise BackendError(f"index {path.name!r}: chunks.sqlite is damaged ({exc})") from None
        self.text = TextIndex.at(path / "text", lexical_design(self.info.template_version))
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
            self._text = self.text.open(self.path / "text")
        return self._text.writer(heap_size=64_000_000, num_threads=1)

    def _next_generation(self) -> int:
        """Bump the generation (inside the caller's transaction) and return it."""
        generation = self._state("generation") + 1
        self._set_state("generation", generation)
        return generation

    def upgrade(self) -> None:
        """Bring an index of an older storage schema to this one, in place.

        Schema 1 named chunks ``<doc id>#<n>`` and deleted by document id alone,
        so a document of one tenant could replace another tenant's. Schema 2's
        text index holds terms from tantivy's own tokenizer and stemmer, not the
        template's chain as Lucene runs it. Both rebuild the text index from the
        rows. Every step repeats safely: a crash midway leaves the old schema in
        ``info.json`` and the next writer starts over.
        """
        schema = schema_of(self.path)
        if schema >= SCHEMA_VERSION:
            return
        with self.db:
            if schema < 2:
                self.db.execute("UPDATE chunks SET chunk_id = tenant || ? || doc_id || '#' || position", (KEY_SEPARATOR,))
                self.db.execute("DROP INDEX IF EXISTS chunks_doc")
            generation = self._next_generation()
        # The text index's schema changes: build it anew beside the old one, then swap.
        building, text, old = self.path / "text.building", self.path / "text", self.path / "text.old"
        shutil.rmtree(building, ignore_errors=True)
        self.text = TextIndex(self.text.design)
        self.text.create(building)
        self._text = self.text.open(building)
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
        record = json.loads((self.path / "info.json").read_text()) | {"schema": SCHEMA_VERSION}
        write_atomically(self.path / "info.json", json.dumps(record, indent=2))
        self.repaired.append(f"storage schema {SCHEMA_VERSION}")

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
        if read_generation(self.path) != generation:
            self._publish(generation)
            self.repaired.append("published generation")

    def force_merge(self) -> None:
        """Rewrite the text index as one segment without deleted records, under a new generation.

        tantivy searches every segment on its own (its own term lookups, its own
        top-k threshold) and every commit adds one. The Python binding has no
        merge call, so the text index is rebuilt from SQLite, the truth. Vectors
        do not change, so every tenant's graph is kept. A crash midway leaves
        the new generation without its text index, which the next writer repairs.
        """
        text = self.path / "text"
        if self.text.segment_count(text) <= 1 and not TextIndex.deleted_share(text):
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
        stored = self.db.execute(f"SELECT row, {CHUNK_COLUMNS} FROM chunks ORDER BY tenant, doc_id, position")
        for record in self.text.records((row, chunk_from_row(rest)) for row, *rest in stored):
            writer.add_document(record)
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
                    f"INSERT INTO chunks ({CHUNK_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        chunk.chunk_id, chunk.doc_id, chunk.position, chunk.title, chunk.text, chunk.tenant,
                        json.dumps(list(chunk.acl)), json.dumps({k: list(v) for k, v in chunk.metadata.items()}),
                        chunk.url, chunk.updated_at, chunk.content_hash, chunk.document_body,
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
        for record in self.text.records(rows):
            writer.add_document(record)
        writer.commit()
        writer.wait_merging_threads()
        if TextIndex.deleted_share(self.path / "text") > self.settings.embedded_text_max_deleted_share:
            # Replaced records still count in BM25's statistics; a rebuild from the
            # rows drops them (tantivy's binding has no merge call that would).
            self._write_all_text()
        with self.db:
            self._set_state("text_generation", generation)

    def _sync_vectors(self, generation: int, touched: set[str] | None) -> None:
        """(Re)build the HNSW graph of each large tenant this write ``touched``
        (every large tenant when ``None``); the others keep their graph.

        Every filter pins one tenant, so a graph per tenant is walked only by that
        tenant's queries: the ACL filter then admits most of the graph and a small
        over-fetch finds ``k`` admitted chunks. (One graph over all tenants needed
        so large an ef under a tenant filter that it was no faster than scanning
        the tenant exactly: docs/performance.md.) Graphs go to a new
        ``hnsw-<generation>/`` directory, so a reader never sees half a set; an
        untouched tenant's graph is hard-linked from the previous set, so writing
        to one tenant does not rebuild another's graph.
        """
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
                    link_or_copy(previous_dir / kept["file"], building / f"{number}.bin")
                    continue
                rows, matrix = load_vectors(self.db, self.info.dimension, tenant=tenant)
                graph = build_graph(matrix, rows, m=self.settings.hnsw_m, ef_construction=self.settings.hnsw_ef_construction)
                graph.save_index(str(building / f"{number}.bin"))
            write_atomically(building / "manifest.json", json.dumps(manifest, indent=1, sort_keys=True))
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
        write_atomically(self.path / "GENERATION", str(generation))
