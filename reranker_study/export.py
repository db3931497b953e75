"""Export a Hugging Face sequence-classification cross-encoder to ONNX.

Writes ``model.onnx`` (fp32) and ``model_int8.onnx`` (dynamic int8), the fast
tokenizer, and ``model_card.json`` (source, variants, max length, opset,
parity figures, hashes). A parity check against PyTorch on real pairs runs as
part of the export and fails it when off.

    python -m reranker_study.export SOURCE OUT_DIR [--max-length 128] [--variants fp32,int8]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from app.embedding import sha256_file
from app.onnx_session import cpu_session
from app.rerank.runtime import VARIANT_FILES, PairEncoder
from app.settings import available_cores

OPSET = 17
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt")
#: fp32 ONNX must match PyTorch this closely (absolute, on logits).
FP32_MAX_ABS_DIFF = 1e-3
#: int8 must keep the PyTorch ranking of the parity pairs this well (Spearman).
INT8_MIN_SPEARMAN = 0.9

#: Generic pairs (written for this check, no collection text): each query comes
#: with a matching passage and off-topic ones, so scores spread like real use.
PARITY_PAIRS: tuple[tuple[str, str], ...] = tuple(
    (q, p)
    for q, passages in (
        (
            "how do vaccines train the immune system",
            (
                "Vaccines expose the immune system to a harmless piece of a pathogen so that it learns to produce antibodies.",
                "The recipe calls for two cups of flour, a pinch of salt and a spoon of sugar.",
                "Railway timetables were standardised in the nineteenth century to coordinate trains.",
                "Memory cells created after vaccination respond quickly when the real virus appears later.",
            ),
        ),
        (
            "boundary layer separation on a wing at high angle of attack",
            (
                "At high angles of attack the boundary layer on the upper surface of the wing separates and lift drops.",
                "The library catalogue lists books by author, title and subject heading.",
                "Compilers translate a high level language into machine code in several passes.",
                "Stall occurs when airflow detaches from the wing because the adverse pressure gradient is too strong.",
            ),
        ),
        (
            "sorting algorithms with guaranteed n log n time",
            (
                "Heapsort and merge sort run in O(n log n) time in the worst case.",
                "Quicksort is fast on average but degrades to quadratic time on bad pivots.",
                "The museum opens at nine and closes at five on weekdays.",
                "Bees communicate the direction of flowers through a waggle dance.",
            ),
        ),
        (
            "indexing and retrieval of documents in libraries",
            (
                "Automatic indexing assigns subject terms to documents so that they can be retrieved by queries.",
                "The turbine blades are cooled by air bled from the compressor.",
                "Inverted files map each term to the documents that contain it.",
                "A good espresso needs finely ground coffee and water at the right pressure.",
            ),
        ),
    )
    for p in passages
)


def encode_pairs(tokenizer: Any, pairs: Sequence[tuple[str, str]], max_length: int) -> dict[str, np.ndarray]:
    """Pad a batch of pairs, truncating only the passage side (export-time helper)."""
    return PairEncoder(tokenizer, max_length).batch(pairs)


def spearman(a: Sequence[float], b: Sequence[float]) -> float:
    """Spearman rank correlation (no tie correction; scores here are continuous)."""
    ra = np.argsort(np.argsort(np.asarray(a)))
    rb = np.argsort(np.argsort(np.asarray(b)))
    return float(np.corrcoef(ra, rb)[0, 1])


def export_cross_encoder(
    source: str | Path,
    out_dir: Path,
    *,
    max_length: int = 128,
    variants: Sequence[str] = ("fp32", "int8"),
    parity_pairs: Sequence[tuple[str, str]] = PARITY_PAIRS,
    fp32_tolerance: float = FP32_MAX_ABS_DIFF,
    int8_min_spearman: float = INT8_MIN_SPEARMAN,
    extra_card: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Export ``source`` (a local dir, or a hub id when the hub is reachable) into ``out_dir``.

    Returns the model card. Raises ``ValueError`` when parity fails; nothing is
    left in ``out_dir`` in that case.
    """
    import onnxruntime as ort
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from tokenizers import Tokenizer
    from transformers import AutoTokenizer

    from reranker_study.model import load_scorer

    unknown = set(variants) - set(VARIANT_FILES)
    if unknown:
        raise ValueError(f"unknown variants {sorted(unknown)}; choose from {sorted(VARIANT_FILES)}")
    scorer = load_scorer(source)
    out_dir = Path(out_dir)
    with tempfile.TemporaryDirectory(prefix="rerank-export-") as tmp_name:
        tmp = Path(tmp_name)
        AutoTokenizer.from_pretrained(str(source)).save_pretrained(str(tmp))
        tokenizer = Tokenizer.from_file(str(tmp / "tokenizer.json"))
        batch = encode_pairs(tokenizer, parity_pairs, max_length)
        inputs = {k: torch.from_numpy(v) for k, v in batch.items()}
        with torch.no_grad():
            reference = scorer(**inputs).numpy().astype(np.float64)

        fp32_path = tmp / VARIANT_FILES["fp32"]
        torch.onnx.export(
            scorer,
            (inputs["input_ids"], inputs["attention_mask"], inputs["token_type_ids"]),
            str(fp32_path),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["score"],
            dynamic_axes={name: {0: "batch", 1: "sequence"} for name in inputs} | {"score": {0: "batch"}},
            opset_version=OPSET,
            dynamo=False,  # the TorchScript exporter gives a plain graph that quantises cleanly
        )
        checked: dict[str, Any] = {}
        # fp32 parity is always checked: int8 is quantised from it.
        for variant in dict.fromkeys(("fp32", *variants)):
            path = tmp / VARIANT_FILES[variant]
            if variant == "int8":
                quantize_dynamic(str(fp32_path), str(path), weight_type=QuantType.QInt8, per_channel=True)
            session = cpu_session(path, available_cores())
            scores = session.run(None, batch)[0].astype(np.float64)
            parity = {
                "pairs": len(parity_pairs),
                "max_abs_diff": float(np.max(np.abs(scores - reference))),
                "spearman": spearman(scores, reference),
            }
            if variant == "fp32" and parity["max_abs_diff"] > fp32_tolerance:
                raise ValueError(f"fp32 parity failed: max abs diff {parity['max_abs_diff']:.2e} > {fp32_tolerance:.0e}")
            if variant == "int8" and parity["spearman"] < int8_min_spearman:
                raise ValueError(f"int8 parity failed: Spearman {parity['spearman']:.3f} < {int8_min_spearman}")
            checked[variant] = {"file": path.name, "sha256": sha256_file(path), "bytes": path.stat().st_size, "parity": parity}
        config = scorer.config
        card = {
            "kind": "cross-encoder",
            "source": str(source),
            "architecture": f"{config.model_type} ({type(scorer).__name__})",
            "layers": config.num_hidden_layers,
            "hidden_size": config.hidden_size,
            "max_length": max_length,
            "opset": OPSET,
            "inputs": ["input_ids", "attention_mask", "token_type_ids"],
            "output": "score (higher = more relevant)",
            "variants": {variant: checked[variant] for variant in variants},
            "fp32_parity": checked["fp32"]["parity"],
            "exported_with": {"torch": torch.__version__, "onnxruntime": ort.__version__},
            **(extra_card or {}),
        }
        out_dir.mkdir(parents=True, exist_ok=True)
        for name in TOKENIZER_FILES:
            if (tmp / name).exists():
                shutil.copy2(tmp / name, out_dir / name)
        for variant in variants:
            shutil.copy2(tmp / VARIANT_FILES[variant], out_dir / VARIANT_FILES[variant])
        for variant in set(VARIANT_FILES) - set(variants):
            (out_dir / VARIANT_FILES[variant]).unlink(missing_ok=True)  # no stale file beside a new card
        (out_dir / "model_card.json").write_text(json.dumps(card, indent=2, sort_keys=True) + "\n")
    return card


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", help="local model directory (or hub id where the hub is reachable)")
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--variants", default="fp32,int8", help="comma-separated: fp32,int8")
    parser.add_argument("--command", default="", help="rebuild command to record in the model card")
    args = parser.parse_args(argv)
    extra = {"rebuild_command": args.command} if args.command else None
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    card = export_cross_encoder(args.source, args.out_dir, max_length=args.max_length, variants=args.variants.split(","), extra_card=extra)
    json.dump(card["variants"], sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
