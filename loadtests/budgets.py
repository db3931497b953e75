"""Budget vs measured: load ``budgets.yaml``, compare, print the table.

Pure functions over plain dicts, so the pass/fail logic is unit-tested on
synthetic figures. Measured figures come from the locustfile's summary::

    {"requests": {type: {"count", "failures", "p50", "p95", ...}},
     "stages":   {type: {stage: {"count", "p50", "p95", ...}}}}
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import yaml

_PERCENTILE_KEYS = frozenset({"p50", "p95", "p99"})
#: Request types may also cap the share of degraded answers (percent, 0 allowed).
_REQUEST_KEYS = _PERCENTILE_KEYS | {"degraded_pct"}


class BudgetFileError(ValueError):
    """``budgets.yaml`` does not have the documented shape."""


@dataclass(frozen=True)
class Row:
    """One line of the table: a budgeted figure, or an error count."""

    scope: str  # "request" or "stage"
    name: str  # request type, or "type/stage"
    metric: str  # p50, p95, p99, degraded_pct or errors
    budget: float
    measured: float | None  # None: not measured at all

    @property
    def ok(self) -> bool:
        return self.measured is not None and self.measured <= self.budget


def load_budgets(path: Path) -> dict[str, Any]:
    """Read and validate ``budgets.yaml``."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict) or set(data) - {"requests", "stages"}:
        raise BudgetFileError(f"{path}: top level must hold only 'requests' and 'stages'")
    for name, limits in (data.get("requests") or {}).items():
        _check_limits(path, f"requests.{name}", limits, _REQUEST_KEYS)
    for name, stages in (data.get("stages") or {}).items():
        if not isinstance(stages, dict):
            raise BudgetFileError(f"{path}: stages.{name} must map stage names to limits")
        for stage, limits in stages.items():
            _check_limits(path, f"stages.{name}.{stage}", limits, _PERCENTILE_KEYS)
    return data


def without_request_type(budgets: Mapping[str, Any], request_type: str) -> dict[str, Any]:
    """``budgets`` minus one request type's request and stage budgets."""
    return {
        section: {name: limits for name, limits in (entries or {}).items() if name != request_type}
        for section, entries in budgets.items()
    }


def _check_limits(path: Path, where: str, limits: Any, allowed: frozenset[str]) -> None:
    if not isinstance(limits, dict) or not limits or set(limits) - allowed:
        raise BudgetFileError(f"{path}: {where} must map some of {sorted(allowed)} to numbers")
    for key, value in limits.items():
        zero_ok = key == "degraded_pct" and value == 0
        if not isinstance(value, (int, float)) or isinstance(value, bool) or (value <= 0 and not zero_ok):
            raise BudgetFileError(f"{path}: {where}.{key} must be a positive number")


def check(budgets: Mapping[str, Any], measured: Mapping[str, Any]) -> list[Row]:
    """Every budgeted figure against its measurement, plus errors per request type."""
    rows: list[Row] = []
    requests = measured.get("requests", {})
    for name, limits in (budgets.get("requests") or {}).items():
        seen = dict(requests.get(name, {}))
        if seen.get("count"):
            seen["degraded_pct"] = 100.0 * seen.get("degraded", 0) / seen["count"]
        for metric, budget in limits.items():
            rows.append(Row("request", name, metric, float(budget), seen.get(metric)))
    for name, stages in (budgets.get("stages") or {}).items():
        seen_stages = measured.get("stages", {}).get(name, {})
        for stage, limits in stages.items():
            seen = seen_stages.get(stage, {})
            for metric, budget in limits.items():
                rows.append(Row("stage", f"{name}/{stage}", metric, float(budget), seen.get(metric)))
    # Any error response fails the run, budgeted request type or not.
    for name, seen in sorted(requests.items()):
        rows.append(Row("request", name, "errors", 0.0, float(seen.get("failures", 0))))
    return rows


def passed(rows: list[Row]) -> bool:
    return all(row.ok for row in rows)


def render_table(rows: list[Row], measured: Mapping[str, Any] | None = None) -> str:
    """A fixed-width table: budget, measured, verdict; then throughput per type."""
    lines = [f"{'scope':<8} {'name':<28} {'metric':<12} {'budget':>9} {'measured':>9}  result"]
    lines.append("-" * len(lines[0]))
    for row in rows:
        shown = "-" if row.measured is None else f"{row.measured:.1f}" if row.metric != "errors" else f"{row.measured:.0f}"
        budget = f"{row.budget:.0f}" if row.metric == "errors" else f"{row.budget:.1f}"
        verdict = "ok" if row.ok else ("NOT MEASURED" if row.measured is None else "MISS")
        lines.append(f"{row.scope:<8} {row.name:<28} {row.metric:<12} {budget:>9} {shown:>9}  {verdict}")
    if measured:
        lines.append("")
        lines.append(f"{'request type':<20} {'count':>7} {'req/s':>8} {'p50':>7} {'p95':>7} {'p99':>7} {'degraded':>9}")
        for name, seen in sorted(measured.get("requests", {}).items()):
            lines.append(
                f"{name:<20} {seen.get('count', 0):>7.0f} {seen.get('rps', 0):>8.1f} {seen.get('p50', 0):>7.1f} "
                f"{seen.get('p95', 0):>7.1f} {seen.get('p99', 0):>7.1f} {seen.get('degraded', 0):>9.0f}"
            )
        if "total_rps" in measured:
            lines.append(f"{'all':<20} {measured.get('total_count', 0):>7.0f} {measured['total_rps']:>8.1f}")
    return "\n".join(lines)
