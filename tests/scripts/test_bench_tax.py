"""scripts/bench_tax.py in process on a small index: stages on a CPU clock, engines counted inside them."""

from __future__ import annotations

import argparse
import gc
import importlib.util
import time
from pathlib import Path

from app.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def load(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_stages_hold_their_engines_and_the_tax_is_what_is_left(tmp_path: Path, settings: Settings, encoder, monkeypatch) -> None:
    """(``encoder`` makes sure the model is exported.)"""
    monkeypatch.setenv("HYBRID_MODEL_DIR", str(settings.model_dir))
    monkeypatch.setenv("HYBRID_JWT_SECRET", "t" * 40)
    data = tmp_path / "large"
    assert load("make_large_index").main(["--out", str(data), "--chunks", "300", "--batch", "300"]) == 0
    bench = load("bench_tax")
    args = argparse.Namespace(requests=40, users=4, unseen_share=0.5, seed=0, corpus=bench.SAMPLE_CORPUS, collector_defaults=False)
    served_settings = Settings.from_env(data_dir=data, parallel_legs=False, log_level="WARNING")
    requests = bench.query_stream(args, served_settings)
    assert len(requests) == 40 and len({text for _, text in requests}) > 20  # half never repeat

    wall_clock = time.perf_counter
    threshold = gc.get_threshold()
    try:
        figures = bench.in_process(args, served_settings, requests)
        assert gc.get_freeze_count() > 0  # settled as a served worker is
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)
    assert time.perf_counter is wall_clock  # the CPU clock was only borrowed
    assert not [c for c in gc.callbacks if isinstance(c, bench.CollectorClock)]  # the collector's clock was removed
    assert 0 <= figures["garbage collection"] < figures["request in process"]

    engines = {name: ms for name, ms in figures.items() if name.startswith("engine ")}
    assert set(engines) == {"engine encoder (onnxruntime)", "engine tantivy", "engine exact scan (numpy)"}
    assert 0 < engines["engine encoder (onnxruntime)"] < figures["stage embed"]
    assert 0 < engines["engine tantivy"] < figures["stage lexical"]
    assert 0 < engines["engine exact scan (numpy)"] < figures["stage vector"]
    staged = sum(figures[f"stage {s}"] for s in ("embed", "lexical", "vector", "fuse", "fetch"))
    assert staged < figures["search"] < figures["request in process"]

    lines = list(bench.report(figures, served_ms=figures["request in process"] + 1.0))
    engine_ms = sum(engines.values())
    assert lines[-1].endswith(f"served / engines = {(figures['request in process'] + 1.0) / engine_ms:.2f}")
    assert any(line.startswith("gunicorn and HTTP") and line.split()[-2] == "1.000" for line in lines)
