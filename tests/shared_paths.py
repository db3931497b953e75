"""Paths the tests share: the exported model and the shared BEIR collections.

A plain module (not a conftest) so test modules can import it by name.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.settings import PROJECT_ROOT, Settings

MODEL_DIR = PROJECT_ROOT / "models" / "embedding"
SHARED_DATASETS = Settings.from_env().datasets_dir


def dataset_dir(name: str) -> Path:
    """A shared BEIR collection; missing is a skip locally and a failure in CI."""
    path = SHARED_DATASETS / name
    if not (path / "corpus.jsonl").is_file():
        message = f"dataset {name!r} not found at {path} (set HYBRID_DATASETS_DIR)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path
