"""A tiny randomly initialised cross-encoder, exported once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.settings import Settings

SHIPPED = Settings().rerank_model_dir


def make_tiny_model(path: Path) -> Path:
    """A 2-layer, hidden-32 BERT cross-encoder with the MiniLM tokenizer, saved to ``path``."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    from rerankers.firststage import minilm_dir

    torch.manual_seed(0)
    config = BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=256, num_labels=1)
    model = BertForSequenceClassification(config)
    with torch.no_grad():
        # Spread the random scores so int8 rank parity is meaningful.
        model.classifier.weight.mul_(50.0)
    model.save_pretrained(str(path))
    AutoTokenizer.from_pretrained(str(minilm_dir())).save_pretrained(str(path))
    return path


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_model(tmp_path_factory.mktemp("tiny-ce"))


@pytest.fixture(scope="session")
def tiny_onnx(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from rerankers.export import export_cross_encoder

    out = tmp_path_factory.mktemp("tiny-onnx")
    export_cross_encoder(tiny_model, out, max_length=64, int8_min_spearman=-1.0)
    return out
