"""Shadow comparison: two systems on the queries users actually type, no judgments needed.

Each logged query runs as its caller (tenant + principals) through the real
query path, paged like a client, once per system; :mod:`app.evaluation.pairwise`
says how far apart the two top-k lists are. Aggregates are weighted by the
query's ``count`` (how often it was asked), so a frequent query weighs more.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from tqdm import tqdm

from app.api.schemas import load_search_request
from app.auth import Caller
from app.evaluation.json_lines import json_records
from app.evaluation.pairwise import MEASURES, compare
from app.evaluation.systems import System, fit_query, search_request
from app.search_service import SearchService
from app.settings import Settings

#: Personas of logged queries that name none (``--tenant`` / ``--principal``).
DEFAULT_TENANT = "default"


@dataclass(frozen=True)
class LoggedQuery:
    """One distinct query of the log, its caller, and how often it was asked."""

    text: str
    tenant: str
    principals: tuple[str, ...] = ()
    count: int = 1


@dataclass
class QueryComparison:
    query: LoggedQuery
    a: list[str]
    b: list[str]
    measures: dict[str, float] = field(default_factory=dict)


@dataclass
class ShadowReport:
    a: str
    b: str
    k: int
    queries: list[QueryComparison]

    def aggregate(self) -> dict[str, float]:
        """Each measure's mean over the queries, weighted by their counts."""
        weight = sum(q.query.count for q in self.queries)
        if not weight:
            return {name: 0.0 for name in MEASURES}
        return {name: sum(q.measures[name] * q.query.count for q in self.queries) / weight for name in MEASURES}

    def most_changed(self, n: int = 10) -> list[QueryComparison]:
        """The queries whose top lists differ most (lowest RBO at p = 0.9, then most asked)."""
        return sorted(self.queries, key=lambda q: (q.measures["rbo90"], -q.query.count, q.query.text))[:n]

    def to_json(self) -> dict[str, Any]:
        return {
            "a": self.a, "b": self.b, "k": self.k,
            "queries": len(self.queries), "asked": sum(q.query.count for q in self.queries),
            "aggregate": self.aggregate(),
            "per_query": [
                {"query": q.query.text, "tenant": q.query.tenant, "count": q.query.count, "a": q.a, "b": q.b, **q.measures}
                for q in self.queries
            ],
        }


def load_query_log(path: Path, tenant: str = DEFAULT_TENANT, principals: Sequence[str] = ()) -> list[LoggedQuery]:
    """Distinct queries of a JSONL log, counts summed.

    Lines are ``{"query", "tenant"?, "principals"?, "count"?}`` or UBI
    ``ubi_queries`` records (``user_query``; the caller from
    ``query_attributes.tenant`` / ``.principals`` when present). Queries that
    name no caller run as ``tenant`` with ``principals``.
    """
    counts: dict[tuple[str, str, tuple[str, ...]], int] = {}
    for number, record in json_records(path):
        attributes = record.get("query_attributes") or {}
        text = record.get("query", record.get("user_query", record.get("text")))
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"{path}:{number}: no query text (query, user_query or text)")
        who = record.get("tenant", attributes.get("tenant", tenant))
        granted = record.get("principals", attributes.get("principals", list(principals)))
        count = record.get("count", 1)
        if not isinstance(who, str) or not isinstance(granted, list) or isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ValueError(f"{path}:{number}: tenant must be text, principals a list, count a positive integer")
        key = (" ".join(text.split()), who, tuple(sorted(map(str, granted))))
        counts[key] = counts.get(key, 0) + count
    return [LoggedQuery(text, who, granted, count) for (text, who, granted), count in counts.items()]


#: A system as the shadow runs it: query → its ranked document ids (top k).
Ranker = Callable[[LoggedQuery, int], list[str]]


def service_ranker(service: SearchService, settings: Settings, system: System, profile: str | None) -> Ranker:
    """A ranker sending each query through the query path as its caller, paged like a client."""

    def rank(query: LoggedQuery, k: int) -> list[str]:
        caller = Caller(subject="shadow", tenant=query.tenant, principals=frozenset(query.principals))
        body = search_request(system, fit_query(query.text, settings.max_query_chars), k, profile)
        ids: list[str] = []
        for start in range(0, k, settings.max_page_size):
            request = load_search_request({**body, "from": start, "size": min(settings.max_page_size, k - start)}, settings)
            answer = service.search(request, caller)
            ids += [hit["id"] for hit in answer["hits"]]
            if start + settings.max_page_size >= answer["total"]:
                break
        return ids[:k]

    return rank


def shadow(
    queries: Iterable[LoggedQuery], a: tuple[str, Ranker], b: tuple[str, Ranker], k: int, progress: bool = True
) -> ShadowReport:
    """Both systems on every query; the pairwise measures of their top ``k``."""
    compared = []
    queries = list(queries)
    for query in tqdm(queries, desc=f"shadow {a[0]} vs {b[0]}", unit="q", disable=not progress, leave=False):
        first, second = a[1](query, k), b[1](query, k)
        compared.append(QueryComparison(query, first, second, compare(first, second)))
    return ShadowReport(a[0], b[0], k, compared)


def write_shadow_report(report: ShadowReport, out_dir: Path, shown: int = 10) -> Path:
    """``shadow.md`` (aggregates, the most changed queries side by side) and ``rbo90.png``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from app.evaluation.reports import table

    out_dir.mkdir(parents=True, exist_ok=True)
    figure, axes = plt.subplots(figsize=(6, 3.5))
    axes.hist([q.measures["rbo90"] for q in report.queries], bins=20, range=(0, 1), color="#4c72b0")
    axes.set_xlabel(f"RBO (p = 0.9) of the top {report.k}, {report.a} vs {report.b}")
    axes.set_ylabel("queries")
    figure.tight_layout()
    figure.savefig(out_dir / "rbo90.png", dpi=120)
    plt.close(figure)
    lines = [f"# Shadow comparison: {report.a} vs {report.b}", "",
             f"{len(report.queries)} distinct queries ({sum(q.query.count for q in report.queries)} asked), top {report.k}.",
             "Means weighted by how often each query was asked.", "",
             table(["measure", "mean"], [[name, f"{value:.3f}"] for name, value in report.aggregate().items()]), "",
             "![RBO histogram](rbo90.png)", "", f"## The {shown} queries that change most", ""]
    for q in report.most_changed(shown):
        lines += [f"### {q.query.text!r} (tenant {q.query.tenant}, asked {q.query.count}×): "
                  f"RBO90 {q.measures['rbo90']:.2f}, Jaccard {q.measures['jaccard']:.2f}", "",
                  table(["rank", report.a, report.b], [[i + 1, x, y] for i, (x, y) in enumerate(_padded(q.a, q.b))]), ""]
    path = out_dir / "shadow.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _padded(a: Sequence[str], b: Sequence[str]) -> list[tuple[str, str]]:
    n = max(len(a), len(b))
    return [(a[i] if i < len(a) else "", b[i] if i < len(b) else "") for i in range(n)]
