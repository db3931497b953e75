"""scripts/make_large_index.py at a small size: the index it builds is served as built."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from app.backends.base import AccessFilter, LexicalLeg, VectorLeg
from app.backends.embedded import EmbeddedBackend
from app.analysis import lexical_design
from app.backends.embedded.text_index import TextIndex
from app.settings import Settings

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "make_large_index.py"


def test_builds_a_served_index_in_one_text_segment(tmp_path: Path, settings: Settings, encoder, monkeypatch, capsys) -> None:
    """(``encoder`` makes sure the model is exported.)"""
    monkeypatch.setenv("HYBRID_MODEL_DIR", str(settings.model_dir))
    spec = importlib.util.spec_from_file_location("make_large_index", SCRIPT)
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    out = tmp_path / "large"
    assert script.main(["--out", str(out), "--chunks", "300", "--batch", "100"]) == 0
    assert "300 chunks (random vectors" in capsys.readouterr().out

    backend = EmbeddedBackend(settings.replace(data_dir=out))
    # three bulk writes and the final one, merged
    assert TextIndex(lexical_design(backend.live_index().template_version)).segment_count(out / "indexes" / backend.alias_target() / "text") == 1
    info = backend.live_index()
    assert (info.chunks, info.documents) == (300, 300)
    chunk = next(iter(backend.iter_chunks(info.name)))
    access = AccessFilter(chunk.tenant, frozenset(chunk.acl))
    legs = backend.run_legs({"lexical": LexicalLeg(chunk.title, 10), "vector": VectorLeg(chunk.vector, 1)}, access)
    assert legs["lexical"].hits and legs["vector"].hits[0].chunk_id == chunk.chunk_id

    with pytest.raises(SystemExit, match="--force"):
        script.main(["--out", str(out), "--chunks", "10"])
