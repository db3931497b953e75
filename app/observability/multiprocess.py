"""Prometheus multiprocess mode for gunicorn: the shared metrics directory.

prometheus-client picks its storage when it is first imported, by looking for
``PROMETHEUS_MULTIPROC_DIR``; so this module must not import it, and
:func:`prepare_metrics_dir` must run in the gunicorn master before the app is
preloaded (``app/gunicorn_conf.py`` calls it at import).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

ENV = "PROMETHEUS_MULTIPROC_DIR"


def prepare_metrics_dir(configured: Path | None = None) -> Path:
    """Create (or empty) the directory worker processes write metrics into.

    Files left by an earlier run would be summed into this run's counters, so
    every ``*.db`` file in it is removed. Without ``configured`` a fresh
    directory under the system temp dir is used.
    """
    given = configured or (Path(os.environ[ENV]) if os.environ.get(ENV) else None)
    path = Path(given) if given else Path(tempfile.mkdtemp(prefix="hybrid-metrics-"))
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink(missing_ok=True)
    os.environ[ENV] = str(path)
    return path


def mark_worker_dead(pid: int) -> None:
    """Drop a dead worker's live gauges (gunicorn's ``child_exit`` hook)."""
    if os.environ.get(ENV):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)
