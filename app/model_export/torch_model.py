"""The PyTorch side of an export: load the packaged BERT, trace it to ONNX, embed the
reference vectors, and make the int8 variant (SmoothQuant, then dynamic quantisation)."""

from __future__ import annotations

import contextlib
import logging
import re
import warnings
from pathlib import Path
from typing import Any, Iterator, Sequence

from app.model_export.card import ExportError
from app.model_export.recipe import CALIBRATION_TEXTS, INT8_RECIPE, OPSET

def tokenizer_for(path: Path, max_length: int) -> Any:
    """The packaged tokenizer as the runtime configures it: truncate at ``max_length``, no padding."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(path))
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length)
    return tokenizer


def load_bert(source: Path) -> Any:
    """The BERT encoder (no pooler) in eval mode, read from the package folder only."""
    import transformers
    from transformers import BertModel

    verbosity = transformers.logging.get_verbosity()
    transformers.logging.set_verbosity_error()  # the pooler weights we skip are reported as "unexpected"
    transformers.logging.disable_progress_bar()
    try:
        # Eager attention traces to plain MatMul/Softmax ops (no SDPA kernel choice baked into the graph).
        model = BertModel.from_pretrained(
            str(source), local_files_only=True, add_pooling_layer=False, attn_implementation="eager"
        )
    finally:
        transformers.logging.set_verbosity(verbosity)
        transformers.logging.enable_progress_bar()
    return model.eval()  # eval(): dropout off in the traced graph


def encode(tokenizer: Any, texts: Sequence[str]) -> tuple[Any, Any]:
    """``input_ids`` and ``attention_mask`` tensors, right-padded to the longest text."""
    import torch

    encodings = tokenizer.encode_batch(list(texts))
    width = max(len(e.ids) for e in encodings)
    ids = torch.zeros((len(texts), width), dtype=torch.long)
    mask = torch.zeros((len(texts), width), dtype=torch.long)
    for row, encoding in enumerate(encodings):
        ids[row, : len(encoding.ids)] = torch.tensor(encoding.ids)
        mask[row, : len(encoding.ids)] = 1
    return ids, mask


def export_onnx(model: Any, tokenizer: Any, target: Path) -> None:
    """Trace ``model`` to ONNX: three int64 inputs, token embeddings out, dynamic batch and sequence."""
    import onnx
    import torch

    class TokenEmbeddings(torch.nn.Module):
        """The last hidden state only, so the graph has a single output."""

        def __init__(self, bert: torch.nn.Module) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor) -> torch.Tensor:
            return self.bert(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).last_hidden_state

    wrapper = TokenEmbeddings(model).eval()
    # Two texts of different lengths, so the traced graph sees real padding.
    ids, mask = encode(tokenizer, ["A short sample.", "A somewhat longer sample sentence for tracing the encoder."])
    axes = {0: "batch", 1: "sequence"}
    with torch.no_grad(), warnings.catch_warnings():
        # The TorchScript exporter is deprecated (and says so), and the tracer warns about
        # a mask-padding branch that is constant for an encoder; the parity check guards both.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            wrapper,
            (ids, mask, torch.zeros_like(ids)),
            str(target),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["token_embeddings"],
            dynamic_axes={"input_ids": axes, "attention_mask": axes, "token_type_ids": axes, "token_embeddings": axes},
            opset_version=OPSET,
            do_constant_folding=True,
            dynamo=False,  # the dynamo exporter needs onnxscript, which is not a dependency
        )
    onnx.checker.check_model(str(target))


def smooth(model: Any, tokenizer: Any) -> None:
    """SmoothQuant the Linears that will be quantised, in place (same function, flatter inputs)."""
    import torch

    class ScaledInput(torch.nn.Module):
        """``linear(x * inv_scale)``: the smoothing division, exported as one Mul."""

        def __init__(self, linear: torch.nn.Linear, inv_scale: torch.Tensor) -> None:
            super().__init__()
            self.linear = linear
            self.register_buffer("inv_scale", inv_scale)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.linear(x * self.inv_scale)

    alpha = float(INT8_RECIPE["smoothquant_alpha"])
    targets: dict[str, torch.nn.Linear] = {}
    for index, layer in enumerate(model.encoder.layer):
        for name in INT8_RECIPE["quantized_linears"]:
            targets[f"{index}.{name}"] = layer.get_submodule(name)

    # Per-input-channel max |x| over the calibration texts, one text per pass (no padding in the stats).
    act_max: dict[str, torch.Tensor] = {}

    def recorder(key: str):  # noqa: ANN202 - a forward hook
        def hook(_module: torch.nn.Module, inputs: tuple[torch.Tensor, ...], _output: torch.Tensor) -> None:
            seen = inputs[0].detach().abs().reshape(-1, inputs[0].shape[-1]).amax(dim=0)
            act_max[key] = torch.maximum(act_max[key], seen) if key in act_max else seen

        return hook

    handles = [linear.register_forward_hook(recorder(key)) for key, linear in targets.items()]
    try:
        with torch.no_grad():
            for text in CALIBRATION_TEXTS:
                ids, mask = encode(tokenizer, [text])
                model(input_ids=ids, attention_mask=mask, token_type_ids=torch.zeros_like(ids))
    finally:
        for handle in handles:
            handle.remove()

    with torch.no_grad():
        for index, layer in enumerate(model.encoder.layer):
            for name in INT8_RECIPE["quantized_linears"]:
                key = f"{index}.{name}"
                linear = targets[key]
                weight_max = linear.weight.abs().amax(dim=0).clamp(min=1e-5)
                scale = (act_max[key].clamp(min=1e-5).pow(alpha) / weight_max.pow(1 - alpha)).clamp(min=1e-5)
                linear.weight.mul_(scale)  # y = (x / s) (W s)ᵀ + b = x Wᵀ + b
                parent_name, _, child = name.rpartition(".")
                setattr(layer.get_submodule(parent_name), child, ScaledInput(linear, 1.0 / scale))




@contextlib.contextmanager
def quiet_quantizer() -> Iterator[None]:
    """Silence onnxruntime's quantiser, which logs per-node notes and generic advice on the root logger."""

    def keep(record: logging.LogRecord) -> bool:
        if record.name != "root":
            return True
        return record.levelno > logging.WARNING or (
            record.levelno == logging.WARNING and "pre-processing before quantization" not in record.getMessage()
        )

    root = logging.getLogger()
    root.addFilter(keep)
    try:
        yield
    finally:
        root.removeFilter(keep)


def quantize(source: Path, target: Path, *, num_layers: int) -> None:
    """Dynamic int8 quantisation of ``source``, leaving the recipe's fp32 Linears alone."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    graph = onnx.load(str(source), load_external_data=False).graph
    keep_fp32: list[str] = []
    for name in INT8_RECIPE["fp32_linears"]:
        # Node names follow module paths, e.g. /bert/encoder/layer.3/output/dense/MatMul.
        pattern = re.compile(rf"/encoder/layer\.\d+/{re.escape(name.replace('.', '/'))}/MatMul$")
        found = [node.name for node in graph.node if node.op_type == "MatMul" and pattern.search(node.name)]
        if len(found) != num_layers:
            raise ExportError(f"expected {num_layers} MatMul nodes for {name!r}, found {len(found)}: exporter naming changed")
        keep_fp32 += found
    with quiet_quantizer():
        quantize_dynamic(
            str(source),
            str(target),
            per_channel=bool(INT8_RECIPE["per_channel"]),
            reduce_range=bool(INT8_RECIPE["reduce_range"]),
            weight_type=getattr(QuantType, INT8_RECIPE["weight_type"]),
            nodes_to_exclude=keep_fp32,
        )


def torch_embeddings(model: Any, tokenizer: Any, texts: Sequence[str]) -> Any:
    """PyTorch reference: mean pooling over the mask, then L2 normalisation (one text per pass)."""
    import torch

    rows = []
    with torch.no_grad():
        for text in texts:
            ids, mask = encode(tokenizer, [text])
            hidden = model(input_ids=ids, attention_mask=mask, token_type_ids=torch.zeros_like(ids)).last_hidden_state
            pooled = (hidden * mask[..., None]).sum(dim=1) / mask.sum(dim=1, keepdim=True)
            rows.append(torch.nn.functional.normalize(pooled, dim=1)[0])
    return torch.stack(rows).numpy()
