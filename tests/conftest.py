"""Shared fixtures: the real encoder, a tiny cross-encoder, small real indexes, tokens."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from identity import TEST_JWT_SECRET
from shared_paths import MODEL_DIR

from app.settings import Settings

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def encoder():
    """The real int8 ONNX encoder, exported on first use."""
    from app.embedding import load_encoder
    from app.model_export import export_embedding_model

    export_embedding_model(MODEL_DIR)
    return load_encoder(MODEL_DIR, variant="int8", threads=1)


@pytest.fixture(scope="session")
def lucene_jar() -> Path:
    """Lucene's jar (pyserini's, installed by make); missing is a skip locally and a failure in CI."""
    from app.evaluation.lucene_bm25 import LuceneUnavailable, find_jar

    try:
        return find_jar()
    except LuceneUnavailable as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(str(exc))
        pytest.skip(str(exc))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", model_dir=MODEL_DIR, profiles_dir=tmp_path / "profiles",
                    jwt_secret=TEST_JWT_SECRET)


@pytest.fixture
def token_for(settings: Settings):
    """Mint a bearer header for a tenant and principals."""
    from app.auth import mint_token

    def make(tenant: str, *principals: str) -> dict[str, str]:
        token = mint_token(settings, subject="test", tenant=tenant, principals=list(principals))
        return {"Authorization": f"Bearer {token}"}

    return make

def make_tiny_model(path: Path) -> Path:
    """A 2-layer, hidden-32 BERT cross-encoder with the MiniLM tokenizer, saved to ``path``."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    from reranker_study.firststage import minilm_dir

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
    from reranker_study.export import export_cross_encoder

    out = tmp_path_factory.mktemp("tiny-onnx")
    export_cross_encoder(tiny_model, out, max_length=64, int8_min_spearman=-1.0)
    return out
