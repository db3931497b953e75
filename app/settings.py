"""One typed settings object for the whole service.

Every knob is read from an environment variable named ``HYBRID_<FIELD>`` (upper
case), with the default documented here. Nothing else in the package reads the
environment for configuration.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from app.fusion import DEFAULT_NORMALIZATION, DEFAULT_RANK_CONSTANT

ENV_PREFIX = "HYBRID_"
#: Request threads per gunicorn worker when the backend is a remote cluster:
#: each search waits on two round trips, and a waiting thread needs no core.
WAITING_BACKEND_THREADS = 4
PROJECT_ROOT = Path(__file__).resolve().parent.parent


#: Where a container's CPU quota is read: cgroup v2's ``cpu.max``, else v1's CFS pair.
CGROUP_ROOT = Path("/sys/fs/cgroup")


def available_cores(cgroup_root: Path = CGROUP_ROOT) -> int:
    """CPUs this process may use: its affinity (not the machine's count), capped by
    a cgroup CPU quota, which is how a container is given "2 CPUs" of a larger host."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    quota = cgroup_cpu_quota(cgroup_root)
    return max(1, min(cores, quota)) if quota is not None else cores


def cgroup_cpu_quota(root: Path = CGROUP_ROOT) -> int | None:
    """Whole CPUs the cgroup quota allows (rounded up), or ``None`` when there is no quota."""
    try:
        quota, period = (root / "cpu.max").read_text().split()[:2]
    except (OSError, ValueError):
        try:
            quota = (root / "cpu" / "cpu.cfs_quota_us").read_text().strip()
            period = (root / "cpu" / "cpu.cfs_period_us").read_text().strip()
        except OSError:
            return None
    try:
        quota_us, period_us = int(quota), int(period)
    except ValueError:  # "max": no limit
        return None
    if quota_us <= 0 or period_us <= 0:  # v1 writes -1 for no limit
        return None
    return -(-quota_us // period_us)


@dataclass(frozen=True)
class Settings:
    """Service configuration; build it with :meth:`Settings.from_env`."""

    # --- storage and backend -------------------------------------------------
    #: ``embedded`` (in-process tantivy + numpy/hnswlib) or ``opensearch``.
    backend: str = "embedded"
    #: Where the embedded backend keeps its indexes and alias file.
    data_dir: Path = PROJECT_ROOT / "data"
    #: Read alias that every query goes through; versions are ``<alias>-vN``.
    index_alias: str = "docs"
    #: Index names an existing search UI already sends to ``/{index}/_search``
    #: (comma-separated); the facade answers them from the alias as well.
    compat_index_names: str = ""
    #: Index-template version that ``ingest`` builds when no index exists yet
    #: (2: document-level BM25, ``app.analysis.LEXICAL_DESIGNS``).
    template_version: int = 2

    # --- models ---------------------------------------------------------------
    #: Directory holding the exported ONNX embedding model.
    model_dir: Path = PROJECT_ROOT / "models" / "embedding"
    #: ``int8`` (per-channel quantised) or ``fp32``.
    model_variant: str = "int8"
    #: onnxruntime intra-op threads per session; 1 because gunicorn runs a
    #: worker per core and oversubscription costs more than it gains.
    onnx_threads: int = 1
    #: onnxruntime intra-op threads for batch embedding (ingest, index
    #: migrate/import, evaluation indexing): a batch job has the cores to itself.
    batch_onnx_threads: int = dataclasses.field(default_factory=available_cores)
    #: Query-embedding LRU cache entries per process.
    query_cache_size: int = 4096
    #: Directory where the processes of one server share query vectors behind
    #: their LRUs (app.query_cache); gunicorn makes a fresh one per start when
    #: unset. Unset outside gunicorn: no sharing.
    query_cache_dir: Path | None = None
    #: Disk the shared query cache may take (1.5 kB a query at 384-d).
    query_cache_shared_bytes: int = 64 * 2**20
    #: Passage batch size for ingestion.
    embed_batch_size: int = 32

    # --- chunking -------------------------------------------------------------
    #: Upper bound on word pieces per chunk (the encoder reads 256).
    chunk_max_tokens: int = 200
    #: Word pieces shared by consecutive chunks of one section.
    chunk_overlap_tokens: int = 40

    # --- retrieval ------------------------------------------------------------
    # BM25 runs with Lucene's defaults (k1 1.2, b 0.75) on both backends: tantivy
    # fixes them, so they are not settings.
    #: Multiplier on title-field BM25 scores.
    title_boost: float = 2.0
    #: Candidates per leg when a request does not say: deep enough that min-max
    #: normalisation sees each leg's tail (docs/relevance.md, "Fusion depth").
    default_depth: int = 400
    max_depth: int = 1000
    #: A tenant with at least this many chunks gets its own HNSW graph; smaller
    #: tenants are searched exactly (a scan that size costs about as much as a graph walk).
    hnsw_min_chunks: int = 20000
    #: When the filter admits less than this share of the caller's tenant, search
    #: exactly over the admitted chunks instead of over-fetching from the graph.
    exact_search_max_fraction: float = 0.3
    hnsw_m: int = 16
    hnsw_ef_construction: int = 200
    hnsw_ef_search: int = 128
    #: Embedded backend: how long a process serves its snapshot before checking
    #: whether a write or an alias switch replaced it (OpenSearch's
    #: refresh_interval plays this part there, 1 s by default). A check stats two
    #: files, and a search asks three times: checking on every search showed up
    #: in the workers' CPU profile (docs/performance.md).
    embedded_refresh_interval_s: float = 0.1
    #: A write rebuilds the embedded text index once replaced or deleted
    #: documents make up this share of it: until then they count in its BM25
    #: statistics (as in Lucene until a merge reclaims them).
    embedded_text_max_deleted_share: float = 0.1
    #: Seconds a query waits on one retrieval leg before failing it.
    leg_timeout_s: float = 5.0
    #: Embedded backend: run the two legs of a search on two threads. Off by
    #: default: gunicorn already runs one worker per core, so under load a second
    #: thread per search only adds hand-offs; it lowers latency on an idle server
    #: with a large index (loadtests/README.md, "Serving shape").
    parallel_legs: bool = False
    #: Embedded lexical leg: rank without the filter and drop what it refuses when
    #: that needs at most this many hits (``embedded.vectors.over_fetch``); deeper, the
    #: filter goes inside the query, which costs more than a deep unfiltered
    #: ranking (docs/performance.md).
    lexical_post_filter_max_fetch: int = 1000

    # --- fusion defaults ----------------------------------------------------------
    # Linear over min-max at equal weights: chosen by leaving each shared
    # collection out in turn (scripts/fusion_defaults.py, docs/relevance.md);
    # fitted weights and RRF did worse on the collection left out.
    fusion_method: str = "linear"
    rrf_rank_constant: int = DEFAULT_RANK_CONSTANT
    linear_normalization: str = DEFAULT_NORMALIZATION
    weight_lexical: float = 0.5
    weight_vector: float = 0.5
    #: Profile loaded when a request names none (``profiles/<name>.json``).
    default_profile: str = ""
    profiles_dir: Path = PROJECT_ROOT / "profiles"

    # --- reranking ------------------------------------------------------------
    rerank_enabled: bool = False
    rerank_model_dir: Path = PROJECT_ROOT / "models" / "reranker"
    rerank_depth: int = 20
    rerank_budget_ms: float = 100.0
    rerank_max_length: int = 128
    #: Weight of the fused score against the rerank score, both min-max normalised
    #: within the reranked head (app.fusion.interpolate); 0 orders by rerank score alone.
    rerank_interpolation: float = 0.0
    #: ``int8`` (the shipped file) or ``fp32`` (only when exported beside it).
    rerank_variant: str = "int8"
    #: Pairs per onnxruntime call; batches are length-sorted and padded dynamically.
    rerank_batch_size: int = 16
    #: Query word pieces kept; truncation otherwise falls on the passage only.
    rerank_query_max_tokens: int = 64
    #: onnxruntime intra-op threads of the cross-encoder. A rerank is the one stage
    #: long enough to split across cores, so it takes them all; its threads do not
    #: spin-wait between operators, so another worker's search gets a core back as
    #: soon as it asks (docs/performance.md, "Reranking at depth 20").
    rerank_onnx_threads: int = dataclasses.field(default_factory=available_cores)

    # --- relevance workbench ----------------------------------------------------
    #: Cached indexes of evaluated collections (one per corpus + model).
    eval_cache_dir: Path = PROJECT_ROOT / "data" / "eval-cache"
    #: Tenant that evaluated collections are ingested under (ACL ``*``).
    eval_tenant: str = "eval"

    # --- API ------------------------------------------------------------------
    max_query_chars: int = 1024
    max_page_size: int = 100
    max_body_bytes: int = 64 * 1024

    # --- authentication -------------------------------------------------------
    #: ``HS256`` (a shared secret) or ``RS256`` (a public key; the issuer keeps the private one).
    jwt_algorithm: str = "HS256"
    #: HS256 secret, at least 32 bytes. There is no built-in one: the service
    #: refuses to start without it (or RS256), except in development mode.
    jwt_secret: str = ""
    #: PEM file with the RS256 public key(s), used when algorithm is RS256.
    jwt_public_key_file: Path | None = None
    jwt_issuer: str = "hybrid-search-dev"
    jwt_audience: str = "hybrid-search"
    jwt_leeway_s: int = 30
    #: Verified tokens remembered per process (until they expire); 0 verifies every request.
    jwt_cache_size: int = 4096

    #: Development identity (``serve --dev``): without a secret, HS256 uses a
    #: random one kept in ``<data_dir>/dev-jwt-secret`` (mode 0600) that
    #: ``hybrid-search token`` signs with too; the server binds loopback only.
    dev_mode: bool = False
    #: Serve the side-by-side page at ``/workbench`` (it runs searches as the token pasted into it).
    workbench: bool = False

    # --- OpenSearch -------------------------------------------------------------
    opensearch_hosts: str = "https://localhost:9200"
    opensearch_user: str = ""
    opensearch_password: str = ""
    opensearch_verify_certs: bool = True
    opensearch_ca_certs: str = ""
    opensearch_timeout_s: float = 10.0
    #: How long a long job (``_reindex``, ``_forcemerge``, run as a cluster task)
    #: is awaited before the command gives up on it (the task runs on).
    opensearch_maintenance_timeout_s: float = 3600.0
    #: Pause between two reads of a running task's progress (``GET _tasks/<id>``).
    opensearch_task_poll_s: float = 2.0
    opensearch_max_retries: int = 3
    #: empty = no SigV4; ``es`` signs for an Amazon OpenSearch Service domain.
    #: ``aoss`` (Serverless) is refused: vector collections assign their own ids.
    opensearch_aws_service: str = ""
    opensearch_aws_region: str = ""
    opensearch_shards: int = 1
    opensearch_replicas: int = 1
    opensearch_knn_engine: str = "lucene"
    opensearch_bulk_chunk_size: int = 500
    #: ``client`` fuses in the service, ``server`` sends one ``hybrid`` query.
    opensearch_fusion_mode: str = "client"
    #: First retry pause (doubles per attempt, with jitter) for 429/5xx and bulk 429s.
    opensearch_retry_backoff_s: float = 0.5
    #: How long a process trusts its last read of the alias (one round trip per search otherwise).
    opensearch_alias_cache_s: float = 1.0
    #: Point-in-time scans (import, migrations): context lifetime and page size.
    opensearch_scan_keep_alive: str = "2m"
    opensearch_scan_page_size: int = 500

    # --- index lifecycle (``hybrid-search index migrate|import``) ---------------------
    #: Random documents whose titles are searched in the new index before a switch.
    lifecycle_probe_queries: int = 20
    #: A probe passes when its document is in the top this-many lexical hits.
    lifecycle_probe_depth: int = 10
    #: A re-ingest that would lose more than this share of the live index's
    #: documents is refused (a truncated source looks exactly like that).
    lifecycle_max_shrink: float = 0.1
    #: Invalid source lines a migration or import tolerates before refusing to switch.
    lifecycle_max_errors: int = 0

    # --- S3 sources (``ingest s3://...``, ``index migrate --source s3://...``) -----
    #: Empty = AWS's regional endpoint; set for MinIO, a VPC endpoint or a test server.
    s3_endpoint_url: str = ""
    #: botocore "standard" retry attempts per S3 call (throttling, 5xx, resets).
    s3_max_attempts: int = 5
    #: Keys per ``list_objects_v2`` page (S3 caps it at 1000).
    s3_list_page_size: int = 1000

    # --- evaluation ---------------------------------------------------------------
    #: Lucene fat jar for the ``lucene-bm25`` reference system; unset = the one
    #: in the installed ``pyserini`` wheel.
    lucene_jar: Path | None = None
    #: The judged collections in BEIR layout (``<name>/corpus.jsonl``, ...) that
    #: the relevance gate, the tools and the reranker study read; never copied.
    datasets_dir: Path = PROJECT_ROOT.parent / "shared" / "datasets"

    # --- serving (gunicorn, app/gunicorn_conf.py) ---------------------------------
    #: Worker processes: one per core. A search is CPU work (encoder, tantivy,
    #: HNSW, Python); more runnable threads than cores make every stage wait for
    #: a core (loadtests/README.md, "Serving shape").
    gunicorn_workers: int = dataclasses.field(default_factory=available_cores)
    #: Request threads per worker; 0 = by backend: 1 for ``embedded`` (all CPU),
    #: ``WAITING_BACKEND_THREADS`` for ``opensearch`` (a worker mostly waits on the cluster).
    gunicorn_threads: int = 0

    # --- observability ----------------------------------------------------------
    log_level: str = "INFO"
    #: Log raw query text; off by default (a keyed hash and length are logged).
    log_query_text: bool = False
    #: Key of the query hash in logs. Unset: derived from ``jwt_secret``, so
    #: workers and restarts agree; with neither, a random key per process.
    log_hash_key: str = ""
    #: File of the audit trail (one JSON line per search: caller, profile,
    #: returned ids); unset = the general log under the name ``hybrid.audit``.
    audit_log: Path | None = None
    #: File of User Behavior Insights ``ubi_queries`` records (one JSON line per
    #: search: query id, client id, returned ids); unset = none written.
    ubi_log: Path | None = None
    #: Where gunicorn workers share Prometheus metric files (emptied at start);
    #: unset = a fresh temporary directory per server start.
    metrics_dir: Path | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> "Settings":
        """Build settings from ``HYBRID_*`` variables, then apply ``overrides``."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            raw = environ.get(ENV_PREFIX + f.name.upper())
            if raw is not None:
                values[f.name] = _coerce(f, raw)
        values.update(overrides)
        return cls(**values)

    @property
    def serving_threads(self) -> int:
        """Request threads per gunicorn worker: ``gunicorn_threads``, or the backend's default."""
        if self.gunicorn_threads > 0:
            return self.gunicorn_threads
        return WAITING_BACKEND_THREADS if self.backend == "opensearch" else 1

    def replace(self, **changes: Any) -> "Settings":
        """A copy with ``changes`` applied."""
        return dataclasses.replace(self, **changes)


def _coerce(f: dataclasses.Field, raw: str) -> Any:
    kind = str(f.type)
    try:
        if kind.startswith("bool"):
            if raw.lower() in {"1", "true", "yes", "on"}:
                return True
            if raw.lower() in {"0", "false", "no", "off", ""}:
                return False
            raise ValueError(raw)
        if kind.startswith("int"):
            return int(raw)
        if kind.startswith("float"):
            return float(raw)
        if kind.startswith("Path"):
            return Path(raw) if raw else None
    except ValueError:
        raise ValueError(f"{ENV_PREFIX}{f.name.upper()}: cannot read {raw!r} as {kind}") from None
    return raw

