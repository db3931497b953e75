"""Query vectors shared by the worker processes of one server.

Each gunicorn worker keeps its own LRU of query vectors (``app.embedding``);
behind it, this cache lets a worker reuse what another one already embedded.
Without it every worker embeds every distinct query once: under `make
loadtest` (100,000 chunks, 4 workers) that re-embedding was 8 % of the
workers' CPU, the long BEIR queries costing up to ~30 ms each. Storage is
``diskcache`` (SQLite in WAL mode, safe across processes and threads), in a
directory the gunicorn master creates per server start unless one is
configured; vectors are keyed by model version, so a kept directory stays
correct across model upgrades.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import tempfile
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

#: The settings variable gunicorn's master fills in before the app is preloaded.
ENV = "HYBRID_QUERY_CACHE_DIR"


class SharedVectorCache:
    """Vectors by (model version, normalised query text); failures are misses."""

    def __init__(self, directory: Path, model_version: str, dimension: int, size_limit_bytes: int) -> None:
        import diskcache

        # least-recently-stored eviction: a read stays a read (LRU would write an
        # access time on every hit).
        self._cache = diskcache.Cache(str(directory), size_limit=size_limit_bytes, eviction_policy="least-recently-stored")
        self._prefix = f"{model_version}\x1f"
        self._dimension = dimension

    def get(self, text: str) -> np.ndarray | None:
        """The stored vector of ``text`` (read-only), or ``None``."""
        try:
            blob = self._cache.get(self._prefix + text)
        except (sqlite3.Error, OSError) as exc:
            log.warning("shared query cache unreadable, embedding instead: %s", exc)
            return None
        if not isinstance(blob, bytes) or len(blob) != 4 * self._dimension:
            return None
        return np.frombuffer(blob, dtype=np.float32)

    def put(self, text: str, vector: np.ndarray) -> None:
        """Store ``vector`` for ``text``; a failure only costs a later re-embedding."""
        try:
            self._cache.set(self._prefix + text, np.asarray(vector, dtype=np.float32).tobytes())
        except (sqlite3.Error, OSError) as exc:
            log.warning("shared query cache unwritable: %s", exc)

    def close(self) -> None:
        self._cache.close()


def prepare_query_cache_dir(configured: Path | None = None) -> Path:
    """The directory the workers share (``configured``, or a fresh temporary one),
    exported as ``HYBRID_QUERY_CACHE_DIR`` for the app the master preloads."""
    path = Path(configured) if configured else Path(tempfile.mkdtemp(prefix="hybrid-query-cache-"))
    path.mkdir(parents=True, exist_ok=True)
    os.environ[ENV] = str(path)
    return path
