"""The long-lived parts of one service process, built lazily.

Built after gunicorn forks (onnxruntime sessions must not cross a fork), and
warmed up before a worker takes traffic.
"""

from __future__ import annotations

import logging
import threading
from functools import cached_property
from typing import Any

from app.backends.base import SearchBackend
from app.backends.capabilities import PreloadBeforeFork
from app.embedding import Encoder, load_encoder
from app.rerank import NoReranker, RerankStage
from app.search_service import SearchService
from app.settings import Settings

log = logging.getLogger(__name__)


def make_backend(settings: Settings) -> SearchBackend:
    """The configured backend."""
    if settings.backend == "embedded":
        from app.backends.embedded import EmbeddedBackend

        return EmbeddedBackend(settings)
    if settings.backend == "opensearch":
        from app.backends.opensearch import OpenSearchBackend

        return OpenSearchBackend(settings)
    raise ValueError(f"unknown backend {settings.backend!r} (embedded or opensearch)")


def make_reranker(settings: Settings) -> RerankStage:
    """The cross-encoder stage, or :class:`NoReranker` (with why) when disabled or not installed."""
    if not settings.rerank_enabled:
        return NoReranker("reranking is disabled (HYBRID_RERANK_ENABLED)")
    from app.rerank.stage import load_rerank_stage

    try:
        return load_rerank_stage(settings)
    except Exception as exc:  # noqa: BLE001 - a missing model degrades, never fails start-up
        log.warning("reranker unavailable, answers will say degraded=rerank: %s", exc)
        return NoReranker(f"model unavailable: {exc}")


class Components:
    """Encoder, backend, reranker and the search service of one process."""

    def __init__(self, settings: Settings, **given: Any) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        for name, value in given.items():
            if value is not None:
                self.__dict__[name] = value  # pre-built parts (tests, tools)

    @cached_property
    def encoder(self) -> Encoder:
        return load_encoder(
            self.settings.model_dir,
            variant=self.settings.model_variant,
            threads=self.settings.onnx_threads,
            cache_size=self.settings.query_cache_size,
            shared_cache_dir=self.settings.query_cache_dir,
            shared_cache_bytes=self.settings.query_cache_shared_bytes,
        )

    @cached_property
    def batch_encoder(self) -> Encoder:
        """The encoder for batch jobs (ingest, migrations, evaluation indexing), on every core."""
        return load_encoder(
            self.settings.model_dir,
            variant=self.settings.model_variant,
            threads=self.settings.batch_onnx_threads,
            cache_size=self.settings.query_cache_size,
        )

    @cached_property
    def backend(self) -> SearchBackend:
        return make_backend(self.settings)

    @cached_property
    def reranker(self) -> RerankStage:
        return make_reranker(self.settings)

    @cached_property
    def service(self) -> SearchService:
        with self._lock:
            return SearchService(self.settings, self.backend, self.encoder, self.reranker)

    def warm_up(self) -> None:
        """Load models and the index so the first request is not the slow one."""
        self.encoder.embed_query("warm up")
        _ = self.service
        try:
            self.backend.live_index()
        except Exception as exc:  # noqa: BLE001 - readiness reports it
            log.warning("index not ready at warm-up: %s", exc)

    def load_index_before_fork(self) -> None:
        """Load the index now, in the gunicorn master, when the backend holds it in
        memory (the embedded snapshot): the forked workers then share its pages
        (vectors, graphs, filter postings) copy-on-write instead of each reading a
        private copy; a worker loads its own once the index changes. Backends that
        hold connections are left to each worker: a connection must not cross a fork."""
        if not isinstance(self.backend, PreloadBeforeFork):
            return
        try:
            index = self.backend.preload()
        except Exception as exc:  # noqa: BLE001 - each worker loads it then; readiness reports it
            log.warning("index not loaded before fork: %s", exc)
            return
        log.info("index %s (%d chunks) loaded before fork, shared by the workers", index.name, index.chunks)
