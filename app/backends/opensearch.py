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
import random
import threading
import time
from dataclasses import replace
from functools import partial
from typing import Any, Iterable, Iterator, Mapping, Sequence

from app.analysis import lexical_design
from app.backends import opensearch_queries as queries
from app.backends import opensearch_requests as req
from app.backends.base import (
    AccessFilter,
    BackendError,
    Chunk,
    IndexInfo,
    IndexNotFound,
    Leg,
    LegResult,
    LexicalLeg,
    VectorLeg,
    doc_key,
    index_name,
    index_order,
    index_version,
    is_generation,
)
from app.backends.opensearch_client import (
    build_client,
)
from app.backends.opensearch_cluster import BulkFailed, Cluster
from app.backends.opensearch_fusion import ServerFusion
from app.backends.opensearch_templates import (
    DOCUMENT_TEXT,
    EMBEDDING,
    check_knn_engine,
    cluster_template_versions,
    install_templates,
    template_name,
)
from app.clock import elapsed_ms, utc_now
from app.fusion import DEFAULT_NORMALIZATION, DEFAULT_RANK_CONSTANT, Normalization
from app.settings import Settings

__all__ = ["BulkFailed", "OpenSearchBackend"]

log = logging.getLogger(__name__)

#: Share of a search's deadline the shards may use before answering what they
#: have (``timed_out``): the rest carries the reply back before the client gives up.
SHARD_TIMEOUT_SHARE = 0.8
#: What ``fetch_chunks(..., text=False)`` reads: access fields and metadata, no text.
ACCESS_SOURCE = "doc_id,chunk_id,position,tenant,acl,metadata,updated_at,content_hash"


class OpenSearchBackend:
    """:class:`~app.backends.base.SearchBackend` on an OpenSearch cluster."""

    def __init__(self, settings: Settings, client: Any = None) -> None:
        self.settings = settings
        self.alias = settings.index_alias
        self.client = client if client is not None else build_client(settings)
        self.cluster = Cluster(self.client, settings)
        self._alias_cache: tuple[float, str | None] | None = None
        self._info_cache: dict[str, IndexInfo] = {}
        self.fusion = ServerFusion(self.cluster)
        self._lock = threading.Lock()

    def resolve(self, index: str) -> str:
        """A physical index name for ``index`` (``docs-v1`` → newest ``docs-v1-*``)."""
        version, generation = index_order(self.alias, index)
        if generation:
            return index
        generations = self._generations(version)
        if not generations:
            raise IndexNotFound(f"no index of version {version} ({index}-*) exists")
        return generations[-1]

    def _generations(self, version: int) -> list[str]:
        pattern = f"{self.alias}-v{version}-*"
        found = self.cluster.call(f"listing {pattern}", self.client.indices.get_mapping, index=pattern, allow_no_indices=True)
        return sorted((name for name in found if is_generation(self.alias, name)), key=partial(index_order, self.alias))

    # ------------------------------------------------------------------- reading
    def run_legs(
        self, legs: Mapping[str, Leg], access: AccessFilter, index: str | None = None
    ) -> dict[str, LegResult]:
        """Every leg in one ``_msearch`` round trip against the alias (or ``index``), under one deadline.

        A leg the cluster turned away for load (429) is sent once more, alone,
        after a pause, when the deadline leaves room; any other failed leg fails
        alone and the rest still answer.
        """
        if not legs:
            return {}
        target = index or self.alias
        whole_documents = self._whole_documents(index)
        several_shards = self.cluster.shard_count(self.live_index().name if index is None else index) > 1
        preference = queries.search_preference(access.tenant, legs.values())
        searches = {
            name: (
                queries.msearch_header(target, preference, global_statistics=several_shards and isinstance(leg, LexicalLeg)),
                self._leg_body(leg, access, whole_documents),
            )
            for name, leg in legs.items()
        }
        started = time.perf_counter()
        deadline = time.monotonic() + self.settings.leg_timeout_s
        answers = self.cluster.msearch(searches, deadline)
        overloaded = [name for name, item in answers.items() if item.get("status") == 429]
        if overloaded:
            pause = random.uniform(0.5, 1.0) * self.settings.opensearch_retry_backoff_s
            if deadline - time.monotonic() > 2 * pause:
                time.sleep(pause)
                answers.update(self.cluster.msearch({name: searches[name] for name in overloaded}, deadline))
        wall_ms = elapsed_ms(started)
        return {name: queries.leg_result(name, answers[name], wall_ms) for name in legs}

    def _whole_documents(self, index: str | None) -> bool:
        """Whether ``index`` (default: the alias target) ranks whole documents lexically."""
        version = self.live_index().template_version if index is None else index_version(self.alias, index)
        return lexical_design(version).whole_documents

    def _leg_body(self, leg: Leg, access: AccessFilter, whole_documents: bool) -> dict[str, Any]:
        if isinstance(leg, LexicalLeg):
            query = queries.lexical_query(leg, access, self.settings.title_boost, whole_documents)
        elif isinstance(leg, VectorLeg):
            query = queries.vector_query(leg, access, self.settings.hnsw_ef_search, self.cluster.release())
        else:
            raise TypeError(f"unknown leg {leg!r}")
        return queries.leg_body(query, leg.k, self._shard_timeout_s())

    def _shard_timeout_s(self) -> float:
        """The body ``timeout``: shards answer what they have before the client's deadline passes."""
        return SHARD_TIMEOUT_SHARE * self.settings.leg_timeout_s

    def run_fused(
        self,
        lexical: LexicalLeg,
        vector: VectorLeg,
        access: AccessFilter,
        *,
        method: str,
        weights: Mapping[str, float],
        normalization: Normalization = DEFAULT_NORMALIZATION,
        rank_constant: int = DEFAULT_RANK_CONSTANT,
        size: int | None = None,
    ) -> LegResult:
        """Server-side fusion (:class:`.opensearch_fusion.ServerFusion`) against the alias.

        Same result shape as one leg (named ``hybrid``), so relevance engineers
        can compare it with the service's client-side fusion.
        """
        return self.fusion.run(
            self.alias, lexical, vector, access, method=method, weights=weights, normalization=normalization,
            rank_constant=rank_constant, size=size or max(lexical.k, vector.k),
            whole_documents=self._whole_documents(None), shard_timeout_s=self._shard_timeout_s(),
        )

    def fetch_chunks(self, chunk_ids: Sequence[str], *, text: bool = True) -> dict[str, Chunk]:
        if not chunk_ids:
            return {}
        response = self.cluster.call(
            "fetching chunks",
            self.client.mget,
            index=self.alias,
            body={"ids": list(chunk_ids)},
            params={"_source_excludes": f"{EMBEDDING},{DOCUMENT_TEXT}"} if text else {"_source_includes": ACCESS_SOURCE},
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
        mapping = self.cluster.call(f"reading index {index}", self.client.indices.get_mapping, index=index)
        meta = mapping.get(index, {}).get("mappings", {}).get("_meta", {})
        return self._info_from_meta(index, meta, counts=counts)

    def _info_from_meta(self, index: str, meta: Mapping[str, Any], *, counts: bool) -> IndexInfo:
        info = req.info_from_meta(index, meta)  # raises before counting an index that is not ours
        if not counts:
            return info
        return replace(info, chunks=self.count(index), documents=self.count(index, req.first_chunks_query()))

    # ------------------------------------------------------------------- writing
    def create_index(self, info: IndexInfo) -> None:
        """Create ``info.name`` (or the next generation of a short ``docs-vN`` name)."""
        name = self._new_index_name(info.name)
        template = template_name(self.alias, info.template_version)
        check_knn_engine(self.cluster)
        if template not in self.template_versions():
            # Without its template the index would lack analyzers and strict mappings.
            self.install_templates([info.template_version])
        body = req.create_index_body(info, self.settings, info.created_at or utc_now())
        self.cluster.call(f"creating index {name}", self.client.indices.create, index=name, body=body)
        log.info("created index %s from template %s", name, template)

    def _new_index_name(self, requested: str) -> str:
        version, generation = index_order(self.alias, requested)
        if generation:
            return requested
        existing = self._generations(version)
        newest = index_order(self.alias, existing[-1])[1] if existing else 0
        return index_name(self.alias, version, newest + 1)

    def document_hashes(self, index: str) -> dict[str, str]:
        return {
            doc_key(hit["tenant"], hit["doc_id"]): hit.get("content_hash", "")
            for hit in self.scan_index(
                self.resolve(index), ["tenant", "doc_id", "content_hash"], query=req.first_chunks_query(),
                tiebreak=req.SCAN_TIEBREAK,
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
            chunks_by_doc = {key: req.with_document_body(chunks) for key, chunks in chunks_by_doc.items()}
        firsts = [c for chunks in chunks_by_doc.values() for c in chunks if c.position == 0]
        rest = [c for chunks in chunks_by_doc.values() for c in chunks if c.position != 0]
        whole_documents = self._whole_documents(name)
        self.cluster.bulk_index(name, rest, whole_documents)
        keep = [c.chunk_id for chunks in chunks_by_doc.values() for c in chunks]
        for tenant, doc_ids in req.doc_ids_by_tenant(chunks_by_doc).items():
            self.cluster.delete_by_query(name, req.stale_chunks_query(tenant, doc_ids, keep))
        self.cluster.bulk_index(name, firsts, whole_documents)
        self.cluster.refresh(name)

    def delete_documents(self, index: str, doc_keys: Iterable[str]) -> int:
        name = self.resolve(index)
        existed = 0
        for tenant, doc_ids in req.doc_ids_by_tenant(doc_keys).items():
            existed += self.count(name, req.first_chunks_query(tenant, doc_ids))
            self.cluster.delete_by_query(name, req.stale_chunks_query(tenant, doc_ids, []))
        return existed

    def repair(self, index: str) -> list[str]:
        # Nothing is derived here: the cluster indexes each chunk as it is written,
        # and replace_documents orders its steps so a rerun redoes what a crash cut.
        self.resolve(index)
        return []

    def force_merge(self, index: str) -> None:
        name = self.resolve(index)
        response = self.cluster.run_task(
            f"force-merging {name}", self.client.indices.forcemerge, {"max_num_segments": "1"},
            writes=name, find=f"[{name}]", index=name,
        )
        failed = response.get("_shards", {}).get("failed", 0)
        if failed:
            failures = response["_shards"].get("failures", [])[:3]
            raise BackendError(f"force-merge of {name!r} failed on {failed} shard(s): {failures}")

    def iter_chunks(self, index: str) -> Iterator[Chunk]:
        for hit in self.scan_index(self.resolve(index), None, tiebreak=req.SCAN_TIEBREAK):
            yield req.chunk_from_source(hit["_id"], hit)

    # -------------------------------------------------------- versions and alias
    def list_indexes(self) -> list[IndexInfo]:
        pattern = f"{self.alias}-v*"
        found = self.cluster.call("listing indexes", self.client.indices.get_mapping, index=pattern, allow_no_indices=True)
        infos = []
        for name in sorted(found):
            if is_generation(self.alias, name):
                infos.append(self._info_from_meta(name, found[name].get("mappings", {}).get("_meta", {}), counts=True))
        return sorted(infos, key=lambda i: index_order(self.alias, i.name))

    def alias_target(self) -> str | None:
        targets = self._alias_holders()
        if len(targets) > 1:
            raise BackendError(f"alias {self.alias!r} points at several indexes {sorted(targets)}; fix it with switch_alias")
        return targets[0] if targets else None

    def _alias_holders(self) -> list[str]:
        found = self.cluster.get_or_none(f"reading alias {self.alias}", self.client.indices.get_alias, name=self.alias)
        return sorted(found or {})

    def switch_alias(self, index: str) -> None:
        """Point the alias at ``index`` in ONE ``_aliases`` call (atomic in the cluster)."""
        name = self.resolve(index)
        self._read_info(name)  # exists and is ours
        body = req.alias_actions(self.alias, name, self._alias_holders())
        self.cluster.call(f"switching alias {self.alias} to {name}", self.client.indices.update_aliases, body=body)
        self._alias_cache = None

    def drop_index(self, index: str) -> None:
        name = self.resolve(index)
        if name == self.alias_target():
            raise ValueError(f"refusing to drop {name!r}: the alias {self.alias!r} points at it")
        self.cluster.call(f"deleting index {name}", self.client.indices.delete, index=name)
        self._info_cache.pop(name, None)

    # ------------------------------------------------- lifecycle (index commands)
    def install_templates(self, versions: Iterable[int] | None = None) -> dict[str, dict[str, Any]]:
        """Install the repository's templates; idempotent (see :func:`.opensearch_templates.install_templates`)."""
        return install_templates(self.cluster, versions)

    def template_versions(self) -> dict[str, dict[str, Any]]:
        """Every ``<alias>-vN`` template on the cluster: version, model, dimension, in sync."""
        return cluster_template_versions(self.cluster)

    def reindex(self, source_index: str, dest_index: str) -> int:
        """Server-side ``_reindex`` (same embedding model only), as a cluster task; returns documents copied.

        Raises :class:`~app.backends.base.WriteInProgress` while the task may
        still be writing ``dest_index``.
        """
        source, dest = self.resolve(source_index), self.resolve(dest_index)
        src_info, dest_info = self._read_info(source), self._read_info(dest)
        if (src_info.model_version, src_info.dimension) != (dest_info.model_version, dest_info.dimension):
            raise ValueError(
                f"cannot _reindex {source} ({src_info.model_version}, {src_info.dimension}-d) into "
                f"{dest} ({dest_info.model_version}, {dest_info.dimension}-d): re-ingest to re-embed"
            )
        response = self.cluster.run_task(
            f"reindexing {source} into {dest}", self.client.reindex, {"refresh": "true", "slices": "auto"},
            writes=dest, find=f"to [{dest}]", body=req.reindex_body(source, dest),
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
        """Every document of any index (see :meth:`.opensearch_cluster.Cluster.scan`)."""
        return self.cluster.scan(index, fields, query=query, tiebreak=tiebreak)

    def count(self, index: str, query: Mapping[str, Any] | None = None) -> int:
        """Chunks in ``index`` (matching ``query``)."""
        return self.cluster.count(index, query)
