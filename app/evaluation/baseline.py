"""The relevance regression gate: the default profile's scores against a committed baseline.

The baseline (``tests/relevance/baseline.json``) records, per shared
collection, nDCG@10 and recall@100 of the configured default fusion (system
``profile``) and of each leg alone, so a failure can say which part moved. Only
a drop of the gated metric of the default beyond the tolerance fails; the legs
are context. :func:`update_baseline` rewrites the file — an explicit act
(``scripts/update_relevance_baseline.py``) whose commit says why.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping, Sequence

from app.clock import utc_now
from app.evaluation.collection import open_collection
from app.evaluation.judgments import load_beir
from app.evaluation.metrics import parse_metrics
from app.evaluation.reports import table
from app.evaluation.systems import PROFILE_SYSTEM, evaluate_systems
from app.profiles import resolve
from app.settings import PROJECT_ROOT, Settings

BASELINE_PATH = PROJECT_ROOT / "tests" / "relevance" / "baseline.json"
GATE_COLLECTIONS = ("cranfield", "cisi", "cacm")
GATE_SYSTEMS = (PROFILE_SYSTEM, "lexical", "vector")
GATE_METRICS = ("ndcg@10", "recall@100")
GATED_METRIC = "ndcg@10"
#: Absolute drop of the default's nDCG@10 tolerated (run-to-run noise is ~0).
DEFAULT_TOLERANCE = 0.005

Scores = dict[str, dict[str, dict[str, float]]]


def measure(dataset_dir: Path, encoder: Any, settings: Settings, *, progress: bool = False) -> dict[str, dict[str, float]]:
    """``{system: {metric: value}}`` of the gate's systems on one collection."""
    dataset = load_beir(dataset_dir)
    collection = open_collection(dataset, encoder, settings, progress=progress)
    name, config = resolve(settings)
    results = evaluate_systems(collection, GATE_SYSTEMS, config, parse_metrics(list(GATE_METRICS)),
                               profile=name, progress=progress)
    return {system: {m: float(v) for m, v in scores.items() if not m.startswith("_")}  # type: ignore[union-attr]
            for system, scores in results.items()}


def compare_to_baseline(current: Mapping[str, Mapping[str, Mapping[str, float]]], baseline: Mapping[str, Any]) -> tuple[list[str], str]:
    """Failures (empty when the gate passes) and a table of everything that moved."""
    tolerance = float(baseline.get("tolerance", DEFAULT_TOLERANCE))
    gated = baseline.get("metric", GATED_METRIC)
    failures, rows = [], []
    for collection, systems in sorted(current.items()):
        recorded = baseline["collections"].get(collection)
        if recorded is None:
            failures.append(f"{collection}: no baseline recorded; run scripts/update_relevance_baseline.py")
            continue
        for system, scores in systems.items():
            for metric, value in scores.items():
                before = recorded.get(system, {}).get(metric)
                if before is None:
                    continue
                delta = value - before
                is_gate = system == PROFILE_SYSTEM and metric == gated
                verdict = "FAIL" if is_gate and delta < -tolerance else ("gated" if is_gate else "")
                rows.append([collection, system, metric, before, value, f"{delta:+.4f}", verdict])
                if verdict == "FAIL":
                    failures.append(f"{collection}: {metric} of the default profile fell {before:.4f} -> {value:.4f} "
                                    f"(tolerance {tolerance})")
    return failures, table(["collection", "system", "metric", "baseline", "now", "delta", ""], rows)


def load_baseline(path: Path = BASELINE_PATH) -> dict[str, Any]:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def update_baseline(current: Scores, settings: Settings, model_version: str, reason: str,
                    path: Path = BASELINE_PATH, tolerance: float = DEFAULT_TOLERANCE) -> dict[str, Any]:
    """Write the baseline file from fresh measurements."""
    name, config = resolve(settings)
    record = {
        "metric": GATED_METRIC,
        "tolerance": tolerance,
        "default_profile": name,
        "fusion": config.describe(),
        "model_version": model_version,
        "updated": utc_now(),
        "reason": reason,
        "collections": {c: {s: {m: round(v, 6) for m, v in ms.items()} for s, ms in systems.items()}
                        for c, systems in sorted(current.items())},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return record


def gate_collections(root: Path, names: Sequence[str] = GATE_COLLECTIONS) -> dict[str, Path]:
    """The shared collections present under ``root``."""
    return {n: root / n for n in names if (root / n / "corpus.jsonl").is_file()}
