"""Leave-one-collection-out reranker study; prints the speed/quality table.

    nice -n 10 python scripts/rerank_folds.py --configs 2x128,4x128,2x256 --depths 10,20,50
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from reranker_study.folds import main  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(main())
