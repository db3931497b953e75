"""The rerank stage as the query path sees it: the interface and "no reranker".

:mod:`app.rerank.stage` is the budgeted ONNX cross-encoder stage and
:mod:`app.rerank.runtime` its onnxruntime session; training and export live in
``reranker_study/``, which serving never imports.
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
    #: The cross-encoder's version; ``None`` when there is no model.
    model_version: str | None
    #: Why there is no model to rerank with; ``None`` when there is one.
    unavailable_reason: str | None

    def rerank(self, query: str, passages: Sequence[str], budget_ms: float) -> RerankOutcome:
        """Score ``(query, passage)`` pairs, best-first candidates first, within the budget."""


class NoReranker:
    """The one form of "no reranker" (disabled, not installed, model missing or
    broken): an answer that asks for reranking is served unreranked, degraded,
    with the reason."""

    model_version = None

    def __init__(self, reason: str) -> None:
        self.unavailable_reason: str | None = reason

    def rerank(self, query: str, passages: Sequence[str], budget_ms: float) -> RerankOutcome:
        return RerankOutcome([], degraded=True, reason=self.unavailable_reason)


#: What a service built without a reranker stage has.
NO_RERANKER: RerankStage = NoReranker("no reranker stage is configured")
