"""gunicorn configuration: one worker per core, of ``app.gunicorn_worker.BalancedThreadWorker``.

With the embedded backend a search is CPU work from end to end (encoder,
tantivy, HNSW, Python), so the shape is as many single-threaded workers as
cores (``Settings.gunicorn_workers`` / ``serving_threads``): more runnable
threads than cores only make each stage wait for a core, and a busy core
switching between them serves fewer requests (loadtests/README.md, "Serving
shape"). With the OpenSearch backend a worker mostly waits on the cluster, so
it gets several threads. ``BalancedThreadWorker`` is gthread that accepts a
connection only while it has a thread free, so keep-alive clients spread over
the workers instead of piling onto whichever won the accept race. Each ONNX
session is held to one intra-op thread and BLAS to one thread. The embedded
index is loaded in the master before the workers fork, so they share one copy
of its vectors and graphs until it changes; then each worker loads its own.
What is loaded by then is hidden from the garbage collector (``app.heap``).
"""

import os

from gunicorn.glogging import Logger

from app.heap import settle_heap
from app.observability.multiprocess import mark_worker_dead, prepare_metrics_dir
from app.query_cache import prepare_query_cache_dir
from app.settings import Settings

_settings = Settings.from_env()
# Before the app is preloaded: prometheus-client reads this when first imported.
prepare_metrics_dir(_settings.metrics_dir)
# Before the app is preloaded too: its settings name the directory the workers share.
prepare_query_cache_dir(_settings.query_cache_dir)

workers = _settings.gunicorn_workers
threads = _settings.serving_threads
worker_class = "app.gunicorn_worker.BalancedThreadWorker"
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


def on_starting(server):  # noqa: ANN001 - gunicorn's hook signature
    """Refuse a development-mode server on a public address, however it was started."""
    if _settings.dev_mode:
        from app.cli import CommandError
        from app.commands.serve import refuse_public_bind

        try:
            refuse_public_bind(server.cfg.bind)
        except CommandError as exc:  # gunicorn prints a RuntimeError as one line
            raise RuntimeError(str(exc)) from None


def when_ready(server):  # noqa: ANN001 - gunicorn's hook signature
    """In the master, after the app is preloaded and before any worker forks."""
    server.app.wsgi().extensions["hybrid"].load_index_before_fork()
    settle_heap()  # the workers inherit the frozen heap and the threshold


def post_fork(server, worker):  # noqa: ANN001 - gunicorn's hook signature
    """Hold BLAS to one thread in each worker (numpy was imported pre-fork)."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)


def post_worker_init(worker):  # noqa: ANN001
    """Build the ONNX sessions in the worker and warm up before taking traffic."""
    worker.wsgi.extensions["hybrid"].warm_up()
    settle_heap()


def child_exit(server, worker):  # noqa: ANN001
    """Forget a dead worker's live gauges so scrapes do not report it."""
    mark_worker_dead(worker.pid)
