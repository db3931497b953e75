"""Rebuild the PyTorch checkpoint of a shipped cross-encoder from its int8 ONNX file.

The int8 file holds every weight the scorer has: per-channel int8 matrices
with their scales and zero points, uint8 embeddings, fp32 biases and norms,
and the head's scale and bias. Dequantised, they make a
:class:`~reranker_study.model.SegmentCosineCrossEncoder` whose dynamic int8
export is the shipped file again (same scores), so the fp32 checkpoint a model
was quantised from is not needed to export it anew, in fp32 or in another graph.

    python -m reranker_study.recover OUT_DIR [--model-dir models/reranker] [--fusions]

Writes the checkpoint (``model.py``'s format, with the tokenizer) to OUT_DIR;
``python -m reranker_study.export OUT_DIR DIR`` exports it. ``--fusions``
prints, for onnxruntime's transformer fusions of the recovered graph, the
largest score difference from the shipped file and the depth-20 latency on
one thread (docs/performance.md, "Reranking at depth 20").
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from app.onnx_session import CARD_FILE, TOKENIZER_FILE, cpu_session
from app.rerank.runtime import VARIANT_FILES, Reranker
from reranker_study.export import OPSET, PARITY_PAIRS, TOKENIZER_FILES, encode_pairs
from reranker_study.firststage import minilm_dir

QUANTIZED, SCALE, ZERO_POINT = "_quantized", "_scale", "_zero_point"
#: The graphs ``--fusions`` compares: onnxruntime ``FusionOptions`` fields per variant.
FUSIONS: dict[str, dict[str, bool]] = {
    "attention fused (QAttention once quantised)": {},
    "multi-head attention fused, projections int8": {"use_multi_head_attention": True, "disable_multi_head_attention_bias": True},
    "norms and GELU fused, attention not": {"enable_attention": False},
}


def dequantized_weights(int8_path: Path) -> dict[str, np.ndarray]:
    """The scorer's parameters by PyTorch name, dequantised from ``int8_path``."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(int8_path)).graph
    stored = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    consumers: dict[str, list[Any]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)

    def dequantized(base: str) -> np.ndarray:
        q = stored[base + QUANTIZED].astype(np.float32)
        return (q - stored[base + ZERO_POINT].astype(np.float32)) * stored[base + SCALE]

    weights = {name: array for name, array in stored.items() if name in ("scale", "bias")
               or (name.startswith("bert.") and not name.endswith((QUANTIZED, SCALE, ZERO_POINT)))}
    for name in stored:
        if name.startswith("bert.") and name.endswith(QUANTIZED):  # the embeddings: named after their module
            weights[name[: -len(QUANTIZED)]] = dequantized(name[: -len(QUANTIZED)])
    for node in graph.node:
        if node.op_type != "MatMulInteger":
            continue
        # The exporter names a linear layer's matrix after its MatMul, not its module;
        # its bias (MatMulInteger → Cast → Mul by the scales → Add) carries the name.
        after = node
        for _ in range(3):
            after = consumers[after.output[0]][0]
        bias = next(name for name in after.input if name.endswith(".bias"))
        weights[bias[: -len("bias")] + "weight"] = np.ascontiguousarray(dequantized(node.input[1][: -len(QUANTIZED)]).T)
    return weights


def recover_checkpoint(model_dir: Path, out_dir: Path) -> Path:
    """Write the checkpoint behind ``model_dir``'s int8 file to ``out_dir`` (with its tokenizer)."""
    import torch
    from transformers import BertConfig, BertModel

    from reranker_study.model import SegmentCosineCrossEncoder

    card = json.loads((model_dir / CARD_FILE).read_text())
    config = BertConfig.from_pretrained(str(minilm_dir()), num_hidden_layers=int(card["layers"]))
    scorer = SegmentCosineCrossEncoder(BertModel(config, add_pooling_layer=False))
    state = {name: torch.from_numpy(array.copy()) for name, array in dequantized_weights(model_dir / VARIANT_FILES["int8"]).items()}
    scorer.load_state_dict(state, strict=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    scorer.save(out_dir)
    for name in TOKENIZER_FILES:
        if (model_dir / name).is_file():
            shutil.copy2(model_dir / name, out_dir / name)
    return out_dir


def fused_variants(checkpoint: Path, work: Path) -> dict[str, Path]:
    """An int8 file per entry of :data:`FUSIONS`, exported from ``checkpoint`` into ``work``."""
    import onnx
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers.fusion_options import FusionOptions
    from onnxruntime.transformers.optimizer import optimize_model
    from tokenizers import Tokenizer

    from reranker_study.model import SegmentCosineCrossEncoder

    # The eager attention graph is the one onnxruntime's fusions recognise.
    scorer = SegmentCosineCrossEncoder.load(checkpoint)
    scorer.bert.config._attn_implementation = "eager"
    scorer.eval()
    batch = encode_pairs(Tokenizer.from_file(str(checkpoint / TOKENIZER_FILE)), PARITY_PAIRS[:2], 64)
    inputs = tuple(torch.from_numpy(batch[name]) for name in ("input_ids", "attention_mask", "token_type_ids"))
    fp32 = work / "eager.onnx"
    torch.onnx.export(scorer, inputs, str(fp32), input_names=list(batch), output_names=["score"],
                      dynamic_axes={name: {0: "batch", 1: "sequence"} for name in batch} | {"score": {0: "batch"}},
                      opset_version=OPSET, dynamo=False)
    config = scorer.bert.config
    variants = {}
    for index, (label, fields) in enumerate(FUSIONS.items()):
        options = FusionOptions("bert")
        for field, value in fields.items():
            setattr(options, field, value)
        fused = work / f"fused-{index}.onnx"
        optimize_model(str(fp32), model_type="bert", num_heads=config.num_attention_heads, hidden_size=config.hidden_size,
                       opt_level=0, optimization_options=options).save_model_to_file(str(fused))
        variants[label] = work / f"fused-{index}-int8.onnx"
        quantize_dynamic(str(fused), str(variants[label]), weight_type=QuantType.QInt8, per_channel=True,
                         extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    return variants


def depth_20_latency(model_dir: Path, int8_file: Path, repeats: int) -> tuple[float, float]:
    """p50 and p95 ms of 20 full-length pairs on one thread with ``int8_file`` as the model."""
    with tempfile.TemporaryDirectory(prefix="rerank-variant-") as name:
        staged = Path(name)
        for file in (CARD_FILE, TOKENIZER_FILE, "tokenizer_config.json"):
            if (model_dir / file).is_file():
                shutil.copy2(model_dir / file, staged / file)
        shutil.copy2(int8_file, staged / VARIANT_FILES["int8"])
        reranker = Reranker(staged, variant="int8", threads=1)
        rng = random.Random(0)
        words = [w for _, passage in PARITY_PAIRS for w in passage.split()]
        passages = [" ".join(rng.choice(words) for _ in range(reranker.encoder.max_length)) for _ in range(20)]
        times = []
        for _ in range(repeats):
            began = time.perf_counter()
            reranker.score(PARITY_PAIRS[0][0], passages)
            times.append((time.perf_counter() - began) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.95))]


def compare_fusions(model_dir: Path, checkpoint: Path, repeats: int) -> list[str]:
    """One line per graph: largest score difference from the shipped file, p50 / p95 at depth 20."""
    from tokenizers import Tokenizer

    shipped = model_dir / VARIANT_FILES["int8"]
    batch = encode_pairs(Tokenizer.from_file(str(model_dir / TOKENIZER_FILE)), PARITY_PAIRS, 128)
    reference = cpu_session(shipped, 1).run(None, batch)[0]
    lines = []
    with tempfile.TemporaryDirectory(prefix="rerank-fusions-") as name:
        graphs = {"shipped (no fusions)": shipped, **fused_variants(checkpoint, Path(name))}
        for label, path in graphs.items():
            diff = float(np.max(np.abs(cpu_session(path, 1).run(None, batch)[0] - reference)))
            p50, p95 = depth_20_latency(model_dir, path, repeats)
            lines.append(f"{label:48s} max |Δscore| {diff:6.3f}   depth 20, 1 thread: p50 {p50:6.1f} ms  p95 {p95:6.1f} ms")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    from app.settings import Settings

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--model-dir", type=Path, default=Settings().rerank_model_dir)
    parser.add_argument("--fusions", action="store_true", help="compare onnxruntime's fused graphs of the recovered model")
    parser.add_argument("--repeats", type=int, default=40)
    args = parser.parse_args(argv)
    if not (args.model_dir / VARIANT_FILES["int8"]).is_file():
        print(f"recover: no {VARIANT_FILES['int8']} in {args.model_dir}", file=sys.stderr)
        return 2
    checkpoint = recover_checkpoint(args.model_dir, args.out_dir)
    print(f"checkpoint written to {checkpoint}; export it with: python -m reranker_study.export {checkpoint} DIR")
    if args.fusions:
        for line in compare_fusions(args.model_dir, checkpoint, args.repeats):
            print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
