"""Recovering the shipped cross-encoder's checkpoint from its int8 file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.onnx_session import TOKENIZER_FILE, cpu_session
from app.rerank.runtime import VARIANT_FILES
from app.settings import Settings
from reranker_study.export import PARITY_PAIRS, encode_pairs, export_cross_encoder
from reranker_study.recover import main, recover_checkpoint

SHIPPED = Settings().rerank_model_dir


def scores(model_dir: Path, variant: str) -> np.ndarray:
    from tokenizers import Tokenizer

    batch = encode_pairs(Tokenizer.from_file(str(model_dir / TOKENIZER_FILE)), PARITY_PAIRS, 128)
    return cpu_session(model_dir / VARIANT_FILES[variant], 1).run(None, batch)[0]


def test_the_recovered_checkpoint_exports_to_the_shipped_scores(tmp_path: Path) -> None:
    checkpoint = recover_checkpoint(SHIPPED, tmp_path / "checkpoint")
    # The export checks its own fp32 graph against PyTorch and fails when off.
    export_cross_encoder(checkpoint, tmp_path / "export", variants=["fp32", "int8"])
    shipped = scores(SHIPPED, "int8")
    assert np.max(np.abs(scores(tmp_path / "export", "int8") - shipped)) < 1e-4
    # fp32 differs from int8 only by the activations' quantisation: same order.
    fp32 = scores(tmp_path / "export", "fp32")
    assert np.array_equal(np.argsort(fp32.reshape(-1, 4), axis=1), np.argsort(shipped.reshape(-1, 4), axis=1))


def test_a_model_dir_without_an_int8_file_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path / "out"), "--model-dir", str(tmp_path)]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    assert not (tmp_path / "out").exists()
