"""Paired comparison of two systems on the same judged queries.

Per-query wins, losses and ties, the biggest movers with their query text, and
the mean difference with a two-sided paired randomization (sign-flip) test:
under "A and B are exchangeable", each query's difference is equally likely to
have either sign.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np

#: Differences smaller than this are ties (metric values are sums of floats).
TIE_EPSILON = 1e-9


@dataclass(frozen=True)
class Mover:
    query_id: str
    query: str
    a: float
    b: float

    @property
    def delta(self) -> float:
        return self.b - self.a


@dataclass(frozen=True)
class Comparison:
    """B relative to A on one metric; positive deltas mean B is better."""

    metric: str
    a_name: str
    b_name: str
    query_ids: list[str]
    a: np.ndarray
    b: np.ndarray
    p_value: float
    movers_up: list[Mover]
    movers_down: list[Mover]

    @property
    def deltas(self) -> np.ndarray:
        return self.b - self.a

    @property
    def wins(self) -> int:
        return int((self.deltas > TIE_EPSILON).sum())

    @property
    def losses(self) -> int:
        return int((self.deltas < -TIE_EPSILON).sum())

    @property
    def ties(self) -> int:
        return len(self.query_ids) - self.wins - self.losses

    @property
    def mean_difference(self) -> float:
        return float(self.deltas.mean()) if len(self.query_ids) else 0.0


def paired_randomization_test(deltas: np.ndarray, permutations: int = 10000, seed: int = 0) -> float:
    """Two-sided p-value of the mean paired difference (sign flips, +1 smoothed)."""
    deltas = np.asarray(deltas, dtype=np.float64)
    if len(deltas) == 0 or not np.any(np.abs(deltas) > TIE_EPSILON):
        return 1.0
    observed = abs(deltas.mean())
    rng = np.random.default_rng(seed)
    extreme = 0
    # Chunks keep memory flat for large query sets.
    for start in range(0, permutations, 2000):
        n = min(2000, permutations - start)
        signs = rng.choice((-1.0, 1.0), size=(n, len(deltas)))
        extreme += int((np.abs((signs * deltas).mean(axis=1)) >= observed - 1e-12).sum())
    return (extreme + 1) / (permutations + 1)


def compare(
    a: Mapping[str, float],
    b: Mapping[str, float],
    queries: Mapping[str, str],
    *,
    metric: str,
    a_name: str = "A",
    b_name: str = "B",
    movers: int = 5,
    permutations: int = 10000,
    seed: int = 0,
) -> Comparison:
    """Compare per-query values of the same metric over the queries both systems have."""
    query_ids = sorted(set(a) & set(b))
    va = np.array([a[q] for q in query_ids], dtype=np.float64)
    vb = np.array([b[q] for q in query_ids], dtype=np.float64)
    deltas = vb - va
    order = np.argsort(deltas, kind="stable")
    def mover(i: int) -> Mover:
        return Mover(query_ids[i], queries.get(query_ids[i], ""), float(va[i]), float(vb[i]))
    up = [mover(i) for i in order[::-1][:movers] if deltas[i] > TIE_EPSILON]
    down = [mover(i) for i in order[:movers] if deltas[i] < -TIE_EPSILON]
    return Comparison(metric, a_name, b_name, query_ids, va, vb,
                      paired_randomization_test(deltas, permutations, seed), up, down)
