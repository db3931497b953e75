"""Run an exported cross-encoder with onnxruntime.

One session per (model file, threads) per process; pairs are truncated on the
passage side only and scored in length-sorted batches padded to the longest
pair of each batch.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from app.onnx_session import CARD_FILE, TOKENIZER_FILE, cpu_session

#: The ONNX file of each exported variant, beside ``model_card.json``.
VARIANT_FILES = {"fp32": "model.onnx", "int8": "model_int8.onnx"}

_SESSIONS: dict[tuple[str, int], Any] = {}
_SESSIONS_LOCK = threading.Lock()


def session_for(path: Path, threads: int) -> Any:
    """The process-wide onnxruntime session for ``path`` with ``threads`` intra-op threads.

    Its threads do not spin: a rerank spans every core while the other workers
    still serve searches on them (``Settings.rerank_onnx_threads``).
    """
    key = (str(Path(path).resolve()), threads)
    with _SESSIONS_LOCK:
        if key not in _SESSIONS:
            _SESSIONS[key] = cpu_session(path, threads, spinning=False)
        return _SESSIONS[key]


class PairEncoder:
    """BERT pair inputs ``[CLS] query [SEP] passage [SEP]``, cut on the passage side."""

    def __init__(self, tokenizer: Any, max_length: int, query_max_tokens: int = 64) -> None:
        # Saved tokenizers often pad/truncate to a fixed width; we do both per pair.
        tokenizer.no_padding()
        tokenizer.no_truncation()
        self.tokenizer = tokenizer
        self.max_length = max_length
        # A query may not eat the whole window: the passage is what we judge.
        self.query_max_tokens = min(query_max_tokens, max_length // 2)
        self.cls, self.sep = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
        self.pad = tokenizer.token_to_id("[PAD]") or 0

    def ids(self, query: str, passages: Sequence[str]) -> list[tuple[list[int], int]]:
        """Per passage: token ids and the length of the query segment."""
        query_ids = self.tokenizer.encode(query, add_special_tokens=False).ids[: self.query_max_tokens]
        room = self.max_length - len(query_ids) - 3
        head = [self.cls, *query_ids, self.sep]
        encoded = self.tokenizer.encode_batch(list(passages), add_special_tokens=False)
        return [([*head, *e.ids[:room], self.sep], len(head)) for e in encoded]

    def pad_batch(self, rows: Sequence[tuple[list[int], int]]) -> dict[str, np.ndarray]:
        """Pad ``rows`` to the longest one (dynamic padding)."""
        width = max(len(ids) for ids, _ in rows)
        input_ids = np.full((len(rows), width), self.pad, dtype=np.int64)
        attention = np.zeros((len(rows), width), dtype=np.int64)
        types = np.zeros((len(rows), width), dtype=np.int64)
        for i, (ids, first) in enumerate(rows):
            input_ids[i, : len(ids)] = ids
            attention[i, : len(ids)] = 1
            types[i, first : len(ids)] = 1
        return {"input_ids": input_ids, "attention_mask": attention, "token_type_ids": types}

    def batch(self, pairs: Sequence[tuple[str, str]]) -> dict[str, np.ndarray]:
        """Pad arbitrary pairs into one batch (export and tests)."""
        return self.pad_batch([self.ids(q, [p])[0] for q, p in pairs])


class Reranker:
    """A cross-encoder scoring ``(query, passage)`` pairs; higher is more relevant."""

    def __init__(
        self,
        model_dir: Path,
        *,
        variant: str = "int8",
        threads: int = 1,
        max_length: int = 128,
        batch_size: int = 16,
        query_max_tokens: int = 64,
        warm_up: bool = True,
    ) -> None:
        from tokenizers import Tokenizer

        self.model_dir = Path(model_dir)
        self.card: dict[str, Any] = json.loads((self.model_dir / CARD_FILE).read_text())
        path = self.model_dir / VARIANT_FILES[variant]
        if not path.is_file():
            raise FileNotFoundError(f"no {variant} cross-encoder at {path}")
        self.variant = variant
        self.batch_size = batch_size
        self.encoder = PairEncoder(Tokenizer.from_file(str(self.model_dir / TOKENIZER_FILE)), max_length, query_max_tokens)
        self.session = session_for(path, threads)
        digest = self.card.get("variants", {}).get(variant, {}).get("sha256", "")
        self.model_version = f"{self.card.get('name', self.model_dir.name)}-{variant}-{digest[:12]}"
        if warm_up:
            # The first run allocates and plans; do it now, not on a request.
            self.score("warm up", ["a first passage to score", "and a second one"])

    def encode(self, query: str, passages: Sequence[str]) -> list[tuple[list[int], int]]:
        """Token rows for the pairs (exposed so callers can predict cost)."""
        return self.encoder.ids(query, passages)

    def score_rows(self, rows: Sequence[tuple[list[int], int]]) -> list[float]:
        """Scores aligned with ``rows``, run in length-sorted batches."""
        order = sorted(range(len(rows)), key=lambda i: len(rows[i][0]))
        scores = np.zeros(len(rows), dtype=np.float64)
        for start in range(0, len(order), self.batch_size):
            chosen = order[start : start + self.batch_size]
            out = self.session.run(None, self.encoder.pad_batch([rows[i] for i in chosen]))[0]
            scores[chosen] = out.reshape(-1)
        return scores.tolist()

    def score(self, query: str, passages: Sequence[str]) -> list[float]:
        """One score per passage, in the given order."""
        if not passages:
            return []
        return self.score_rows(self.encode(query, passages))

    def rank(self, query: str, passages: Sequence[str], top_k: int | None = None) -> list[tuple[int, float]]:
        """``(passage index, score)`` best first, ties by index; at most ``top_k``."""
        scores = self.score(query, passages)
        order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
        return [(i, scores[i]) for i in order[:top_k]]
