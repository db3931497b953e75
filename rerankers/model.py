"""Cross-encoder modules that map ``(input_ids, attention_mask, token_type_ids)`` to one score.

Two kinds load from a directory:

* any Hugging Face sequence-classification model (one logit, or two classes
  scored as relevant minus not relevant);
* our own :class:`MeanPoolCrossEncoder` (a directory with ``score_head.pt``):
  a BERT encoder whose token states are mean-pooled into a linear head. Mean
  pooling, because in all-MiniLM-L6-v2 only the mean carries signal — its
  [CLS] state barely varies between inputs, so a [CLS] head learns nothing in
  a short CPU run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

HEAD_FILE = "score_head.pt"


class HFScorer(torch.nn.Module):
    """Wraps a Hugging Face ``*ForSequenceClassification`` model."""

    def __init__(self, inner: Any) -> None:
        super().__init__()
        self.inner = inner
        self.config = inner.config
        # Decided here, not in forward, so tracing sees no shape branch.
        self.two_class = inner.config.num_labels == 2

    def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
        logits = self.inner(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).logits
        return logits[:, 1] - logits[:, 0] if self.two_class else logits[:, 0]


class MeanPoolCrossEncoder(torch.nn.Module):
    """BERT over the pair, masked mean of the token states, linear score."""

    def __init__(self, bert: Any) -> None:
        super().__init__()
        self.bert = bert
        self.config = bert.config
        self.head = torch.nn.Linear(bert.config.hidden_size, 1)

    def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
        states = self.bert(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(states.dtype)
        pooled = (states * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        return self.head(pooled)[:, 0]

    @classmethod
    def from_encoder(cls, path: str | Path, layers: int | None = None) -> "MeanPoolCrossEncoder":
        """A fresh head over the first ``layers`` layers of the BERT encoder at ``path``."""
        from transformers import BertModel

        extra = {"num_hidden_layers": layers} if layers else {}
        return cls(BertModel.from_pretrained(str(path), add_pooling_layer=False, **extra))

    def save(self, path: Path) -> None:
        self.bert.save_pretrained(str(path))
        torch.save(self.head.state_dict(), Path(path) / HEAD_FILE)

    @classmethod
    def load(cls, path: Path) -> "MeanPoolCrossEncoder":
        model = cls.from_encoder(path)
        model.head.load_state_dict(torch.load(Path(path) / HEAD_FILE, weights_only=True))
        return model


def load_scorer(source: str | Path) -> torch.nn.Module:
    """The scoring module in ``source``, in eval mode (export needs it)."""
    if (Path(source) / HEAD_FILE).is_file():
        return MeanPoolCrossEncoder.load(Path(source)).eval()
    from transformers import AutoModelForSequenceClassification

    return HFScorer(AutoModelForSequenceClassification.from_pretrained(str(source))).eval()
