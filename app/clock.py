"""The service's two clocks: wall time for records, a monotonic one for durations."""

from __future__ import annotations

import time
from datetime import datetime, timezone


def utc_now() -> str:
    """Now in UTC to the second (``2026-01-31T12:00:00Z``), as records and index metadata store it."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def elapsed_ms(started: float) -> float:
    """Milliseconds since ``started``, a :func:`time.perf_counter` value."""
    return (time.perf_counter() - started) * 1000
