"""The budgeted stage: never raises, degrades and says so."""

from __future__ import annotations

from pathlib import Path

from app.rerank import NoReranker
from app.rerank.stage import (
    BudgetedRerankStage,
    CostModel,
    load_rerank_stage,
    padded_units,
)
from app.settings import Settings

SHIPPED = Settings().rerank_model_dir

PASSAGES = [f"passage number {i} about wings, lift and drag at high speed " * 3 for i in range(20)]


def test_missing_model_dir_degrades_instead_of_raising(tmp_path: Path) -> None:
    stage = load_rerank_stage(Settings(rerank_model_dir=tmp_path / "nothing-here"))
    assert isinstance(stage, NoReranker)
    outcome = stage.rerank("query", PASSAGES, budget_ms=100)
    assert outcome.degraded and outcome.scores == [] and "unavailable" in outcome.reason


def test_tiny_budget_degrades_and_flags() -> None:
    stage = load_rerank_stage(Settings(rerank_model_dir=SHIPPED))
    assert isinstance(stage, BudgetedRerankStage)
    outcome = stage.rerank("lift at high speed", PASSAGES, budget_ms=0.01)
    assert outcome.degraded and outcome.reason in {"budget", "over_budget"}
    assert len(outcome.scores) < len(PASSAGES)


def test_generous_budget_scores_everything() -> None:
    stage = load_rerank_stage(Settings(rerank_model_dir=SHIPPED))
    outcome = stage.rerank("lift at high speed", PASSAGES, budget_ms=60_000)
    assert not outcome.degraded and len(outcome.scores) == len(PASSAGES)


def test_plan_takes_the_prefix_that_fits() -> None:
    stage = BudgetedRerankStage.__new__(BudgetedRerankStage)
    stage.cost = CostModel(fixed_ms=1.0, per_unit_ms=0.01)

    class Fake:
        batch_size = 4

    stage.reranker = Fake()
    lengths = [100] * 10
    # n pairs of 100 tokens: ceil(n/4) ms fixed + n ms of work.
    assert stage.plan(lengths, budget_ms=7.0) == 5
    assert stage.plan(lengths, budget_ms=0.5) == 0
    assert padded_units([10, 30, 20, 5], batch_size=2) == (2 * 10 + 2 * 30, 2)


def test_a_failing_model_degrades_instead_of_raising() -> None:
    stage = load_rerank_stage(Settings(rerank_model_dir=SHIPPED))

    def broken(rows):
        raise RuntimeError("session lost")

    stage.reranker.score_rows = broken
    outcome = stage.rerank("q", PASSAGES, budget_ms=1000)
    assert outcome.degraded and outcome.scores == [] and outcome.reason.startswith("error")
