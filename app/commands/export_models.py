"""``hybrid-search export-models``: ONNX export of the embedding model."""

from __future__ import annotations

import argparse
from pathlib import Path

from app.settings import Settings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("export-models", help="export the embedding model to ONNX (fp32 + int8)")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: HYBRID_MODEL_DIR)")
    parser.add_argument("--force", action="store_true", help="export even if the files are up to date")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from app.model_export import export_embedding_model

    out = args.out or settings.model_dir
    card = export_embedding_model(Path(out), force=args.force)
    print(f"embedding model ready in {out}: parity {card.parity}")
    return 0
