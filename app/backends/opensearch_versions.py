"""What each OpenSearch release can do, as far as this backend's requests go.

The backend reads the cluster's version once (``GET /``) and builds its bodies
for it; a feature the release lacks is refused with the minimum version named,
never sent to fail (or, worse, be silently ignored) on the cluster. The matrix
is documented in ``docs/opensearch.md``.
"""

from __future__ import annotations

from app.backends.base import BackendError

#: A release as ``(major, minor)``.
Release = tuple[int, int]

#: Assumed when no version is known (bodies for the newest release).
LATEST_RELEASE: Release = (3, 1)
#: ``hybrid.pagination_depth``: HybridQueryBuilder parses it from 2.19.
PAGINATION_DEPTH_SINCE: Release = (2, 19)
#: neural-search's ``score-ranker-processor`` (server-side RRF): introduced in 2.19.
SCORE_RANKER_SINCE: Release = (2, 19)
#: The hybrid query and the normalization processor: neural-search 2.10.
HYBRID_QUERY_SINCE: Release = (2, 10)
#: RRFProcessorFactory reads ``combination.rank_constant`` from 3.1; 2.19–3.0
#: read it from ``combination.parameters`` and ignore it (k = 60) elsewhere.
RRF_RANK_CONSTANT_IN_COMBINATION_SINCE: Release = (3, 1)
#: Weighted server-side RRF (``combination.parameters.weights``): 3.1.
RRF_WEIGHTS_SINCE: Release = (3, 1)
#: The k-NN query's ``method_parameters`` (``ef_search`` per query): k-NN 2.16.
METHOD_PARAMETERS_SINCE: Release = (2, 16)
#: faiss HNSW with ``cosinesimil``: k-NN 2.19 (earlier faiss spaces are l2 and innerproduct).
FAISS_COSINE_SINCE: Release = (2, 19)


def parse_release(number: str) -> Release:
    """``"2.19.1"`` → ``(2, 19)``; raises ``ValueError`` for anything else."""
    major, _, rest = number.partition(".")
    minor = rest.partition(".")[0]
    if not (major.isdigit() and minor.isdigit()):
        raise ValueError(f"not an OpenSearch version: {number!r}")
    return int(major), int(minor)


def shown(release: Release) -> str:
    return f"{release[0]}.{release[1]}"


class UnsupportedByCluster(BackendError):
    """A request needs a newer OpenSearch than the cluster runs (not transient)."""

    def __init__(self, feature: str, since: Release, release: Release) -> None:
        super().__init__(f"{feature} needs OpenSearch {shown(since)} or later; this cluster runs {shown(release)}")
        self.feature, self.since, self.release = feature, since, release
