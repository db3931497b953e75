"""Relevance regression gate: the default profile's nDCG@10 on the shared collections.

Fails when it drops below ``baseline.json`` by more than the recorded tolerance,
printing what moved (the default and each leg alone). Update the baseline with
``scripts/update_relevance_baseline.py --reason "..."`` and say why in the commit.
"""

from __future__ import annotations

import pytest

from app.evaluation.baseline import GATE_COLLECTIONS, compare_to_baseline, load_baseline, measure
from app.evaluation.collection import open_collection
from app.evaluation.judgments import load_beir
from app.evaluation.lucene_bm25 import SYSTEM as LUCENE_SYSTEM
from app.evaluation.metrics import parse_metrics
from app.evaluation.systems import evaluate_systems
from app.profiles import FusionConfig
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


@pytest.mark.parametrize("name", GATE_COLLECTIONS)
def test_lexical_leg_is_not_below_lucene_bm25_over_whole_documents(name: str, encoder, lucene_jar) -> None:
    """The keyword search users run today is the floor of our lexical leg (issue 13: within 0.005)."""
    dataset = load_beir(dataset_dir(name))
    collection = open_collection(dataset, encoder, Settings.from_env(), progress=False)
    metrics = parse_metrics(["ndcg@10"])
    results = evaluate_systems(collection, ("lexical", LUCENE_SYSTEM), FusionConfig(), metrics, progress=False)
    lexical, lucene = (results[system]["ndcg@10"] for system in ("lexical", LUCENE_SYSTEM))
    assert lexical >= lucene - 0.005, f"{name}: lexical {lexical:.4f} below lucene-bm25 {lucene:.4f}"
