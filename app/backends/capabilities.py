"""What some backends can do beyond :class:`app.backends.base.SearchBackend`, declared.

Each optional capability is a small protocol; callers ask with ``isinstance``
(never ``getattr``/``hasattr`` on a backend) and fall back to the portable path.
OpenSearch fuses, reindexes, scans and installs templates on the cluster; the
embedded backend scans its own indexes, knows each one's generation, and loads
its snapshot in the gunicorn master before the workers fork.
"""

from __future__ import annotations

from typing import (
    Any,
    Iterable,
    Iterator,
    Mapping,
    Protocol,
    Sequence,
    runtime_checkable,
)

from app.backends.base import AccessFilter, IndexInfo, LegResult, LexicalLeg, VectorLeg
from app.fusion import DEFAULT_NORMALIZATION, DEFAULT_RANK_CONSTANT, Normalization


@runtime_checkable
class ServerSideFusion(Protocol):
    """Both legs fused by the engine in one request (OpenSearch's ``hybrid`` query)."""

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
        """One fused result named ``hybrid``, in the shape of a leg."""


@runtime_checkable
class ServerSideReindex(Protocol):
    """Copies one index into another inside the engine (same embedding model only)."""

    def reindex(self, source_index: str, dest_index: str) -> int:
        """Copy every record; returns how many were copied."""


@runtime_checkable
class IndexScanning(Protocol):
    """Reads any index it can reach, record by record, for ``index import``."""

    def scan_index(self, index: str, fields: Sequence[str] | None) -> Iterator[dict[str, Any]]:
        """Every record as ``{"_id": ..., **fields}``."""


@runtime_checkable
class TemplateInstalling(Protocol):
    """Keeps the repository's index templates on the engine."""

    def install_templates(self, versions: Iterable[int] | None = None) -> dict[str, dict[str, Any]]:
        """Install (or update) each template; per template what was done and what drifted."""


@runtime_checkable
class IndexGenerations(Protocol):
    """Knows when an index last changed, so derived caches never serve stale lists."""

    def generation(self, index: str) -> str:
        """A token that changes with every write to ``index``."""


@runtime_checkable
class PreloadBeforeFork(Protocol):
    """Holds its index in process memory, which forked workers can share copy-on-write."""

    def preload(self) -> IndexInfo:
        """Load the live index now (in the gunicorn master); returns what was loaded."""
