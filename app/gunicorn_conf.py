"""gunicorn configuration for a 2-core machine.

Two workers per core, two threads each. A gthread worker keeps every keep-alive
connection it accepts, and which worker wins an accept is a race: with 4
Locust users (`make loadtest`, 100,000 chunks) runs ended with the users on 4,
3 or only 2 of the 4 workers ("searches per worker" in its output). With one
thread a worker then serves its users one after the other: 4 × 1 gave hybrid
p50 18.0 ms when the users were spread and 22.1 ms when they sat two by two,
at ~190-200 req/s. With two threads the second user is served alongside (the
engines release the GIL): 4 × 2 gave p50 16.4–17.2 ms over three runs, spread
or not, at 196–202 req/s and the same ~9 ms of server CPU per request. Each
ONNX session is held to one intra-op thread and BLAS to one thread so workers
do not oversubscribe the cores. The embedded index is loaded in the master
before the workers fork, so they share one copy of its vectors and graphs
(320 MB for 100k chunks) until it changes; then each worker loads its own.
"""

import multiprocessing
import os

from gunicorn.glogging import Logger

from app.observability.multiprocess import mark_worker_dead, prepare_metrics_dir
from app.query_cache import prepare_query_cache_dir
from app.settings import Settings

_settings = Settings.from_env()
# Before the app is preloaded: prometheus-client reads this when first imported.
prepare_metrics_dir(_settings.metrics_dir)
# Before the app is preloaded too: its settings name the directory the workers share.
prepare_query_cache_dir(_settings.query_cache_dir)

workers = int(os.environ.get("HYBRID_GUNICORN_WORKERS", 2 * multiprocessing.cpu_count()))
threads = int(os.environ.get("HYBRID_GUNICORN_THREADS", 2))
worker_class = "gthread"
preload_app = True
timeout = 30
graceful_timeout = 20
keepalive = 5
# Request line and headers are bounded here; the body by Flask (max_body_bytes).
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190
# Heartbeat files on tmpfs: a slow disk must not make the arbiter kill workers.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
# BLAS threads would fight the ONNX and HNSW threads for the same two cores.
raw_env = ["OMP_NUM_THREADS=1", "OPENBLAS_NUM_THREADS=1", "MKL_NUM_THREADS=1"]


class AppLogsAccess(Logger):
    """gunicorn's logger without its access line: the app writes one per request
    (JSON, with the request id). With a logconfig set, gunicorn would otherwise
    format an access record per request only to drop it (1.7 % of the workers'
    time under `make loadtest`)."""

    def access(self, resp, req, environ, request_time):  # noqa: ANN001 - gunicorn's signature
        return


logger_class = AppLogsAccess
# gunicorn's own messages as JSON lines too; the app logs its own access line.
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "app.observability.logs.JsonFormatter"}},
    "handlers": {"json": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
    "root": {"level": _settings.log_level.upper(), "handlers": ["json"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["json"], "propagate": False, "qualname": "gunicorn.error"},
        "gunicorn.access": {"level": "INFO", "handlers": [], "propagate": False, "qualname": "gunicorn.access"},
    },
}


def when_ready(server):  # noqa: ANN001 - gunicorn's hook signature
    """In the master, after the app is preloaded and before any worker forks."""
    server.app.wsgi().extensions["hybrid"].load_index_before_fork()


def post_fork(server, worker):  # noqa: ANN001 - gunicorn's hook signature
    """Hold BLAS to one thread in each worker (numpy was imported pre-fork)."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)


def post_worker_init(worker):  # noqa: ANN001
    """Build the ONNX sessions in the worker and warm up before taking traffic."""
    worker.wsgi.extensions["hybrid"].warm_up()


def child_exit(server, worker):  # noqa: ANN001
    """Forget a dead worker's live gauges so scrapes do not report it."""
    mark_worker_dead(worker.pid)
