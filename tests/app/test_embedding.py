"""The ONNX encoder against PyTorch, and its runtime behaviour."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.embedding import ModelNotFoundError, load_encoder
from app.model_export import INT8_MEAN_COSINE, export_embedding_model, read_card
from app.settings import PROJECT_ROOT

MODEL_DIR = PROJECT_ROOT / "models" / "embedding"

#: Sentences unlike the ones the export checks itself with.
HELD_OUT = [
    "Where can I download last year's tax documents?",
    "The turbine blades showed fatigue cracks after ten thousand cycles.",
    "Our SLA promises 99.95 percent monthly uptime for the storage API.",
    "Children learn languages faster when they are immersed in them.",
    "Set the replication factor to three for production clusters.",
    "Why does the sync client keep asking me to log in again?",
]


def torch_reference(sentences: list[str]) -> np.ndarray:
    import torch
    from transformers import AutoModel, AutoTokenizer

    from app.model_export import source_dir

    tokenizer = AutoTokenizer.from_pretrained(str(source_dir()), local_files_only=True)
    model = AutoModel.from_pretrained(str(source_dir()), local_files_only=True).eval()
    batch = tokenizer(sentences, return_tensors="pt", padding=True, truncation=True, max_length=256)
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    pooled = (hidden * mask).sum(1) / mask.sum(1)
    return torch.nn.functional.normalize(pooled, dim=1).numpy()


@pytest.fixture(scope="module")
def reference() -> np.ndarray:
    return torch_reference(HELD_OUT)


@pytest.mark.parametrize("variant, floor", [("fp32", 0.9999), ("int8", INT8_MEAN_COSINE)])
def test_onnx_matches_pytorch_on_held_out_sentences(encoder, reference, variant, floor) -> None:
    onnx = load_encoder(MODEL_DIR, variant=variant)
    cosines = (onnx.embed_passages(HELD_OUT) * reference).sum(axis=1)
    assert cosines.mean() >= floor
    assert cosines.min() >= 0.95


def test_second_export_is_a_no_op(encoder) -> None:
    before = {p.name: p.stat().st_mtime_ns for p in MODEL_DIR.iterdir()}
    card = export_embedding_model(MODEL_DIR)
    assert {p.name: p.stat().st_mtime_ns for p in MODEL_DIR.iterdir()} == before
    assert card == read_card(MODEL_DIR)
    assert card.model_version("int8") == encoder.model_version


TEXTS = ["short", "a much longer passage about storage quotas " * 12, "medium length text here", "x"]


def test_fp32_batches_equal_one_by_one_and_keep_order() -> None:
    fp32 = load_encoder(MODEL_DIR, variant="fp32")
    batched = fp32.embed_passages(TEXTS, batch_size=2)
    single = np.stack([fp32.embed_passages([t])[0] for t in TEXTS])
    np.testing.assert_allclose(batched, single, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(batched, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(fp32.embed_query("short"), batched[0], atol=1e-5)


def test_int8_batches_stay_close_to_one_by_one(encoder) -> None:
    """Dynamic quantisation scales activations per batch, so batching moves
    int8 vectors slightly (not order: each row still matches its own text)."""
    batched = encoder.embed_passages(TEXTS, batch_size=2)
    single = np.stack([encoder.embed_passages([t])[0] for t in TEXTS])
    similarity = batched @ single.T
    assert (np.diag(similarity) >= 0.98).all()
    assert (similarity.argmax(axis=1) == np.arange(len(TEXTS))).all()


def test_query_cache_keys_on_normalised_text(encoder) -> None:
    before = encoder.cache_info()
    first = encoder.embed_query("rotate   an api key ")
    second = encoder.embed_query("rotate an api key")
    after = encoder.cache_info()
    assert second is first
    assert after["hits"] - before["hits"] >= 1
    with pytest.raises(ValueError):
        first[0] = 1.0  # cached vectors are read-only


def test_paraphrase_is_closer_than_unrelated(encoder) -> None:
    query = encoder.embed_query("I can't log in to my account")
    paraphrase, unrelated = encoder.embed_passages(["Sign-in failures and password resets", "Quarterly revenue grew by 4%"])
    assert query @ paraphrase > query @ unrelated + 0.2


def test_token_count_excludes_special_tokens(encoder) -> None:
    assert encoder.count_tokens("hello world") == 2


def test_missing_model_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match=str(tmp_path)):
        load_encoder(tmp_path)
