"""ONNX export of a tiny real cross-encoder: parity, dynamic axes, model card."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from app.embedding import sha256_file
from app.rerank.runtime import Reranker
from reranker_study.export import export_cross_encoder


def test_export_writes_both_variants_with_a_card(tiny_onnx: Path) -> None:
    card = json.loads((tiny_onnx / "model_card.json").read_text())
    assert card["max_length"] == 64 and card["opset"] >= 13 and card["layers"] == 2
    for variant in ("fp32", "int8"):
        entry = card["variants"][variant]
        assert entry["sha256"] == sha256_file(tiny_onnx / entry["file"])
        assert {"max_abs_diff", "spearman", "pairs"} <= set(entry["parity"])
    assert card["variants"]["fp32"]["parity"]["max_abs_diff"] < 1e-4
    assert (tiny_onnx / "tokenizer.json").is_file()


def test_onnx_matches_pytorch_on_new_shapes(tiny_model: Path, tiny_onnx: Path) -> None:
    import torch
    from transformers import BertForSequenceClassification

    model = BertForSequenceClassification.from_pretrained(str(tiny_model)).eval()
    reranker = Reranker(tiny_onnx, variant="fp32", max_length=64, batch_size=3)
    passages = ["one", "a longer passage about wings and lift " * 9, "sorting in n log n time", "x y z", "tiles"]
    rows = reranker.encode("a query", passages)
    got = reranker.score_rows(rows)
    with torch.no_grad():
        want = [model(**{k: torch.from_numpy(v) for k, v in reranker.encoder.pad_batch([row]).items()}).logits[0, 0].item() for row in rows]
    assert np.max(np.abs(np.array(got) - np.array(want))) < 1e-4


def test_failed_parity_fails_the_export_and_writes_nothing(tiny_model: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(ValueError, match="parity"):
        export_cross_encoder(tiny_model, out, max_length=64, fp32_tolerance=-1.0)
    assert not out.exists()


def test_our_cosine_cross_encoder_exports_and_scores_like_pytorch(tiny_model: Path, tmp_path: Path) -> None:
    """The trained-model path: SegmentCosineCrossEncoder saved, reloaded, exported, served."""
    import torch
    from transformers import AutoTokenizer, BertModel

    from reranker_study.model import SegmentCosineCrossEncoder, load_scorer

    torch.manual_seed(1)
    model = SegmentCosineCrossEncoder(BertModel.from_pretrained(str(tiny_model), add_pooling_layer=False), scale=7.0)
    with torch.no_grad():
        model.bias.fill_(0.25)
    saved = tmp_path / "trained"
    model.save(saved)
    AutoTokenizer.from_pretrained(str(tiny_model)).save_pretrained(str(saved))
    reloaded = load_scorer(saved)
    assert isinstance(reloaded, SegmentCosineCrossEncoder) and reloaded.scale.item() == 7.0

    out = tmp_path / "onnx"
    export_cross_encoder(saved, out, max_length=64, variants=("fp32",))
    reranker = Reranker(out, variant="fp32", max_length=64, batch_size=2)
    rows = reranker.encode("wing lift", ["lift on a wing", "sorting algorithms", "a much longer passage " * 8])
    with torch.no_grad():
        want = [reloaded(**{k: torch.from_numpy(v) for k, v in reranker.encoder.pad_batch([row]).items()}).item() for row in rows]
    got = reranker.score_rows(rows)
    assert np.max(np.abs(np.array(got) - np.array(want))) < 1e-4
    assert all(-7.0 + 0.25 - 1e-4 <= s <= 7.0 + 0.25 + 1e-4 for s in got)  # scale · cosine + bias
