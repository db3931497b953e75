"""``hybrid-search eval | tune | compare``: the relevance workbench commands.

All three take BEIR directories by path (any collection, seen or not), index
them into a cached embedded index and query them through the real query path.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from tqdm import tqdm

from app.clock import utc_now
from app.fusion import DEFAULT_RANK_CONSTANT, METHODS
from app.rerank import NO_RERANKER, RerankStage
from app.settings import Settings

DEFAULT_SYSTEMS = "lexical,vector,hybrid-rrf,hybrid-linear,hybrid-rerank"
DEFAULT_METRICS = "ndcg@10,mrr@10,recall@100,hit@5,map"
#: Evaluation measures quality, so the reranker gets all the time it needs.
EVAL_RERANK_BUDGET_MS = 600_000.0


def register(subparsers: argparse._SubParsersAction) -> None:
    ev = subparsers.add_parser("eval", help="evaluate retrieval systems on a judged BEIR collection")
    ev.add_argument("--dataset", required=True, type=Path, help="BEIR directory (corpus.jsonl, queries.jsonl, qrels/)")
    ev.add_argument("--split", default="test", help="qrels split (default: test)")
    source = ev.add_mutually_exclusive_group()
    source.add_argument("--profile", help="fusion profile name (profiles/NAME.json)")
    source.add_argument("--config", type=Path, help="fusion profile JSON file")
    ev.add_argument("--systems", default=DEFAULT_SYSTEMS, help=f"comma-separated (default: {DEFAULT_SYSTEMS}; also: profile, lucene-bm25)")
    ev.add_argument("--metrics", default=DEFAULT_METRICS, help=f"comma-separated (default: {DEFAULT_METRICS})")
    ev.add_argument("--qrels", type=Path, help="judgments to use instead of the split's (TREC, TSV or CSV)")
    ev.add_argument("--json", type=Path, metavar="OUT", help="also write the results as JSON")
    ev.set_defaults(handler=run_eval)

    tu = subparsers.add_parser("tune", help="sweep fusion weights over cached legs; in-sample and cross-validated scores")
    tu.add_argument("--dataset", required=True, type=Path, action="append", help="BEIR directory (repeat to tune on several)")
    tu.add_argument("--split", default="test")
    tu.add_argument("--method", required=True, choices=METHODS)
    tu.add_argument("--metric", default="ndcg@10")
    tu.add_argument("--folds", type=int, default=5)
    tu.add_argument("--depth", type=int, default=None, help="candidates per leg (default: HYBRID_DEFAULT_DEPTH)")
    tu.add_argument("--seed", type=int, default=0, help="fold assignment seed")
    tu.add_argument("--out", required=True, type=Path, help="profile to write, e.g. profiles/NAME.json")
    tu.add_argument("--report", type=Path, help="directory for tune.md and weight_curve.png")
    tu.set_defaults(handler=run_tune)

    co = subparsers.add_parser("compare", help="compare two profiles query by query, with a significance test")
    co.add_argument("--dataset", required=True, type=Path, action="append", help="BEIR directory (repeatable)")
    co.add_argument("--split", default="test")
    co.add_argument("--a", required=True, help="profile name, profile JSON file, or 'settings' (the configured defaults)")
    co.add_argument("--b", required=True, help="profile name, profile JSON file, or 'settings'")
    co.add_argument("--metrics", default="ndcg@10,recall@100")
    co.add_argument("--report", type=Path, help="directory for compare.md and delta histograms")
    co.set_defaults(handler=run_compare)


# --- eval ----------------------------------------------------------------------


def run_eval(args: argparse.Namespace, settings: Settings) -> int:
    from app.evaluation.judgments import load_beir, load_qrels
    from app.evaluation.metrics import parse_metrics
    from app.evaluation.reports import table
    from app.evaluation.systems import evaluate_systems, parse_systems

    metrics = parse_metrics(args.metrics)
    systems = parse_systems(args.systems)
    dataset = load_beir(args.dataset, args.split)
    if args.qrels:
        dataset = type(dataset)(dataset.root, dataset.split, dataset.queries, load_qrels(args.qrels))
    label, name, base = profile_spec(settings, args.profile or (str(args.config) if args.config else "settings"))
    collection = open_index(dataset, settings)
    results = evaluate_systems(collection, systems, base, metrics, reranker=eval_reranker(settings, systems),
                               profile=name)
    print(f"{dataset.name}: {len(dataset.qrels)} judged queries; fusion from {label}")
    rows = []
    for system, scores in results.items():
        if isinstance(scores, str):
            rows.append([system, *(["n/a"] * len(metrics)), f"unavailable: {scores}"])
        else:
            rows.append([system, *(scores[str(m)] for m in metrics), scores.get("_note", "")])
    print(table(["system", *map(str, metrics), "note"], rows))
    if args.json:
        payload = {
            "dataset": dataset.name,
            "queries": len(dataset.qrels),
            "systems": {
                system: ({str(m): None for m in metrics} | {"unavailable": scores}) if isinstance(scores, str)
                else {str(m): scores[str(m)] for m in metrics}
                for system, scores in results.items()
            },
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    return 0


# --- tune ----------------------------------------------------------------------


def run_tune(args: argparse.Namespace, settings: Settings) -> int:
    from app.evaluation.judgments import file_digest, load_beir
    from app.evaluation.legs_cache import leg_runs
    from app.evaluation.metrics import parse_metric
    from app.evaluation.reports import describe_config, tune_summary, write_tune_report
    from app.evaluation.tuning import LegMatrix, tune_fusion
    from app.profiles import save_profile

    metric = parse_metric(args.metric)
    depth = args.depth or settings.default_depth
    if args.folds < 2:
        raise ValueError("--folds must be at least 2")
    datasets = [load_beir(d, args.split) for d in args.dataset]
    matrices = []
    for dataset in datasets:
        collection = open_index(dataset, settings)
        runs = leg_runs(collection, dataset.judged_queries(), depth)
        matrices.append(LegMatrix.build(runs, dataset.qrels, depth))
    result = tune_fusion(matrices, [d.name for d in datasets], args.method, metric, args.folds, args.seed,
                         progress=lambda xs: tqdm(xs, desc="sweep", unit="config", leave=False))
    best = result.best_config
    print(tune_summary(result))
    print(f"in-sample best: {describe_config(best)} = {result.means[result.best]:.4f}; "
          f"{args.folds}-fold out-of-fold = {result.cv.score:.4f}; untuned rrf k={DEFAULT_RANK_CONSTANT} = {result.reference_score:.4f}")
    provenance: dict[str, Any] = {
        "dataset": ",".join(d.name for d in datasets),
        "datasets": [{"name": d.name, "path": str(d.root), "split": d.split, "corpus_sha256": file_digest(d.corpus_path)}
                     for d in datasets],
        "metric": str(metric),
        "method": args.method,
        "date": utc_now(),
        "configurations": len(result.configs),
        "in_sample_score": round(float(result.means[result.best]), 6),
        "cv_score": round(result.cv.score, 6),
        "cv_folds": args.folds,
        "cv_seed": args.seed,
        "untuned_rrf_score": round(result.reference_score, 6),
        "per_collection": {
            name: {"in_sample": round(v, 6), "cv": round(result.per_collection(result.cv.oof_scores)[name], 6)}
            for name, v in result.per_collection(result.scores[result.best]).items()
        },
    }
    if result.loco:
        provenance["leave_one_collection_out"] = {
            result.collections[g]: round(s, 6) for g, (_, s) in result.loco.items()
        }
    profile = save_profile(args.out, best, provenance)
    print(f"wrote {args.out} (profile {profile.name!r}, version {profile.version})")
    if args.report:
        print(f"report: {write_tune_report(result, args.report, args.out)}")
    return 0


# --- compare -------------------------------------------------------------------


def run_compare(args: argparse.Namespace, settings: Settings) -> int:
    from app.evaluation.compare import compare
    from app.evaluation.judgments import load_beir
    from app.evaluation.metrics import evaluate_rankings, parse_metrics
    from app.evaluation.reports import (
        compare_summary,
        movers_table,
        write_compare_report,
    )
    from app.evaluation.systems import (
        PROFILE_SYSTEM,
        Unavailable,
        define_system,
        run_system,
    )

    metrics = parse_metrics(args.metrics)
    a_label, a_name, a_config = profile_spec(settings, args.a)
    b_label, b_name, b_config = profile_spec(settings, args.b)
    size = max(max((m.k or a_config.depth) for m in metrics), 1)
    reranker = eval_reranker(settings, ["hybrid-rerank"] if (a_config.rerank_enabled or b_config.rerank_enabled) else [])
    comparisons = []
    for directory in args.dataset:
        dataset = load_beir(directory, args.split)
        collection = open_index(dataset, settings)
        queries = dataset.judged_queries()
        per_side = []
        for label, name, config in ((a_label, a_name, a_config), (b_label, b_name, b_config)):
            run = run_system(collection, define_system(PROFILE_SYSTEM, config), queries, size, reranker=reranker, profile=name)
            if isinstance(run, Unavailable):
                raise ValueError(f"{label} cannot run here: {run.reason}")
            per_side.append(evaluate_rankings(dataset.qrels, run.rankings, metrics))
        for m in metrics:
            c = compare(per_side[0][str(m)], per_side[1][str(m)], queries, metric=str(m), a_name=a_label, b_name=b_label)
            comparisons.append((dataset.name, c))
            print(f"\n{dataset.name}\n{compare_summary(c)}\n\nbiggest movers ({m}):\n{movers_table(c)}")
    if args.report:
        print(f"\nreport: {write_compare_report(comparisons, args.report)}")
    return 0


# --- shared --------------------------------------------------------------------


def profile_spec(settings: Settings, spec: str) -> tuple[str, str | None, Any]:
    """``(label, profile name or None, FusionConfig)`` for a name, a JSON file, or ``settings``."""
    from app.profiles import default_config, load_profile, profile_from_json, resolve

    if spec == "settings":
        name, config = resolve(settings)
        return (f"profile {name}" if name else "settings defaults"), name, config
    path = Path(spec)
    if spec.endswith(".json") or path.is_file():
        if not path.is_file():
            raise ValueError(f"no profile file {path}")
        record = json.loads(path.read_text(encoding="utf-8"))
        return str(path), None, profile_from_json({**record, "name": path.stem}, default_config(settings)).fusion
    return f"profile {spec}", spec, load_profile(settings, spec).fusion


def open_index(dataset: Any, settings: Settings) -> Any:
    """The dataset's cached index, built with the configured encoder."""
    from app.components import Components
    from app.evaluation.collection import open_collection

    return open_collection(dataset, Components(settings).batch_encoder, settings.replace(rerank_budget_ms=EVAL_RERANK_BUDGET_MS))


def eval_reranker(settings: Settings, systems: list[str]) -> RerankStage:
    """The reranker when a system needs one (:class:`NoReranker` with why, if it is not installed)."""
    if not any(s == "hybrid-rerank" for s in systems):
        return NO_RERANKER
    from app.components import make_reranker

    return make_reranker(settings.replace(rerank_enabled=True))
