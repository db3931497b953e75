"""Shared fixtures: the real encoder, small real indexes, an app client."""

from __future__ import annotations

import os
from pathlib import Path
import pytest

from app.settings import PROJECT_ROOT, Settings

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

MODEL_DIR = PROJECT_ROOT / "models" / "embedding"
SHARED_DATASETS = Path(os.environ.get("HYBRID_DATASETS_DIR", PROJECT_ROOT.parent / "shared" / "datasets"))


@pytest.fixture(scope="session")
def encoder():
    """The real int8 ONNX encoder, exported on first use."""
    from app.embedding import load_encoder
    from app.model_export import export_embedding_model

    export_embedding_model(MODEL_DIR)
    return load_encoder(MODEL_DIR, variant="int8", threads=1)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", model_dir=MODEL_DIR, profiles_dir=tmp_path / "profiles")


def dataset_dir(name: str) -> Path:
    """A shared BEIR collection; missing is a skip locally and a failure in CI."""
    path = SHARED_DATASETS / name
    if not (path / "corpus.jsonl").is_file():
        message = f"dataset {name!r} not found at {path} (set HYBRID_DATASETS_DIR)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture
def token_for(settings: Settings):
    """Mint a bearer header for a tenant and principals."""
    from app.auth import mint_token

    def make(tenant: str, *principals: str) -> dict[str, str]:
        token = mint_token(settings, subject="test", tenant=tenant, principals=list(principals))
        return {"Authorization": f"Bearer {token}"}

    return make
