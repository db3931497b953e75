"""The embedded backend against Lucene on the same records, analyzer and filter.

    python scripts/lucene_parity.py DATASET_DIR... [--k 10]

Takes each collection's evaluation index (built on first use, as ``hybrid-search
eval`` does), spreads its chunks over tenants and ACLs
(``app.evaluation.lucene_parity``), and runs every judged query as two callers
through the embedded backend's legs and through Lucene 9.5: BM25 over the
whole-document records with the template's analyzer, and exact cosine kNN over
the chunk vectors. Prints mean top-k overlap and the relative score difference
where both hold a record.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.evaluation.lucene_parity import CALLERS, LegParity, parity_of_collection  # noqa: E402
from app.settings import Settings  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("datasets", nargs="+", type=Path)
    parser.add_argument("--k", type=int, default=10)
    args = parser.parse_args(argv)
    from app.components import Components

    settings = Settings.from_env()
    encoder = Components(settings).batch_encoder
    print(f"{len(CALLERS)} callers per query; top {args.k}")
    print(f"{'collection':<12} {'leg':<8} {'asks':>5} {'overlap@k':>10} {'score diff mean':>16} {'max':>10}")
    for path in args.datasets:
        with tempfile.TemporaryDirectory(prefix="parity-") as scratch:
            figures: list[LegParity] = parity_of_collection(path, encoder, settings, Path(scratch), k=args.k)
        for f in figures:
            print(f"{path.name:<12} {f.leg:<8} {f.queries:>5} {f.overlap:>10.4f} {f.score_diff_mean:>16.2e} {f.score_diff_max:>10.2e}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
