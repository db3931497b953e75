"""The rerank stage the query path calls: a cross-encoder under a time budget.

Cost is predicted as ``fixed + per_unit * pairs * padded_tokens``, calibrated
at start and refreshed from every request, so a loaded machine reranks fewer
candidates rather than blowing the budget. Failures never reach the caller:
they come back as a degraded :class:`~app.rerank.RerankOutcome`.
"""

from __future__ import annotations

import logging
import statistics
import threading
import time
from typing import Sequence

from app.clock import elapsed_ms
from app.rerank import NoReranker, RerankOutcome, RerankStage
from app.rerank.runtime import Reranker
from app.settings import Settings

log = logging.getLogger(__name__)
#: Weight of the newest observation in the running per-unit cost.
COST_SMOOTHING = 0.2


class CostModel:
    """Milliseconds for ``units`` = pairs × padded tokens, plus a fixed overhead per batch."""

    def __init__(self, fixed_ms: float, per_unit_ms: float) -> None:
        self.fixed_ms = fixed_ms
        self.per_unit_ms = per_unit_ms
        self._lock = threading.Lock()

    def predict(self, units: int, batches: int) -> float:
        return self.fixed_ms * batches + self.per_unit_ms * units

    def observe(self, units: int, batches: int, elapsed_ms: float) -> None:
        """Blend in what one run actually cost (load on shared cores shifts it)."""
        if units <= 0:
            return
        seen = max(elapsed_ms - self.fixed_ms * batches, 0.0) / units
        with self._lock:
            self.per_unit_ms = (1 - COST_SMOOTHING) * self.per_unit_ms + COST_SMOOTHING * seen


def padded_units(lengths: Sequence[int], batch_size: int) -> tuple[int, int]:
    """``(pairs × padded tokens, batches)`` for length-sorted batches of ``lengths``."""
    ordered = sorted(lengths)
    units = 0
    batches = 0
    for start in range(0, len(ordered), batch_size):
        batch = ordered[start : start + batch_size]
        units += len(batch) * batch[-1]
        batches += 1
    return units, batches


def calibrate(reranker: Reranker, repeats: int = 3) -> CostModel:
    """Fit the cost model from a short and a long batch (medians of ``repeats``)."""
    width = reranker.encoder.max_length
    words = " ".join(["calibration"] * width)

    def timed(pairs: int, passage: str) -> tuple[int, int, float]:
        rows = reranker.encode("calibrate the reranker", [passage] * pairs)
        units, batches = padded_units([len(r[0]) for r in rows], reranker.batch_size)
        runs = []
        for _ in range(repeats):
            began = time.perf_counter()
            reranker.score_rows(rows)
            runs.append(elapsed_ms(began))
        return units, batches, statistics.median(runs)

    small_units, small_batches, small_ms = timed(1, "short")
    big_units, big_batches, big_ms = timed(reranker.batch_size, words)
    per_unit = max((big_ms - small_ms) / max(big_units - small_units, 1), 1e-6)
    fixed = max(small_ms - per_unit * small_units, 0.0) / small_batches
    return CostModel(fixed, per_unit)


class BudgetedRerankStage:
    """:class:`~app.rerank.RerankStage` over a :class:`Reranker` and a :class:`CostModel`."""

    def __init__(self, reranker: Reranker, cost: CostModel) -> None:
        self.reranker = reranker
        self.cost = cost
        self.model_version: str | None = reranker.model_version
        self.unavailable_reason: str | None = None

    def plan(self, lengths: Sequence[int], budget_ms: float) -> int:
        """How many leading candidates fit in ``budget_ms``."""
        fit = 0
        for n in range(1, len(lengths) + 1):
            units, batches = padded_units(lengths[:n], self.reranker.batch_size)
            if self.cost.predict(units, batches) > budget_ms:
                break
            fit = n
        return fit

    def rerank(self, query: str, passages: Sequence[str], budget_ms: float) -> RerankOutcome:
        began = time.perf_counter()
        try:
            rows = self.reranker.encode(query, passages)
            spent = elapsed_ms(began)
            n = self.plan([len(ids) for ids, _ in rows], budget_ms - spent)
            if n == 0:
                return RerankOutcome([], degraded=bool(passages), reason="budget" if passages else None)
            run_began = time.perf_counter()
            scores = self.reranker.score_rows(rows[:n])
            units, batches = padded_units([len(ids) for ids, _ in rows[:n]], self.reranker.batch_size)
            self.cost.observe(units, batches, elapsed_ms(run_began))
        except Exception as exc:  # noqa: BLE001 - the caller keeps the fused order
            log.warning("rerank failed: %s", exc)
            return RerankOutcome([], degraded=True, reason=f"error: {type(exc).__name__}")
        if elapsed_ms(began) > budget_ms:
            # Late answers are not used: the fused order goes out, flagged.
            return RerankOutcome([], degraded=True, reason="over_budget")
        if n < len(passages):
            return RerankOutcome(scores, degraded=True, reason="budget")
        return RerankOutcome(scores)


def load_rerank_stage(settings: Settings) -> RerankStage:
    """The configured stage; a missing or broken model gives :class:`~app.rerank.NoReranker`."""
    try:
        reranker = Reranker(
            settings.rerank_model_dir,
            variant=settings.rerank_variant,
            threads=settings.rerank_onnx_threads,
            max_length=settings.rerank_max_length,
            batch_size=settings.rerank_batch_size,
            query_max_tokens=settings.rerank_query_max_tokens,
        )
        return BudgetedRerankStage(reranker, calibrate(reranker))
    except Exception as exc:  # noqa: BLE001 - the service must start without a reranker
        log.warning("reranker unavailable (%s): answers will say degraded=rerank", exc)
        return NoReranker(f"model unavailable: {exc}")
