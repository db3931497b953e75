"""Sentence embeddings with onnxruntime: mean pooling + L2 normalisation.

No torch at serving time. Queries are embedded one at a time without padding
(the packaged tokenizer pads to 128 by default, which costs ~6x); passages in
length-sorted batches padded to the longest of each batch.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Sequence

import numpy as np


class ModelNotFoundError(RuntimeError):
    """The exported model is not where the settings say."""


class OnnxEncoder:
    """A sentence encoder over one ONNX session (one per process)."""

    def __init__(
        self,
        onnx_path: Path,
        tokenizer_path: Path,
        *,
        model_version: str,
        threads: int = 1,
        max_length: int = 256,
        dimension: int = 384,
        cache_size: int = 4096,
    ) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        self._session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        self._tokenizer = Tokenizer.from_file(str(tokenizer_path))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(max_length)
        self._counter = Tokenizer.from_file(str(tokenizer_path))
        self._counter.no_padding()
        self._counter.no_truncation()
        self._pad_id = self._tokenizer.token_to_id("[PAD]") or 0
        self.model_version = model_version
        self.max_length = max_length
        self.dimension = dimension
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._cache_lock = threading.Lock()
        self._hits = 0
        self._misses = 0

    @property
    def tokenizer(self):  # noqa: ANN201 - tokenizers.Tokenizer
        """The fast tokenizer (truncating to ``max_length``, no padding)."""
        return self._tokenizer

    def count_tokens(self, text: str) -> int:
        """Word pieces in ``text``, without special tokens (for the chunker)."""
        return len(self._counter.encode(text, add_special_tokens=False).ids)

    def embed_query(self, text: str) -> np.ndarray:
        """One L2-normalised query vector, cached by normalised text."""
        key = " ".join(text.split())
        with self._cache_lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                self._hits += 1
                return cached
            self._misses += 1
        encoding = self._tokenizer.encode(key)
        ids = np.asarray([encoding.ids], dtype=np.int64)
        vector = self._run(ids, np.ones_like(ids))[0]
        vector.setflags(write=False)
        with self._cache_lock:
            self._cache[key] = vector
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return vector

    def embed_passages(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """L2-normalised vectors for ``texts``, in input order."""
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        encodings = self._tokenizer.encode_batch(list(texts))
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            width = max(len(encodings[i].ids) for i in batch)
            ids = np.full((len(batch), width), self._pad_id, dtype=np.int64)
            mask = np.zeros((len(batch), width), dtype=np.int64)
            for row, i in enumerate(batch):
                piece = encodings[i].ids
                ids[row, : len(piece)] = piece
                mask[row, : len(piece)] = 1
            out[batch] = self._run(ids, mask)
        return out

    def cache_info(self) -> dict[str, int]:
        """Query-cache hits, misses and current size."""
        with self._cache_lock:
            return {"hits": self._hits, "misses": self._misses, "size": len(self._cache)}

    def _run(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        (tokens,) = self._session.run(
            None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        )
        weights = mask[..., None].astype(np.float32)
        pooled = (tokens * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        return (pooled / np.linalg.norm(pooled, axis=1, keepdims=True)).astype(np.float32)


#: What the rest of the service calls an encoder.
Encoder = OnnxEncoder

_VARIANT_FILES = {"fp32": "model.fp32.onnx", "int8": "model.int8.onnx"}


def load_encoder(model_dir: Path, variant: str = "int8", threads: int = 1, cache_size: int = 4096) -> Encoder:
    """The exported encoder in ``model_dir`` (see ``hybrid-search export-models``)."""
    model_dir = Path(model_dir)
    if variant not in _VARIANT_FILES:
        raise ValueError(f"unknown model variant {variant!r} (fp32 or int8)")
    card_path, onnx_path = model_dir / "model_card.json", model_dir / _VARIANT_FILES[variant]
    for path in (card_path, onnx_path, model_dir / "tokenizer.json"):
        if not path.is_file():
            raise ModelNotFoundError(f"{path} is missing; run `hybrid-search export-models` (or `make models`)")
    card = json.loads(card_path.read_text())
    return OnnxEncoder(
        onnx_path,
        model_dir / "tokenizer.json",
        model_version=f"{card['model']}:{variant}:{card['files'][variant][:12]}",
        threads=threads,
        max_length=int(card["max_seq_length"]),
        dimension=int(card["dimension"]),
        cache_size=cache_size,
    )
