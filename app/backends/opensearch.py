"""The OpenSearch backend: the production engine behind the same interface.

Indexes are ``<alias>-v<N>-<generation>`` (``docs-v1-000001``), created from the
composable template ``<alias>-v<N>`` (pattern ``<alias>-v<N>-*``); anywhere an
index name is accepted, the short form ``docs-v1`` means the newest generation
of version 1, and ``create_index("docs-v1")`` creates the next generation. What
an index was built with (template version, model version, dimension) lives in
its mapping ``_meta``. Both retrieval legs go out in one ``_msearch``.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any, Iterable, Iterator, Mapping, Sequence

from opensearchpy import helpers
from opensearchpy import exceptions as os_exc

from app.analysis import lexical_design
from app.backends import opensearch_requests as req
from app.backends.base import (
    BackendError,
    Chunk,
    IndexInfo,
    IndexNotFound,
    Leg,
    LegHit,
    LegResult,
    LexicalLeg,
    VectorLeg,
    doc_key,
    document_body,
    index_version,
    AccessFilter,
)
from app.backends.opensearch_client import DEADLINE_PARAM, build_client, from_error_response, translate
from app.backends.opensearch_templates import DOCUMENT_TEXT, committed_versions, render_template, template_drift, template_name
from app.settings import Settings

log = logging.getLogger(__name__)


class BulkFailed(BackendError):
    """Some bulk items failed; nothing is reported as success. ``failures``: doc id → reason."""

    def __init__(self, index: str, failures: Mapping[str, str]) -> None:
        self.failures = dict(failures)
        shown = ", ".join(f"{doc}: {why}" for doc, why in list(self.failures.items())[:5])
        more = f" (+{len(self.failures) - 5} more)" if len(self.failures) > 5 else ""
        super().__init__(f"{len(self.failures)} document(s) failed to index into {index!r}: {shown}{more}")


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class OpenSearchBackend:
    """:class:`~app.backends.base.SearchBackend` on an OpenSearch cluster."""

    def __init__(self, settings: Settings, client: Any = None) -> None:
        self.settings = settings
        self.alias = settings.index_alias
        self.client = client if client is not None else build_client(settings)
        self._physical = re.compile(rf"^{re.escape(self.alias)}-v(\d+)-(\d{{6}})$")
        self._logical = re.compile(rf"^{re.escape(self.alias)}-v(\d+)$")
        self._alias_cache: tuple[float, str | None] | None = None
        self._info_cache: dict[str, IndexInfo] = {}
        self._pipelines: set[str] = set()
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ plumbing
    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """Run one client call, with transport errors as ours."""
        try:
            return fn(*args, **kwargs)
        except (os_exc.TransportError, os_exc.ConnectionError) as exc:
            raise translate(exc, what) from exc

    def _get_or_none(self, what: str, fn: Any, **kwargs: Any) -> Any:
        """Like :meth:`_call`, but a 404 is ``None`` (absent alias or template)."""
        try:
            return fn(**kwargs)
        except os_exc.NotFoundError:
            return None
        except (os_exc.TransportError, os_exc.ConnectionError) as exc:
            raise translate(exc, what) from exc

    def resolve(self, index: str) -> str:
        """A physical index name for ``index`` (``docs-v1`` → newest ``docs-v1-*``)."""
        if self._physical.match(index):
            return index
        match = self._logical.match(index)
        if not match:
            raise ValueError(f"{index!r} is not an index of alias {self.alias!r} (expected {self.alias}-vN[-NNNNNN])")
        generations = self._generations(int(match.group(1)))
        if not generations:
            raise IndexNotFound(f"no index of version {match.group(1)} ({index}-*) exists")
        return generations[-1]

    def _generations(self, version: int) -> list[str]:
        pattern = f"{self.alias}-v{version}-*"
        found = self._call(f"listing {pattern}", self.client.indices.get_mapping, index=pattern, allow_no_indices=True)
        return sorted(name for name in found if self._physical.match(name))

    # ------------------------------------------------------------------- reading
    def run_legs(
        self, legs: Mapping[str, Leg], access: AccessFilter, index: str | None = None
    ) -> dict[str, LegResult]:
        """Every leg in one ``_msearch`` round trip against the alias (or ``index``)."""
        names = list(legs)
        whole_documents = self._whole_documents(index)
        bodies = [self._leg_body(legs[name], access, whole_documents) for name in names]
        if not bodies:
            return {}
        started = time.perf_counter()
        response = self._call(
            "searching",
            self.client.msearch,
            body=req.msearch_lines(index or self.alias, bodies),
            params={DEADLINE_PARAM: self.settings.leg_timeout_s},
        )
        wall_ms = (time.perf_counter() - started) * 1000
        results = {}
        for name, item in zip(names, response.get("responses", [])):
            if "error" in item:
                error = from_error_response(item.get("status", 500), item["error"], f"running the {name} leg") or BackendError(
                    f"the {name} leg failed: {item['error']}", transient=True
                )
                if not (isinstance(error, BackendError) and error.transient):
                    raise error
                # One leg overloaded or failed on the cluster: the other still answers.
                results[name] = LegResult(name=name, hits=[], took_ms=wall_ms, failure=str(error))
                continue
            results[name] = LegResult(
                name=name, hits=_leg_hits(item), took_ms=float(item.get("took", wall_ms)), partial=_is_partial(item)
            )
        if len(results) != len(names):
            raise BackendError(f"_msearch answered {len(results)} of {len(names)} legs")
        return results

    def _whole_documents(self, index: str | None) -> bool:
        """Whether ``index`` (default: the alias target) ranks whole documents lexically."""
        version = self.live_index().template_version if index is None else index_version(self.alias, index)
        return lexical_design(version).whole_documents

    def _leg_body(self, leg: Leg, access: AccessFilter, whole_documents: bool) -> dict[str, Any]:
        if isinstance(leg, LexicalLeg):
            return req.leg_body(req.lexical_query(leg, access, self.settings.title_boost, whole_documents), leg.k)
        if isinstance(leg, VectorLeg):
            return req.leg_body(req.vector_query(leg, access), leg.k)
        raise TypeError(f"unknown leg {leg!r}")

    def run_fused(
        self,
        lexical: LexicalLeg,
        vector: VectorLeg,
        access: AccessFilter,
        *,
        method: str,
        weights: Mapping[str, float],
        normalization: str = "min_max",
        rank_constant: int = 60,
        size: int | None = None,
    ) -> LegResult:
        """Server-side fusion: one ``hybrid`` query through a search pipeline.

        Same result shape as one leg (named ``hybrid``), so relevance engineers
        can compare it with the service's client-side fusion.
        """
        pipeline = req.search_pipeline(
            method, normalization, [weights.get("lexical", 1.0), weights.get("vector", 1.0)], rank_constant
        )
        pipeline_id = self._ensure_pipeline(pipeline)
        body = req.hybrid_body(
            lexical, vector, access, self.settings.title_boost, size or max(lexical.k, vector.k), self._whole_documents(None)
        )
        started = time.perf_counter()
        response = self._call(
            "running the hybrid query",
            self.client.search,
            index=self.alias,
            body=body,
            params={"search_pipeline": pipeline_id, DEADLINE_PARAM: self.settings.leg_timeout_s},
        )
        took = float(response.get("took", (time.perf_counter() - started) * 1000))
        return LegResult(name="hybrid", hits=_leg_hits(response), took_ms=took, partial=_is_partial(response))

    def _ensure_pipeline(self, body: dict[str, Any]) -> str:
        pipeline_id = req.pipeline_id(body)
        if pipeline_id not in self._pipelines:
            self._call(
                f"installing search pipeline {pipeline_id}",
                self.client.transport.perform_request,
                "PUT",
                f"/_search/pipeline/{pipeline_id}",
                body=body,
            )
            self._pipelines.add(pipeline_id)
        return pipeline_id

    def fetch_chunks(self, chunk_ids: Sequence[str]) -> dict[str, Chunk]:
        if not chunk_ids:
            return {}
        response = self._call(
            "fetching chunks",
            self.client.mget,
            index=self.alias,
            body={"ids": list(chunk_ids)},
            params={"_source_excludes": f"{req.EMBEDDING},{DOCUMENT_TEXT}"},
        )
        return {
            doc["_id"]: req.chunk_from_source(doc["_id"], doc["_source"])
            for doc in response.get("docs", [])
            if doc.get("found")
        }

    def live_index(self) -> IndexInfo:
        """The alias target's info (cached briefly: it is read on every search)."""
        target = self._cached_alias_target()
        if target is None:
            raise IndexNotFound(f"alias {self.alias!r} does not point at any index; run `hybrid-search ingest` first")
        info = self._info_cache.get(target)
        if info is None:
            info = self._read_info(target)
            self._info_cache[target] = info
        return info

    def _cached_alias_target(self) -> str | None:
        now = time.monotonic()
        cached = self._alias_cache
        if cached is not None and now - cached[0] < self.settings.opensearch_alias_cache_s:
            return cached[1]
        target = self.alias_target()
        self._alias_cache = (now, target)
        return target

    def _read_info(self, index: str, *, counts: bool = False) -> IndexInfo:
        mapping = self._call(f"reading index {index}", self.client.indices.get_mapping, index=index)
        meta = mapping.get(index, {}).get("mappings", {}).get("_meta", {})
        return self._info_from_meta(index, meta, counts=counts)

    def _info_from_meta(self, index: str, meta: Mapping[str, Any], *, counts: bool) -> IndexInfo:
        if "model_version" not in meta:
            raise BackendError(f"index {index!r} has no hybrid-search _meta; it was not created by this service")
        chunks = documents = 0
        if counts:
            chunks = self.count(index)
            documents = self.count(index, req.first_chunks_query())
        return IndexInfo(
            name=index,
            template_version=int(meta.get("template_version", 0)),
            model_version=str(meta["model_version"]),
            dimension=int(meta.get("dimension", 0)),
            chunks=chunks,
            documents=documents,
            created_at=str(meta.get("created_at", "")),
        )

    # ------------------------------------------------------------------- writing
    def create_index(self, info: IndexInfo) -> None:
        """Create ``info.name`` (or the next generation of a short ``docs-vN`` name)."""
        name = self._new_index_name(info.name)
        template = template_name(self.alias, info.template_version)
        if template not in self.template_versions():
            # Without its template the index would lack analyzers and strict mappings.
            self.install_templates([info.template_version])
        body = req.create_index_body(info, self.settings, info.created_at or _now())
        self._call(f"creating index {name}", self.client.indices.create, index=name, body=body)
        log.info("created index %s from template %s", name, template)

    def _new_index_name(self, requested: str) -> str:
        if self._physical.match(requested):
            return requested
        match = self._logical.match(requested)
        if not match:
            raise ValueError(f"{requested!r} is not a valid index name for alias {self.alias!r}")
        existing = self._generations(int(match.group(1)))
        generation = int(existing[-1].rsplit("-", 1)[1]) + 1 if existing else 1
        return f"{requested}-{generation:06d}"

    def document_hashes(self, index: str) -> dict[str, str]:
        return {
            doc_key(hit["tenant"], hit["doc_id"]): hit.get("content_hash", "")
            for hit in self.scan_index(
                self.resolve(index), ["tenant", "doc_id", "content_hash"], query=req.first_chunks_query()
            )
        }

    def replace_documents(self, index: str, chunks_by_doc: Mapping[str, Sequence[Chunk]]) -> None:
        """Replace each document's chunks; crash-safe, not transactional.

        OpenSearch has no multi-document transactions, so the order makes an
        interruption harmless: (1) index every chunk but the first, (2) delete the
        document's stale chunks, (3) index the first chunk, which carries the
        content hash. Until (3) the stored hash is the old one, so the next
        ingest redoes an interrupted document; readers never see it vanish.
        """
        if not chunks_by_doc:
            return
        name = self.resolve(index)
        for key, chunks in chunks_by_doc.items():
            for chunk in chunks:
                if chunk.doc_key != key:
                    raise ValueError(f"chunk {chunk.chunk_id!r} does not belong to document {key!r}")
        if self._whole_documents(name):
            # A copied chunk may not carry its document's body: its chunks' text stands in.
            chunks_by_doc = {key: _with_document_body(chunks) for key, chunks in chunks_by_doc.items()}
        firsts = [c for chunks in chunks_by_doc.values() for c in chunks if c.position == 0]
        rest = [c for chunks in chunks_by_doc.values() for c in chunks if c.position != 0]
        self._bulk(name, rest)
        keep = [c.chunk_id for chunks in chunks_by_doc.values() for c in chunks]
        for tenant, doc_ids in req.doc_ids_by_tenant(chunks_by_doc).items():
            self._delete_by_query(name, req.stale_chunks_query(tenant, doc_ids, keep))
        self._bulk(name, firsts)
        self._refresh(name)

    def _bulk(self, index: str, chunks: Sequence[Chunk]) -> None:
        """``streaming_bulk`` with 429 retries; any failed item raises :class:`BulkFailed`."""
        if not chunks:
            return
        doc_of = {c.chunk_id: c.doc_id for c in chunks}
        failures: dict[str, str] = {}
        try:
            for ok, item in helpers.streaming_bulk(
                self.client,
                req.index_actions(index, chunks, self._whole_documents(index)),
                chunk_size=self.settings.opensearch_bulk_chunk_size,
                max_retries=self.settings.opensearch_max_retries,
                initial_backoff=self.settings.opensearch_retry_backoff_s,
                max_backoff=10,
                raise_on_error=False,
                yield_ok=False,
            ):
                if not ok:
                    ((_, result),) = item.items()
                    chunk_id = result.get("_id", "?")
                    why = result.get("error")
                    text = why.get("reason", why.get("type")) if isinstance(why, dict) else str(why)
                    failures.setdefault(doc_of.get(chunk_id, chunk_id), f"HTTP {result.get('status')} {text}")
        except (os_exc.TransportError, os_exc.ConnectionError) as exc:
            raise translate(exc, f"bulk indexing into {index}") from exc
        if failures:
            raise BulkFailed(index, failures)

    def _delete_by_query(self, index: str, body: Mapping[str, Any]) -> int:
        response = self._call(
            f"deleting from {index}",
            self.client.delete_by_query,
            index=index,
            body=dict(body),
            params={"refresh": "true", "conflicts": "proceed", "wait_for_completion": "true"},
        )
        if response.get("failures"):
            raise BackendError(f"delete in {index!r} failed: {response['failures'][:3]}")
        return int(response.get("deleted", 0))

    def _refresh(self, index: str) -> None:
        self._call(f"refreshing {index}", self.client.indices.refresh, index=index)

    def delete_documents(self, index: str, doc_keys: Iterable[str]) -> int:
        name = self.resolve(index)
        existed = 0
        for tenant, doc_ids in req.doc_ids_by_tenant(doc_keys).items():
            existed += self.count(name, req.first_chunks_query(tenant, doc_ids))
            self._delete_by_query(name, req.stale_chunks_query(tenant, doc_ids, []))
        return existed

    def repair(self, index: str) -> list[str]:
        # Nothing is derived here: the cluster indexes each chunk as it is written,
        # and replace_documents orders its steps so a rerun redoes what a crash cut.
        self.resolve(index)
        return []

    def force_merge(self, index: str) -> None:
        name = self.resolve(index)
        response = self._call(
            f"force-merging {name}",
            self.client.indices.forcemerge,
            index=name,
            params={"max_num_segments": "1", **self._maintenance_timeout()},
        )
        failed = (response or {}).get("_shards", {}).get("failed", 0)
        if failed:
            failures = response["_shards"].get("failures", [])[:3]
            raise BackendError(f"force-merge of {name!r} failed on {failed} shard(s): {failures}")

    def _maintenance_timeout(self) -> dict[str, float]:
        # opensearch-py takes request_timeout out of the params: it is this call's
        # client timeout, not a query parameter.
        return {"request_timeout": self.settings.opensearch_maintenance_timeout_s}

    def iter_chunks(self, index: str) -> Iterator[Chunk]:
        for hit in self.scan_index(self.resolve(index), None):
            yield req.chunk_from_source(hit["_id"], hit)

    # -------------------------------------------------------- versions and alias
    def list_indexes(self) -> list[IndexInfo]:
        pattern = f"{self.alias}-v*"
        found = self._call("listing indexes", self.client.indices.get_mapping, index=pattern, allow_no_indices=True)
        infos = []
        for name in sorted(found):
            if self._physical.match(name):
                infos.append(self._info_from_meta(name, found[name].get("mappings", {}).get("_meta", {}), counts=True))
        return sorted(infos, key=lambda i: self._order(i.name))

    def _order(self, name: str) -> tuple[int, int]:
        match = self._physical.match(name)
        assert match is not None
        return int(match.group(1)), int(match.group(2))

    def alias_target(self) -> str | None:
        targets = self._alias_holders()
        if len(targets) > 1:
            raise BackendError(f"alias {self.alias!r} points at several indexes {sorted(targets)}; fix it with switch_alias")
        return targets[0] if targets else None

    def _alias_holders(self) -> list[str]:
        found = self._get_or_none(f"reading alias {self.alias}", self.client.indices.get_alias, name=self.alias)
        return sorted(found or {})

    def switch_alias(self, index: str) -> None:
        """Point the alias at ``index`` in ONE ``_aliases`` call (atomic in the cluster)."""
        name = self.resolve(index)
        self._read_info(name)  # exists and is ours
        body = req.alias_actions(self.alias, name, self._alias_holders())
        self._call(f"switching alias {self.alias} to {name}", self.client.indices.update_aliases, body=body)
        self._alias_cache = None

    def drop_index(self, index: str) -> None:
        name = self.resolve(index)
        if name == self.alias_target():
            raise ValueError(f"refusing to drop {name!r}: the alias {self.alias!r} points at it")
        self._call(f"deleting index {name}", self.client.indices.delete, index=name)
        self._info_cache.pop(name, None)

    # ------------------------------------------------- lifecycle (index commands)
    def install_templates(self, versions: Iterable[int] | None = None) -> dict[str, dict[str, Any]]:
        """Install the repository's templates; idempotent.

        Returns per template ``{"action": created|updated|unchanged, "drift": {...}}``
        where drift lists the dotted paths that differed on the cluster before.
        """
        report = {}
        for version in versions or committed_versions():
            name = template_name(self.alias, version)
            wanted = render_template(version, self.settings)
            current = self._cluster_template(name)
            drift = {} if current is None else template_drift(wanted, current)
            if current is None:
                action = "created"
            elif drift:
                action = "updated"
            else:
                action = "unchanged"
            if action != "unchanged":
                self._call(f"installing template {name}", self.client.indices.put_index_template, name=name, body=wanted)
            report[name] = {"action": action, "version": version, "drift": drift}
        return report

    def template_versions(self) -> dict[str, dict[str, Any]]:
        """Every ``<alias>-vN`` template on the cluster: version, model, dimension, in sync."""
        found = self._get_or_none(
            "reading index templates", self.client.indices.get_index_template, name=f"{self.alias}-v*"
        ) or {}
        repo = set(committed_versions())
        out = {}
        for entry in found.get("index_templates", []):
            body = entry["index_template"]
            version = body.get("version")
            meta = body.get("_meta", {})
            in_sync = version in repo and not template_drift(render_template(version, self.settings), body)
            out[entry["name"]] = {
                "version": version,
                "model_version": meta.get("model_version"),
                "dimension": meta.get("dimension"),
                "in_repo": version in repo,
                "in_sync": in_sync,
            }
        return out

    def _cluster_template(self, name: str) -> dict[str, Any] | None:
        found = self._get_or_none(f"reading template {name}", self.client.indices.get_index_template, name=name) or {}
        for entry in found.get("index_templates", []):
            if entry.get("name") == name:
                return entry["index_template"]
        return None

    def reindex(self, source_index: str, dest_index: str) -> int:
        """Server-side ``_reindex`` (same embedding model only); returns documents copied."""
        source, dest = self.resolve(source_index), self.resolve(dest_index)
        src_info, dest_info = self._read_info(source), self._read_info(dest)
        if (src_info.model_version, src_info.dimension) != (dest_info.model_version, dest_info.dimension):
            raise ValueError(
                f"cannot _reindex {source} ({src_info.model_version}, {src_info.dimension}-d) into "
                f"{dest} ({dest_info.model_version}, {dest_info.dimension}-d): re-ingest to re-embed"
            )
        response = self._call(
            f"reindexing {source} into {dest}",
            self.client.reindex,
            body=req.reindex_body(source, dest),
            params={"refresh": "true", "wait_for_completion": "true", **self._maintenance_timeout()},
        )
        if response.get("failures"):
            raise BackendError(f"_reindex {source} → {dest} had failures: {response['failures'][:3]}")
        return int(response.get("created", 0)) + int(response.get("updated", 0))

    def scan_index(
        self,
        index: str,
        fields: Sequence[str] | None,
        *,
        query: Mapping[str, Any] | None = None,
        tiebreak: str = "_id",
    ) -> Iterator[dict[str, Any]]:
        """Every document of any index via point-in-time + ``search_after``.

        Yields ``{"_id": ..., **_source}``. ``tiebreak`` must be unique per
        document; ``_id`` works everywhere, a keyword copy of it is cheaper on
        very large indexes.
        """
        keep_alive = self.settings.opensearch_scan_keep_alive
        pit = self._call(f"opening a point in time on {index}", self.client.create_pit, index=index, params={"keep_alive": keep_alive})
        pit_id = pit["pit_id"]
        try:
            after = None
            while True:
                body = req.scan_body(
                    pit_id, keep_alive, self.settings.opensearch_scan_page_size, fields, after, query, tiebreak
                )
                page = self._call(f"scanning {index}", self.client.search, body=body)
                pit_id = page.get("pit_id", pit_id)
                hits = page.get("hits", {}).get("hits", [])
                for hit in hits:
                    yield {"_id": hit["_id"], **hit.get("_source", {})}
                if len(hits) < self.settings.opensearch_scan_page_size:
                    return
                after = hits[-1]["sort"]
        finally:
            try:
                self.client.delete_pit(body={"pit_id": [pit_id]})
            except (os_exc.TransportError, os_exc.ConnectionError) as exc:  # it expires anyway
                log.warning("could not close point in time on %s: %s", index, exc)

    def count(self, index: str, query: Mapping[str, Any] | None = None) -> int:
        """Chunks in ``index`` (matching ``query``)."""
        body = {"query": dict(query)} if query is not None else None
        return int(self._call(f"counting {index}", self.client.count, index=index, body=body)["count"])


def _is_partial(response: Mapping[str, Any]) -> bool:
    """A search answer that stopped at its timeout or lacks some shards."""
    shards = response.get("_shards") or {}
    return bool(response.get("timed_out")) or int(shards.get("failed", 0) or 0) > 0


def _leg_hits(response: Mapping[str, Any]) -> list[LegHit]:
    return [
        LegHit(chunk_id=hit["_id"], doc_id=hit.get("_source", {}).get("doc_id", ""), score=float(hit["_score"] or 0.0))
        for hit in response.get("hits", {}).get("hits", [])
    ]


def _with_document_body(chunks: Sequence[Chunk]) -> list[Chunk]:
    """``chunks`` with the first one carrying a document body (its chunks' text when it has none)."""
    return [
        replace(c, document_body=document_body(chunks)) if c.position == 0 and c.document_body is None else c
        for c in chunks
    ]
