"""Longer run of the isolation-under-change check; prints the hits it checked.

    python scripts/isolation_soak.py [--hits 100000] [--seconds 600] [--seed 7]

Runs ``tests/app/test_isolation_under_change.run_churn`` (searches from random
callers while a writer flips documents' tenant, ACL and content) until that many
hits were checked or the time is up; exits 1 on the first leak.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "app")]

import test_isolation_under_change as churn  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hits", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=600.0)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    churn.HITS_PER_EXAMPLE, churn.MAX_SECONDS_PER_EXAMPLE = args.hits, args.seconds
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        try:
            checked, rounds = churn.run_churn(Path(tmp), args.seed, flip_tenant=True)
        except AssertionError as exc:
            print(f"LEAK: {exc}")
            return 1
    print(f"checked {checked} hits during {rounds} re-ingest rounds in {time.monotonic() - started:.1f} s, leaks 0")
    return 0


if __name__ == "__main__":
    sys.exit(main())
