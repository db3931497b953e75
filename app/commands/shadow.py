"""``hybrid-search shadow``: two systems on a query log, compared without judgments."""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

from app.settings import Settings

KEYWORD_PREFIX = "keyword:"


def register(subparsers: argparse._SubParsersAction) -> None:
    sh = subparsers.add_parser("shadow", help="compare two systems on a query log (Jaccard, RBO, overlap), no judgments needed")
    sh.add_argument("--queries", required=True, type=Path, metavar="LOG",
                    help='JSONL of {"query", "tenant"?, "principals"?, "count"?}, or UBI ubi_queries records')
    sh.add_argument("--a", required=True, metavar="SYSTEM",
                    help="a profile name or JSON file, 'settings', 'lexical', 'vector', or keyword:INDEX (today's keyword search)")
    sh.add_argument("--b", required=True, metavar="SYSTEM", help="as --a")
    sh.add_argument("--k", type=int, default=10, help="top k compared (default 10)")
    sh.add_argument("--tenant", default="default", help="caller of queries that name none")
    sh.add_argument("--principal", "-p", action="append", default=[], dest="principals", help="their principals (repeatable)")
    sh.add_argument("--report", type=Path, metavar="DIR", help="write shadow.md, rbo90.png and shadow.json there")
    sh.add_argument("--json", type=Path, metavar="OUT", help="write the per-query and aggregate figures as JSON")
    sh.add_argument("--show", type=int, default=10, help="queries shown side by side (default 10)")
    sh.set_defaults(handler=run_shadow)


def run_shadow(args: argparse.Namespace, settings: Settings) -> int:
    from app.components import Components
    from app.evaluation.reports import table
    from app.evaluation.shadow import load_query_log, service_ranker, shadow, write_shadow_report

    if not 1 <= args.k <= settings.max_depth:
        raise ValueError(f"--k must be between 1 and {settings.max_depth}")
    queries = load_query_log(args.queries, args.tenant, args.principals)
    if not queries:
        raise ValueError(f"{args.queries} holds no queries")
    parts = Components(settings)
    sides = []
    for spec in (args.a, args.b):
        system, profile = shadow_system(spec, settings, parts.backend)
        sides.append((spec, service_ranker(parts.service, settings, system, profile)))
    report = shadow(queries, sides[0], sides[1], args.k)
    print(f"{len(queries)} distinct queries ({sum(q.count for q in queries)} asked), top {args.k}: {args.a} vs {args.b}")
    print(table(["measure", "mean (weighted by count)"], [[n, f"{v:.3f}"] for n, v in report.aggregate().items()]))
    print("\nmost changed (lowest RBO90):")
    print(table(["query", "tenant", "asked", "rbo90", "jaccard", f"top {args.a}", f"top {args.b}"], [
        [q.query.text[:60], q.query.tenant, q.query.count, f"{q.measures['rbo90']:.2f}", f"{q.measures['jaccard']:.2f}",
         q.a[0] if q.a else "", q.b[0] if q.b else ""]
        for q in report.most_changed(args.show)
    ]))
    payload = report.to_json()
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    if args.report:
        path = write_shadow_report(report, args.report, args.show)
        (args.report / "shadow.json").write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
        print(f"\nreport: {path}")
    return 0


def shadow_system(spec: str, settings: Settings, backend: object):
    """The :class:`~app.evaluation.systems.System` (and profile name) a ``--a``/``--b`` names."""
    from app.backends.embedded import EmbeddedBackend
    from app.commands.evaluate import profile_spec
    from app.evaluation.systems import PROFILE_SYSTEM, define_system
    from app.profiles import resolve

    if spec.startswith(KEYWORD_PREFIX):
        if not isinstance(backend, EmbeddedBackend):
            raise ValueError(
                "keyword:INDEX needs the embedded backend here (its lexical leg is the keyword search); "
                "on OpenSearch compare against 'lexical', BM25 over the imported index"
            )
        # The keyword search being replaced is the lexical leg alone, under its own label.
        return replace(define_system("lexical", resolve(settings)[1]), name=spec), None
    if spec in ("lexical", "vector"):
        return define_system(spec, resolve(settings)[1]), None
    _, name, config = profile_spec(settings, spec)
    return define_system(PROFILE_SYSTEM, config), name
