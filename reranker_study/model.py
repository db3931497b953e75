"""Cross-encoder modules that map ``(input_ids, attention_mask, token_type_ids)`` to one score.

Two kinds load from a directory:

* any Hugging Face sequence-classification model (one logit, or two classes
  scored as relevant minus not relevant);
* our own :class:`SegmentCosineCrossEncoder` (a directory with ``score_head.pt``):
  a BERT encoder over the pair whose query and passage token states are
  mean-pooled separately and compared by cosine. In all-MiniLM-L6-v2 only the
  mean carries signal — its [CLS] state barely varies between inputs, so a
  [CLS] head learns nothing in a short CPU run.
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


class SegmentCosineCrossEncoder(torch.nn.Module):
    """BERT over the pair; score = scale · cos(mean query-token state, mean passage-token state) + bias.

    The query and passage attend to each other in every layer (a cross-encoder),
    but the score is read the way all-MiniLM-L6-v2 was trained to be read: as the
    cosine of mean-pooled states. So the untrained model already ranks like a
    contextual bag-of-words matcher and training refines it. A fresh linear head
    over the mean of the whole pair (the first design) started from nothing: its
    loss stayed at ln 4 for 90 steps of a 2-layer run.
    """

    def __init__(self, bert: Any, scale: float = 20.0) -> None:
        super().__init__()
        self.bert = bert
        self.config = bert.config
        self.scale = torch.nn.Parameter(torch.tensor(float(scale)))
        self.bias = torch.nn.Parameter(torch.tensor(0.0))

    def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
        states = self.bert(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).last_hidden_state
        mask = attention_mask.to(states.dtype)
        second = token_type_ids.to(states.dtype)
        query = _masked_mean(states, mask * (1.0 - second))
        passage = _masked_mean(states, mask * second)
        return self.scale * torch.nn.functional.cosine_similarity(query, passage, dim=-1) + self.bias

    @classmethod
    def from_encoder(cls, path: str | Path, layers: int | None = None) -> "SegmentCosineCrossEncoder":
        """The first ``layers`` layers of the BERT encoder at ``path`` with a fresh scale and bias."""
        from transformers import BertModel

        extra = {"num_hidden_layers": layers} if layers else {}
        return cls(BertModel.from_pretrained(str(path), add_pooling_layer=False, **extra))

    def save(self, path: Path) -> None:
        self.bert.save_pretrained(str(path))
        torch.save({"scale": self.scale.detach(), "bias": self.bias.detach()}, Path(path) / HEAD_FILE)

    @classmethod
    def load(cls, path: Path) -> "SegmentCosineCrossEncoder":
        model = cls.from_encoder(path)
        head = torch.load(Path(path) / HEAD_FILE, weights_only=True)
        with torch.no_grad():
            model.scale.copy_(head["scale"])
            model.bias.copy_(head["bias"])
        return model


def _masked_mean(states: Any, mask: Any) -> Any:
    weights = mask.unsqueeze(-1)
    return (states * weights).sum(1) / weights.sum(1).clamp(min=1.0)


def load_scorer(source: str | Path) -> torch.nn.Module:
    """The scoring module in ``source``, in eval mode (export needs it)."""
    if (Path(source) / HEAD_FILE).is_file():
        return SegmentCosineCrossEncoder.load(Path(source)).eval()
    from transformers import AutoModelForSequenceClassification

    return HFScorer(AutoModelForSequenceClassification.from_pretrained(str(source))).eval()
