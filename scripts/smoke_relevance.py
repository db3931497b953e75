"""Smoke test of relevance on a BEIR collection: lexical, vector and hybrid RRF nDCG@10.

    python scripts/smoke_relevance.py --dataset ../shared/datasets/cranfield

Ingests the corpus under one tenant readable by all (cached index, see
``app.evaluation.collection``) and runs the judged queries through the real
query path. ``hybrid-search eval`` is the full version of this.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from app.components import Components
from app.evaluation.collection import open_collection
from app.evaluation.judgments import load_beir
from app.evaluation.metrics import parse_metrics
from app.evaluation.reports import table
from app.evaluation.systems import evaluate_systems
from app.profiles import default_config
from app.settings import Settings

SYSTEMS = ("lexical", "vector", "hybrid-rrf")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, required=True, help="BEIR directory")
    parser.add_argument("--split", default="test")
    args = parser.parse_args()
    settings = Settings.from_env()
    dataset = load_beir(args.dataset, args.split)
    collection = open_collection(dataset, Components(settings).batch_encoder, settings)
    results = evaluate_systems(collection, SYSTEMS, default_config(settings), parse_metrics("ndcg@10"))
    print(f"{dataset.name}: {len(dataset.qrels)} judged queries")
    print(table(["system", "ndcg@10"], [[name, scores["ndcg@10"]] for name, scores in results.items()]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
