"""A deterministic stand-in for the ONNX encoder: fast unit tests of the query path.

A plain module (not a conftest) so test modules can import it by name. Vectors
are hashed bags of words, so texts that share words are near each other and a
test can reason about the vector leg without a model.
"""

from __future__ import annotations

import hashlib
import re
from typing import Sequence

import numpy as np

_WORD = re.compile(r"\w+")


class FakeEncoder:
    """The :class:`app.embedding.Encoder` interface, without a model."""

    model_version = "fake-encoder:1"

    def __init__(self, dimension: int = 16) -> None:
        self.dimension = dimension

    def count_tokens(self, text: str) -> int:
        return len(_WORD.findall(text))

    def embed_query(self, text: str) -> np.ndarray:
        return self._embed(text)

    def embed_passages(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        return np.stack([self._embed(text) for text in texts]) if texts else np.empty((0, self.dimension), np.float32)

    def cache_info(self) -> dict[str, int]:
        return {"hits": 0, "shared_hits": 0, "misses": 0, "size": 0, "max_size": 0}

    def _embed(self, text: str) -> np.ndarray:
        vector = np.zeros(self.dimension, dtype=np.float32)
        for word in _WORD.findall(text.lower()):
            digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
            vector[int.from_bytes(digest[:4], "little") % self.dimension] += 1.0 if digest[4] & 1 else -1.0
        norm = float(np.linalg.norm(vector))
        if norm == 0.0:
            vector[0], norm = 1.0, 1.0
        vector /= norm
        vector.setflags(write=False)
        return vector
