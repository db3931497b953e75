"""Settings: environment variables, typed, with documented defaults."""

from __future__ import annotations

import os

from app.settings import Settings, available_cores


def test_batch_jobs_embed_on_every_core_and_serving_on_one() -> None:
    settings = Settings()
    assert settings.onnx_threads == 1
    assert settings.batch_onnx_threads == available_cores() == len(os.sched_getaffinity(0))


def test_batch_threads_come_from_the_environment() -> None:
    assert Settings.from_env({"HYBRID_BATCH_ONNX_THREADS": "3"}).batch_onnx_threads == 3
