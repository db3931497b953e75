"""gunicorn configuration for a 2-core machine.

One worker per core with a few threads each: the hot path is numpy, tantivy
and onnxruntime, which release the GIL, and each ONNX session is held to one
intra-op thread so workers do not oversubscribe the cores.
"""

import multiprocessing
import os

workers = int(os.environ.get("HYBRID_GUNICORN_WORKERS", multiprocessing.cpu_count()))
threads = int(os.environ.get("HYBRID_GUNICORN_THREADS", 4))
worker_class = "gthread"
preload_app = True
timeout = 30
graceful_timeout = 20
keepalive = 5
limit_request_line = 8190
limit_request_fields = 100
# BLAS threads would fight the ONNX and HNSW threads for the same two cores.
raw_env = ["OMP_NUM_THREADS=1", "OPENBLAS_NUM_THREADS=1", "MKL_NUM_THREADS=1"]


def post_fork(server, worker):  # noqa: ANN001 - gunicorn's hook signature
    """Hold BLAS to one thread in each worker (numpy was imported pre-fork)."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)


def post_worker_init(worker):  # noqa: ANN001
    """Build the ONNX sessions in the worker and warm up before taking traffic."""
    worker.wsgi.extensions["hybrid"].warm_up()
