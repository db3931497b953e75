"""Shared fixtures: the real encoder, small real indexes, tokens."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.settings import Settings
from identity import TEST_JWT_SECRET
from shared_paths import MODEL_DIR

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
