"""Server-side fusion on OpenSearch: one ``hybrid`` query through a search pipeline.

Optional (``HYBRID_OPENSEARCH_FUSION_MODE=server``): the service fuses
client-side by default; this lets relevance engineers compare the two.
"""

from __future__ import annotations

import time
from typing import Any, Mapping

from app.backends import opensearch_queries as queries
from app.backends.base import AccessFilter, LegResult, LexicalLeg, VectorLeg
from app.backends.opensearch_client import DEADLINE_PARAM
from app.backends.opensearch_cluster import Cluster
from app.clock import elapsed_ms


class ServerFusion:
    """Runs ``hybrid`` queries; installs each content-addressed pipeline once per process."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.pipelines: set[str] = set()

    def run(
        self,
        target: str,
        lexical: LexicalLeg,
        vector: VectorLeg,
        access: AccessFilter,
        *,
        method: str,
        weights: Mapping[str, float],
        normalization: str,
        rank_constant: int,
        size: int,
        whole_documents: bool,
        shard_timeout_s: float,
    ) -> LegResult:
        """The fused hits as one leg named ``hybrid``, bodies built for the cluster's release."""
        settings, release = self.cluster.settings, self.cluster.release()
        pipeline = queries.search_pipeline(
            method, normalization, [weights.get("lexical", 1.0), weights.get("vector", 1.0)], rank_constant, release
        )
        pipeline_id = self._ensure_pipeline(pipeline)
        body = queries.hybrid_body(
            lexical, vector, access, settings.title_boost, size, whole_documents, release, settings.hnsw_ef_search
        )
        body["timeout"] = queries.search_timeout(shard_timeout_s)
        started = time.perf_counter()
        response = self.cluster.call(
            "running the hybrid query",
            self.cluster.client.search,
            index=target,
            body=body,
            params={
                "search_pipeline": pipeline_id,
                "preference": queries.search_preference(access.tenant, [lexical, vector]),
                DEADLINE_PARAM: settings.leg_timeout_s,
            },
        )
        took = float(response.get("took", elapsed_ms(started)))
        return LegResult(name="hybrid", hits=queries.leg_hits(response), took_ms=took, partial=queries.is_partial(response))

    def _ensure_pipeline(self, body: dict[str, Any]) -> str:
        pipeline_id = queries.pipeline_id(body)
        if pipeline_id not in self.pipelines:
            self.cluster.call(
                f"installing search pipeline {pipeline_id}",
                self.cluster.client.transport.perform_request,
                "PUT",
                f"/_search/pipeline/{pipeline_id}",
                body=body,
            )
            self.pipelines.add(pipeline_id)
        return pipeline_id
