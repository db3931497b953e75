"""The rerank stage's interface, as the query path sees it.

The implementation (an ONNX cross-encoder with a time budget) lives in
``rerankers/``; the query path only needs :class:`RerankStage`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence


@dataclass(frozen=True)
class RerankOutcome:
    """Scores for the first ``len(scores)`` passages (possibly fewer than asked).

    ``degraded`` is set when the stage could not rerank everything it was asked
    to (budget, error, missing model); ``reason`` says why.
    """

    scores: list[float]
    degraded: bool = False
    reason: str | None = None


class RerankStage(Protocol):
    model_version: str

    def rerank(self, query: str, passages: Sequence[str], budget_ms: float) -> RerankOutcome:
        """Score ``(query, passage)`` pairs, best-first candidates first, within the budget."""
