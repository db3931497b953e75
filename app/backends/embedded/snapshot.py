"""One published generation of an index, loaded and query-ready: filters and legs."""

from __future__ import annotations

import json
import math
import sqlite3
import threading
import time
from collections import OrderedDict
from dataclasses import replace
from itertools import repeat
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import orjson

from app.analysis import lexical_design
from app.backends.base import (
    PUBLIC,
    AccessFilter,
    BackendError,
    Chunk,
    Leg,
    LegHit,
    LegResult,
    LexicalLeg,
    VectorLeg,
)
from app.backends.embedded.store import (
    load_vectors,
    open_store,
    read_info,
    reason,
)
from app.backends.embedded.live_rows import LiveRows
from app.backends.embedded.narrowing import clause_mask
from app.backends.embedded.text_index import BM25_FACTOR, TextIndex
from app.backends.embedded.vectors import load_graph, over_fetch
from app.clock import elapsed_ms
from app.settings import Settings


def _admitted(mask: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Which ``positions`` (-1: not held) the filter ``mask`` admits."""
    held = positions >= 0
    return held & mask[np.where(held, positions, 0)]


class Snapshot:
    """An immutable, query-ready view of one index generation."""

    def __init__(self, path: Path, settings: Settings) -> None:
        self.path = path
        self.generation_file = str(path / "GENERATION")
        self.settings = settings
        # This connection only loads: a snapshot may be loaded in the gunicorn master
        # and shared by the forked workers, and an SQLite connection must not cross
        # a fork, so fetches open one per process (LiveRows).
        self.info = read_info(path)
        try:
            db = open_store(path, readonly=True)
            try:
                # One read transaction: every SELECT sees the same committed write.
                db.execute("BEGIN")
                generation, text_generation, built_from = (
                    db.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()[0]
                    for key in ("generation", "text_generation", "hnsw_generation")
                )
                self.rows, self.vectors = load_vectors(db, self.info.dimension)
                columns = db.execute(
                    "SELECT chunk_id, doc_id, tenant, acl, metadata, updated_at, position FROM chunks ORDER BY row"
                ).fetchall()
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
        for pos, (chunk_id, doc_id, tenant, acl, metadata, _, _) in enumerate(columns):
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
        #: ``updated_at`` per position ("" when absent): fixed-width strings compare as the stored text.
        self._updated_at = np.array([row[5] or "" for row in columns], dtype=str)
        self.live = LiveRows(path, generation, {row[0]: tuple(row[1:]) for row in columns})
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
        self.text = TextIndex.at(path / "text", lexical_design(self.info.template_version))
        self.text_index, self.searcher = self.text.open_searcher(path / "text")
        self._tenant_sizes = np.bincount(tenants, minlength=len(tenant_codes))
        self.graphs = self._load_graphs(generation, built_from)

    @classmethod
    def load(cls, path: Path, settings: Settings) -> "Snapshot":
        return cls(path, settings)

    def _load_graphs(self, generation: int, built_from: int) -> dict[int, Any]:
        """Tenant code -> its HNSW graph, for the tenants that have one (when the
        graphs were built from this ``generation``)."""
        manifest_path = self.path / f"hnsw-{generation}" / "manifest.json"
        if built_from != generation or not manifest_path.exists():
            return {}  # exact search stays correct; a stale graph would not
        graphs = {}
        try:
            manifest = json.loads(manifest_path.read_text())
        except (OSError, ValueError) as exc:
            raise BackendError(
                f"index {self.path.name!r}: {manifest_path.parent.name}/manifest.json is damaged ({reason(exc)})"
            ) from None
        for tenant, entry in manifest.items():
            code = self._tenant_codes.get(tenant)
            if code is None or entry["chunks"] != self._tenant_sizes[code]:
                continue
            try:
                graphs[code] = load_graph(
                    manifest_path.parent / entry["file"], self.info.dimension, entry["chunks"], self.settings.hnsw_ef_search
                )
            except (RuntimeError, OSError, ValueError) as exc:
                raise BackendError(
                    f"index {self.path.name!r}: vector graph {manifest_path.parent.name}/{entry['file']} is "
                    f"missing or damaged ({reason(exc)})"
                ) from None
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
        key = (access.tenant, access.principals, tuple(sorted(access.metadata.items())), access.narrowing)
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
            if access.narrowing is not None:
                mask &= clause_mask(access.narrowing, self.doc_ids, self._updated_at, self._meta)
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
        return LegResult(name=name, hits=hits, took_ms=elapsed_ms(started))

    def lexical(self, leg: LexicalLeg, access: AccessFilter) -> list[LegHit]:
        """BM25, Lucene-scaled, over what the index's lexical design ranks (whole
        documents, each hit its first chunk; or chunks with a boosted title);
        only admitted records.

        Two plans with the same answer, picked by the filter's selectivity. When
        the filter admits a large share of the index, rank without it (a pure
        disjunction, which tantivy prunes with block-max WAND) deep enough that
        ``k`` admitted chunks are expected among the hits, and drop the rest; the
        admitted chunks of a ranking keep their order, so these are the filtered
        top ``k``. If too few survive, or the filter is selective, the filter goes
        inside the query. (100,000 chunks, a filter admitting 30 %: 0.8 against
        1.7 ms; the ACL term set is what costs.)
        """
        schema = self.text_index.schema
        terms = self.text.analyze(leg.text)
        mask, admitted = self.allowed(access)
        if not terms or leg.k <= 0 or admitted == 0:
            return []
        text_query = self.text.match_query(schema, terms, self.settings.title_boost)

        def ranked(query: Any, k: int) -> tuple[np.ndarray, np.ndarray]:
            hits = self.searcher.search(query, k, count=False).hits
            # The row comes from its fast (columnar) field in one call: reading stored
            # documents one by one cost most of this leg at large k.
            rows = self.searcher.fast_field_values("row", [address for _, address in hits])
            scores = np.array([score for score, _ in hits], dtype=np.float64) / BM25_FACTOR
            return self._positions(np.array(rows, dtype=np.int64)), scores

        def top(k: int) -> tuple[np.ndarray, np.ndarray]:
            fetch = over_fetch(k, admitted / len(self.rows))
            if fetch <= self.settings.lexical_post_filter_max_fetch:
                positions, scores = ranked(text_query, fetch)
                keep = _admitted(mask, positions)
                if np.count_nonzero(keep) >= k or len(positions) < fetch:
                    return positions[keep][:k], scores[keep][:k]
            # The mask, not the text index, is the truth: after an interrupted write the
            # text index may hold rows this snapshot does not (or no longer) admit. The
            # text index filters tenant, ACL and metadata only, so a narrowing clause is
            # applied by the mask: rank deeper until k pass it or the matches run out.
            filtered, depth = TextIndex.filtered(schema, text_query, access), k
            while True:
                positions, scores = ranked(filtered, depth)
                keep = _admitted(mask, positions)
                if access.narrowing is None or np.count_nonzero(keep) >= k or len(positions) < depth:
                    return positions[keep][:k], scores[keep][:k]
                depth *= 4

        if self.text.design.whole_documents:  # a hit is a document already
            return self._hits(*top(leg.k if leg.max_documents is None else min(leg.k, leg.max_documents)), None)
        return self._ranked_hits(leg, top)

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
            # A restrictive filter: gather and score only the admitted rows, far
            # cheaper than scoring the tenant's whole block.
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
        Python objects for the chunks it would drop anyway.
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
        fetch = min(graph.get_current_count(), over_fetch(k, fraction))
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
    def fetch(self, chunk_ids: Sequence[str], *, text: bool = True) -> dict[str, Chunk]:
        return self.live.fetch(chunk_ids, text=text)
