"""Sentence embeddings at serving time: onnxruntime + tokenizers + numpy, no torch.

The ONNX graph (see :mod:`app.model_export`) outputs token embeddings; mean
pooling over the attention mask and L2 normalisation happen here, as in
sentence-transformers' all-MiniLM-L6-v2 pipeline.

* Queries are embedded one at a time without padding (the packaged tokenizer
  pads every input to 128, many times the work of a short query) and cached per
  normalised text.
* Passages are tokenised once, sorted by length and batched, each batch padded
  to its own longest member, so little compute goes to padding.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from app.onnx_session import CARD_FILE, TOKENIZER_FILE, cpu_session
from app.settings import Settings

if TYPE_CHECKING:  # imported lazily: `hybrid-search --help` should not pay for onnxruntime
    import tokenizers

    from app.query_cache import SharedVectorCache

MODEL_NAME = "all-MiniLM-L6-v2"
#: File of each variant in the export directory; the card holds their sha256 under ``files``.
VARIANT_FILES = {"fp32": "model.fp32.onnx", "int8": "model.int8.onnx"}
_EXPORT_HINT = "run `hybrid-search export-models` to create it"


class ModelNotFoundError(RuntimeError):
    """The exported model (or one of its files) is not where the settings say."""


class ModelIntegrityError(RuntimeError):
    """An exported file does not match its model card (a partial or foreign export)."""


def normalise_query(text: str) -> str:
    """Strip and collapse whitespace: the query-cache key (BERT tokenises both alike)."""
    return " ".join(text.split())


def model_version(model: str, variant: str, onnx_sha256: str) -> str:
    """``all-MiniLM-L6-v2:<variant>:<onnx sha256[:12]>``: what every index records it was built with."""
    return f"{model}:{variant}:{onnx_sha256[:12]}"


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


class Encoder:
    """A sentence encoder over one onnxruntime session; thread-safe, one per process."""

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
        shared_cache: SharedVectorCache | None = None,
    ) -> None:
        from tokenizers import Tokenizer

        if cache_size < 0:
            raise ValueError(f"cache_size must be ≥ 0, got {cache_size}")
        self._session = cpu_session(onnx_path, threads)
        self._input_names = {i.name for i in self._session.get_inputs()}
        self._output_name = self._session.get_outputs()[0].name
        width = self._session.get_outputs()[0].shape[-1]
        if isinstance(width, int) and width != dimension:
            raise ValueError(f"{onnx_path} outputs {width}-d token embeddings, the card says {dimension}")

        # The packaged tokenizer.json truncates at 128 and pads to 128; the model
        # reads 256 (sentence-transformers' max_seq_length) and we pad ourselves.
        self._tokenizer = Tokenizer.from_file(str(tokenizer_path))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(max_length)
        # Counting must not truncate: the chunker measures whole sections.
        self._counter = Tokenizer.from_file(str(tokenizer_path))
        self._counter.no_padding()
        self._counter.no_truncation()
        # Padded positions are masked out of attention and of the pooled mean, so their
        # token never changes an fp32 vector. It does change int8 ones: dynamic
        # quantisation takes one activation range over the whole batch tensor, and
        # [PAD]'s hidden states are outliers that coarsen it (a 4-token query padded
        # by 12 [PAD]s fell from 0.993 to 0.985 cosine to PyTorch). [SEP] is already
        # in every sequence, so padding with it adds no new range.
        sep_id = self._tokenizer.token_to_id("[SEP]")
        self._pad_id = sep_id if sep_id is not None else (self._tokenizer.token_to_id("[PAD]") or 0)

        self.onnx_path = Path(onnx_path)
        self.model_version = model_version
        self.max_length = max_length
        self.dimension = dimension
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._cache_lock = threading.Lock()
        self._shared = shared_cache
        self._hits = 0
        self._shared_hits = 0
        self._misses = 0

    # ----------------------------------------------------------------- public

    @property
    def tokenizer(self) -> "tokenizers.Tokenizer":
        """The shared tokenizer (truncates to ``max_length``, no padding); do not reconfigure it."""
        return self._tokenizer

    def count_tokens(self, text: str) -> int:
        """Word pieces in ``text`` without special tokens and without truncation (for the chunker)."""
        return len(self._counter.encode(text, add_special_tokens=False).ids)

    def embed_query(self, text: str) -> np.ndarray:
        """One ``(dimension,)`` float32 L2-normalised vector; cached by normalised text, read-only."""
        key = normalise_query(text)
        with self._cache_lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                self._hits += 1
                return cached
        # Another worker of this server may have embedded it (app.query_cache).
        shared = self._shared.get(key) if self._shared is not None else None
        if shared is not None:
            vector = shared
        else:
            # Computed outside the lock so concurrent misses do not queue behind one another;
            # two threads missing on the same text both compute it, which is harmless.
            ids = np.asarray([self._tokenizer.encode(key).ids], dtype=np.int64)
            vector = self._run(ids, np.ones_like(ids))[0]
            if self._shared is not None:
                self._shared.put(key, vector)
        vector.setflags(write=False)  # shared between callers through the cache
        with self._cache_lock:
            if shared is None:
                self._misses += 1
            else:
                self._hits += 1
                self._shared_hits += 1
            if self._cache_size:
                self._cache[key] = vector
                self._cache.move_to_end(key)
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        return vector

    def embed_passages(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """``(len(texts), dimension)`` float32 L2-normalised vectors, in input order."""
        if isinstance(texts, str):
            raise TypeError("embed_passages takes a sequence of strings, not one string")
        if batch_size < 1:
            raise ValueError(f"batch_size must be ≥ 1, got {batch_size}")
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        if not len(texts):
            return out
        encodings = self._tokenizer.encode_batch(list(texts))
        lengths = np.fromiter((len(e.ids) for e in encodings), dtype=np.int64, count=len(encodings))
        # Length-sorted batches: each pads to its own longest member, not the corpus's.
        order = np.argsort(lengths, kind="stable")
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            width = int(lengths[batch].max())
            ids = np.full((len(batch), width), self._pad_id, dtype=np.int64)
            mask = np.zeros((len(batch), width), dtype=np.int64)
            for row, index in enumerate(batch):
                piece = encodings[index].ids
                ids[row, : len(piece)] = piece
                mask[row, : len(piece)] = 1
            out[batch] = self._run(ids, mask)
        return out

    def cache_info(self) -> dict[str, int]:
        """Query-cache running totals: ``hits`` (of which ``shared_hits`` came from
        another process through the shared cache), ``misses``, ``size``, ``max_size``."""
        with self._cache_lock:
            return {
                "hits": self._hits, "shared_hits": self._shared_hits, "misses": self._misses,
                "size": len(self._cache), "max_size": self._cache_size,
            }

    def cache_clear(self) -> None:
        """Empty the query cache (totals are kept: metrics count them as running totals)."""
        with self._cache_lock:
            self._cache.clear()

    # --------------------------------------------------------------- internals

    def _run(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Token embeddings → mean over the attention mask → unit length."""
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        (tokens,) = self._session.run([self._output_name], {k: v for k, v in feed.items() if k in self._input_names})
        weights = mask[..., None].astype(np.float32)
        pooled = (tokens * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)


def read_model_card(model_dir: Path) -> dict[str, Any]:
    """The export's ``model_card.json`` as a dict; ModelNotFoundError when absent."""
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise ModelNotFoundError(f"embedding model directory {model_dir} does not exist; {_EXPORT_HINT}")
    card_path = model_dir / CARD_FILE
    if not card_path.is_file():
        raise ModelNotFoundError(f"{card_path} is missing (no complete export in {model_dir}); {_EXPORT_HINT}")
    try:
        return json.loads(card_path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ModelIntegrityError(
            f"{card_path} is not valid JSON ({exc}); re-run `hybrid-search export-models --force`"
        ) from None


def load_encoder(
    model_dir: Path,
    variant: str = "int8",
    threads: int = 1,
    cache_size: int = 4096,
    shared_cache_dir: Path | None = None,
    shared_cache_bytes: int = Settings.query_cache_shared_bytes,
) -> Encoder:
    """The exported ``variant`` (``int8`` or ``fp32``) in ``model_dir``, checked against its card;
    with ``shared_cache_dir``, query vectors are also shared with other processes there."""
    model_dir = Path(model_dir)
    if variant not in VARIANT_FILES:
        raise ValueError(f"unknown model variant {variant!r}; expected one of {sorted(VARIANT_FILES)}")
    card = read_model_card(model_dir)
    onnx_path, tokenizer_path = model_dir / VARIANT_FILES[variant], model_dir / TOKENIZER_FILE
    for path in (onnx_path, tokenizer_path):
        if not path.is_file():
            raise ModelNotFoundError(f"{path} is missing; {_EXPORT_HINT}")
    # The version is stored with every index, so it must name the bytes actually served.
    digest = sha256_file(onnx_path)
    expected = card.get("files", {}).get(variant, "")
    if digest != expected:
        raise ModelIntegrityError(
            f"{onnx_path} does not match {model_dir / CARD_FILE} (sha256 {digest[:12]} ≠ {expected[:12] or 'none'}); "
            "re-run `hybrid-search export-models --force`"
        )
    version = model_version(card.get("model", MODEL_NAME), variant, digest)
    shared = None
    if shared_cache_dir is not None:
        from app.query_cache import SharedVectorCache

        shared = SharedVectorCache(shared_cache_dir, version, int(card["dimension"]), shared_cache_bytes)
    return Encoder(
        onnx_path,
        tokenizer_path,
        model_version=version,
        shared_cache=shared,
        threads=threads,
        max_length=int(card["max_seq_length"]),
        dimension=int(card["dimension"]),
        cache_size=cache_size,
    )
