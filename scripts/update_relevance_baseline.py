"""Re-measure the relevance gate and rewrite tests/relevance/baseline.json.

    python scripts/update_relevance_baseline.py --reason "new embedding model"

An explicit act: commit the new baseline with the reason in the message.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from app.components import Components
from app.evaluation.baseline import BASELINE_PATH, compare_to_baseline, gate_collections, load_baseline, measure, update_baseline
from app.settings import Settings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reason", required=True, help="why the baseline moves (goes into the file)")
    parser.add_argument("--datasets", type=Path,
                        default=Settings.from_env().datasets_dir)
    args = parser.parse_args()
    settings = Settings.from_env()
    encoder = Components(settings).batch_encoder
    found = gate_collections(args.datasets)
    if not found:
        raise SystemExit(f"no shared collections under {args.datasets}")
    current = {name: measure(path, encoder, settings, progress=True) for name, path in found.items()}
    if BASELINE_PATH.is_file():
        print(compare_to_baseline(current, load_baseline())[1])
    update_baseline(current, settings, encoder.model_version, args.reason)
    print(f"wrote {BASELINE_PATH}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
