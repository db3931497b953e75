"""Fine-tune a cross-encoder from the all-MiniLM-L6-v2 weights, on CPU.

    python -m reranker_study.train OUT_DIR --collections cranfield,cisi,cacm --layers 2 --max-length 128

Keeps the first ``--layers`` transformer layers, scores by the cosine of
the mean query and passage token states (:class:`reranker_study.model.SegmentCosineCrossEncoder`) and trains with a
listwise softmax loss over (positive, hard negatives) groups
(see :mod:`reranker_study.pairs`). Deterministic for a seed and thread count;
prints progress; a checkpoint every ``--checkpoint-every`` steps lets an
interrupted run resume where it stopped. The trained model lands in
``OUT_DIR/model`` (BERT in Hugging Face layout + ``score_head.pt``), ready
for :mod:`reranker_study.export`.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from reranker_study.collections import COLLECTIONS, load_collection
from reranker_study.firststage import HybridRetriever, minilm_dir
from reranker_study.pairs import Group, judged_groups, title_groups


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides the trained weights (hashed into checkpoints)."""

    collections: tuple[str, ...] = COLLECTIONS
    layers: int = 2
    max_length: int = 128
    seed: int = 13
    # The studied recipe (reranker_study/README.md): 1,600 groups × 4 passages, one pass
    # of 200 steps, ~8 min on two quiet cores at 2 layers × 128 tokens.
    negatives: int = 3
    positives_per_query: int = 4
    title_pairs: int = 400
    max_groups: int = 1600
    groups_per_step: int = 8
    learning_rate: float = 2e-4
    head_lr_factor: float = 100.0
    #: Keep the word-piece embeddings as MiniLM learnt them (few pairs would only blur them).
    freeze_embeddings: bool = True
    warmup_fraction: float = 0.1
    epochs: int = 1

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(dataclasses.asdict(self), sort_keys=True).encode()).hexdigest()[:16]


def build_groups(config: TrainConfig) -> list[Group]:
    """Training groups from ``config.collections``, shuffled deterministically."""
    rng = random.Random(config.seed)
    groups: list[Group] = []
    for name in config.collections:
        collection = load_collection(name)
        retriever = HybridRetriever(collection)
        judged = judged_groups(collection, retriever, rng, negatives=config.negatives, positives_per_query=config.positives_per_query)
        titled = title_groups(collection, retriever, rng, count=config.title_pairs, negatives=config.negatives)
        print(f"[data] {name}: {len(judged)} judged groups, {len(titled)} title groups", flush=True)
        groups += judged + titled
    rng.shuffle(groups)
    return groups[: config.max_groups]


def student(layers: int) -> tuple[Any, Any]:
    """The MiniLM encoder cut to ``layers`` layers with a fresh cosine head, and its tokenizer."""
    from transformers import AutoTokenizer

    from reranker_study.model import SegmentCosineCrossEncoder

    return SegmentCosineCrossEncoder.from_encoder(minilm_dir(), layers), AutoTokenizer.from_pretrained(str(minilm_dir()))


def train(config: TrainConfig, out_dir: Path, *, threads: int = 2, checkpoint_every: int = 50) -> Path:
    """Train (or resume) into ``out_dir``; returns the saved model directory."""
    import torch
    from tokenizers import Tokenizer

    from app.rerank.runtime import PairEncoder

    torch.set_num_threads(threads)
    torch.manual_seed(config.seed)
    random.seed(config.seed)
    final = out_dir / "model"
    wanted = json.loads(json.dumps(dataclasses.asdict(config)))  # tuples compare as the JSON lists on disk
    if (final / "config.json").exists() and json.loads((out_dir / "train_config.json").read_text()) == wanted:
        print(f"[train] {final} already trained with this config", flush=True)
        return final
    out_dir.mkdir(parents=True, exist_ok=True)
    groups = build_groups(config)
    model, hf_tokenizer = student(config.layers)
    encoder = PairEncoder(Tokenizer.from_str(hf_tokenizer.backend_tokenizer.to_str()), config.max_length)
    steps = config.epochs * ((len(groups) + config.groups_per_step - 1) // config.groups_per_step)
    if config.freeze_embeddings:
        model.bert.embeddings.word_embeddings.weight.requires_grad_(False)
    head = [p for n, p in model.named_parameters() if n in ("scale", "bias")]
    body = [p for n, p in model.named_parameters() if p.requires_grad and n not in ("scale", "bias")]
    # Adam moves a parameter by about lr per step: the score's scale and bias
    # (order 10) need far larger steps than the body's weights to move at all.
    optimizer = torch.optim.AdamW(
        [{"params": body, "lr": config.learning_rate}, {"params": head, "lr": config.learning_rate * config.head_lr_factor}],
        weight_decay=0.01,
    )
    warmup = max(1, int(steps * config.warmup_fraction))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, max(0.0, (steps - s) / max(1, steps - warmup)))
    )
    checkpoint = out_dir / "checkpoint.pt"
    step = 0
    if checkpoint.exists():
        state = torch.load(checkpoint, weights_only=False)
        if state["digest"] == config.digest():
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            schedule.load_state_dict(state["schedule"])
            torch.set_rng_state(state["torch_rng"])
            step = state["step"]
            print(f"[train] resumed at step {step}/{steps}", flush=True)
    model.train()
    per_group = 1 + config.negatives
    began, recent = time.perf_counter(), []
    while step < steps:
        start = (step * config.groups_per_step) % len(groups)
        batch = groups[start : start + config.groups_per_step]
        rows = []
        for group in batch:
            rows += encoder.ids(group.query, [group.positive, *group.negatives])
        inputs = {k: torch.from_numpy(v) for k, v in encoder.pad_batch(rows).items()}
        logits = model(**inputs).view(len(batch), per_group)
        # Listwise: the positive sits at index 0 of every group.
        loss = torch.nn.functional.cross_entropy(logits, torch.zeros(len(batch), dtype=torch.long))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
        step += 1
        recent.append(loss.item())
        if step % 10 == 0 or step == steps:
            rate = step / (time.perf_counter() - began)
            print(f"[train] step {step}/{steps} loss {sum(recent) / len(recent):.4f} ({(steps - step) / max(rate, 1e-9):.0f} s left)", flush=True)
            recent = []
        if step % checkpoint_every == 0 and step < steps:
            torch.save(
                {"digest": config.digest(), "step": step, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                 "schedule": schedule.state_dict(), "torch_rng": torch.get_rng_state()},
                checkpoint,
            )
    model.eval()
    model.save(final)
    hf_tokenizer.save_pretrained(str(final))
    (out_dir / "train_config.json").write_text(json.dumps(dataclasses.asdict(config), indent=2) + "\n")
    checkpoint.unlink(missing_ok=True)
    return final


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--collections", default=",".join(COLLECTIONS))
    defaults = TrainConfig()
    for name in ("layers", "max_length", "seed", "negatives", "positives_per_query", "title_pairs", "max_groups", "groups_per_step", "epochs"):
        parser.add_argument("--" + name.replace("_", "-"), type=int, default=getattr(defaults, name))
    parser.add_argument("--learning-rate", type=float, default=defaults.learning_rate)
    parser.add_argument("--train-embeddings", action="store_true", help="also fine-tune the word-piece embeddings")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--export", type=Path, help="also export int8 ONNX + card here")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    values = {k: v for k, v in vars(args).items() if k in fields}
    values["collections"] = tuple(args.collections.split(","))
    values["freeze_embeddings"] = not args.train_embeddings
    config = TrainConfig(**values)
    final = train(config, args.out_dir, threads=args.threads)
    if args.export:
        from reranker_study.export import export_cross_encoder

        command = "python -m reranker_study.train " + " ".join(sys.argv[1:] if argv is None else argv)
        export_cross_encoder(final, args.export, max_length=config.max_length, variants=("int8",),
                             extra_card={"name": args.export.name, "rebuild_command": command, "training": dataclasses.asdict(config)})
        print(f"[export] {args.export}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
