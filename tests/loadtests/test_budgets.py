"""The budget file parses, and the check flags misses, gaps and errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.settings import PROJECT_ROOT
from loadtests.budgets import BudgetFileError, check, load_budgets, passed, render_table, without_request_type
from loadtests.stats import percentile, summarize

BUDGETS = {
    "requests": {"hybrid": {"p50": 15, "p95": 40}},
    "stages": {"hybrid": {"embed": {"p95": 8}}},
}


def measured(p50: float = 9.0, p95: float = 30.0, embed_p95: float = 2.0, failures: int = 0) -> dict:
    return {
        "requests": {"hybrid": {"count": 100, "failures": failures, "p50": p50, "p95": p95, "rps": 120.0}},
        "stages": {"hybrid": {"embed": {"count": 100, "p50": 1.0, "p95": embed_p95}}},
    }


def test_the_shipped_budgets_parse_and_cover_the_issue_targets() -> None:
    budgets = load_budgets(PROJECT_ROOT / "loadtests" / "budgets.yaml")
    assert budgets["requests"]["hybrid"] == {"p50": 15, "p95": 40, "degraded_pct": 0}
    assert budgets["requests"]["hybrid+rerank"]["p95"] == 150
    assert {"embed", "lexical", "vector", "fuse"} <= set(budgets["stages"]["hybrid"])


def test_everything_within_budget_passes() -> None:
    rows = check(BUDGETS, measured())
    assert passed(rows)
    assert [(r.name, r.metric) for r in rows] == [
        ("hybrid", "p50"), ("hybrid", "p95"), ("hybrid/embed", "p95"), ("hybrid", "errors"),
    ]
    assert "MISS" not in render_table(rows, measured())


@pytest.mark.parametrize(
    "figures, failing",
    [
        ({"p95": 40.5}, ("hybrid", "p95")),
        ({"embed_p95": 9.0}, ("hybrid/embed", "p95")),
        ({"failures": 1}, ("hybrid", "errors")),
    ],
)
def test_a_miss_or_an_error_fails_the_run(figures: dict, failing: tuple[str, str]) -> None:
    rows = check(BUDGETS, measured(**figures))
    assert not passed(rows)
    assert [(r.name, r.metric) for r in rows if not r.ok] == [failing]
    assert "MISS" in render_table(rows)


def test_a_budgeted_figure_that_was_not_measured_fails() -> None:
    rows = check({"requests": {"hybrid+rerank": {"p95": 150}}}, measured())
    assert not passed(rows)
    assert "NOT MEASURED" in render_table(rows)


def test_too_many_degraded_answers_fail() -> None:
    budgets = {"requests": {"hybrid+rerank": {"p95": 150, "degraded_pct": 10}}}
    figures = {"requests": {"hybrid+rerank": {"count": 50, "failures": 0, "p95": 20.0, "degraded": 50}}}
    rows = check(budgets, figures)
    assert [(r.name, r.metric, r.measured) for r in rows if not r.ok] == [("hybrid+rerank", "degraded_pct", 100.0)]
    figures["requests"]["hybrid+rerank"]["degraded"] = 5
    assert passed(check(budgets, figures))


def test_errors_of_unbudgeted_request_types_fail_too() -> None:
    figures = measured()
    figures["requests"]["page"] = {"count": 3, "failures": 2, "p50": 1.0}
    assert [(r.name, r.metric) for r in check(BUDGETS, figures) if not r.ok] == [("page", "errors")]


@pytest.mark.parametrize(
    "text",
    [
        "requests: {hybrid: {p90: 10}}",
        "requests: {hybrid: {p50: -1}}",
        "requests: {hybrid: {degraded_pct: -1}}",
        "stages: {hybrid: {embed: {degraded_pct: 0}}}",
        "latency: {}",
        "stages: {hybrid: [1]}",
    ],
)
def test_malformed_budget_files_are_rejected(tmp_path: Path, text: str) -> None:
    path = tmp_path / "budgets.yaml"
    path.write_text(text)
    with pytest.raises(BudgetFileError):
        load_budgets(path)


def test_percentiles_are_nearest_rank() -> None:
    samples = [float(v) for v in range(1, 101)]
    assert percentile(samples, 50) == 50.0 and percentile(samples, 95) == 95.0 and percentile([3.0], 99) == 3.0
    summary = summarize(reversed(samples), failures=1, seconds=10.0)
    assert summary["p50"] == 50.0 and summary["rps"] == 10.0 and summary["failures"] == 1


def test_a_request_type_not_run_drops_out_of_the_check_but_a_run_one_still_counts() -> None:
    budgets = {
        "requests": {**BUDGETS["requests"], "hybrid+rerank": {"p95": 150}},
        "stages": {**BUDGETS["stages"], "hybrid+rerank": {"rerank": {"p95": 120}}},
    }
    assert not passed(check(budgets, measured()))  # hybrid+rerank budgeted but never measured
    trimmed = without_request_type(budgets, "hybrid+rerank")
    assert trimmed == BUDGETS
    assert passed(check(trimmed, measured()))
    assert not passed(check(trimmed, measured(p50=16.0)))
