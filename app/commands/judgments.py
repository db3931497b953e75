"""``hybrid-search judgments``: graded qrels from User Behavior Insights click logs."""

from __future__ import annotations

import argparse
from pathlib import Path

from app.settings import Settings


def register(subparsers: argparse._SubParsersAction) -> None:
    from app.evaluation.clicks import MODELS

    ju = subparsers.add_parser("judgments", help="derive TREC qrels from UBI query and event logs with a click model")
    ju.add_argument("--ubi-queries", required=True, type=Path, metavar="F", help="ubi_queries records, one JSON per line")
    ju.add_argument("--ubi-events", required=True, type=Path, metavar="F", help="ubi_events records, one JSON per line")
    ju.add_argument("--model", choices=MODELS, default="coec", help="coec (clicks over expected clicks, default) or ctr")
    ju.add_argument("--min-impressions", type=int, default=5, help="judge a document only after this many impressions (default 5)")
    ju.add_argument("--thresholds", default=None, help="scores that reach grades 1, 2, ...: comma-separated (default: coec 0.75,1.5; ctr 0.1,0.3)")
    ju.add_argument("--out", required=True, type=Path, help="TREC qrels to write; the queries go beside it (<out>.queries.jsonl)")
    ju.set_defaults(handler=run_judgments)


def run_judgments(args: argparse.Namespace, settings: Settings) -> int:
    from app.evaluation.clicks import THRESHOLDS, judge, write_qrels

    if args.min_impressions < 1:
        raise ValueError("--min-impressions must be at least 1")
    thresholds = THRESHOLDS[args.model]
    if args.thresholds:
        try:
            thresholds = tuple(sorted(float(t) for t in args.thresholds.split(",")))
        except ValueError:
            raise ValueError(f"--thresholds takes comma-separated numbers, not {args.thresholds!r}") from None
    judgments = judge(args.ubi_queries, args.ubi_events, args.model, args.min_impressions)
    if not judgments:
        raise ValueError(f"no (query, document) pair was shown {args.min_impressions} times: nothing to judge")
    qrels, queries = write_qrels(judgments, args.out, thresholds)
    print(f"{len(judgments)} judgments of {len({j.query for j in judgments})} queries ({args.model}, "
          f"thresholds {', '.join(f'{t:g}' for t in thresholds)}): {qrels}; queries: {queries}")
    return 0
