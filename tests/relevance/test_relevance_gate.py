"""Relevance regression gate: the default profile's nDCG@10 on the shared collections.

Fails when it drops below ``baseline.json`` by more than the recorded tolerance,
printing what moved (the default and each leg alone). Update the baseline with
``scripts/update_relevance_baseline.py --reason "..."`` and say why in the commit.
"""

from __future__ import annotations

import pytest

from app.evaluation.baseline import GATE_COLLECTIONS, compare_to_baseline, load_baseline, measure
from app.settings import Settings
from shared_paths import dataset_dir

pytestmark = pytest.mark.slow


def test_default_profile_holds_its_baseline(encoder):
    baseline = load_baseline()
    # The configured service settings (indexes cached in data/eval-cache across runs).
    settings = Settings.from_env()
    current = {name: measure(dataset_dir(name), encoder, settings) for name in GATE_COLLECTIONS}
    failures, moved = compare_to_baseline(current, baseline)
    print(moved)
    assert not failures, "relevance regression:\n" + "\n".join(failures) + "\n\n" + moved
