"""Latency samples → percentiles, the shape the budget check reads.

The locustfile keeps exact samples (Locust's own percentiles are rounded to
whole milliseconds, too coarse for sub-millisecond stages) and writes one
summary JSON; ``run.py`` checks it against ``budgets.yaml``.
"""

from __future__ import annotations

import math
from typing import Iterable, Sequence

PERCENTILES = (50, 95, 99)


def percentile(ordered: Sequence[float], p: float) -> float:
    """Nearest-rank percentile of an ascending sequence (as Locust computes it)."""
    if not ordered:
        raise ValueError("no samples")
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def summarize(samples: Iterable[float], failures: int = 0, seconds: float = 0.0) -> dict[str, float]:
    """Count, failures, mean, p50/p95/p99 and rate of one series of milliseconds."""
    ordered = sorted(samples)
    summary: dict[str, float] = {"count": len(ordered), "failures": failures}
    if ordered:
        summary["mean"] = round(sum(ordered) / len(ordered), 3)
        for p in PERCENTILES:
            summary[f"p{p}"] = round(percentile(ordered, p), 3)
    if seconds > 0:
        summary["rps"] = round(len(ordered) / seconds, 2)
    return summary
