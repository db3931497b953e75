"""Where documents come from: local JSONL files and folders, stdin, S3 (:mod:`.s3`)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Iterator

from app.documents import Document, LineError, read_documents, read_jsonl_file
from app.settings import Settings
from app.sources.errors import SourceError

__all__ = ["SourceError", "count_documents", "read_source"]


def read_source(uri: str, settings: Settings) -> Iterator[Document | LineError]:
    """Documents and line errors from a file, a folder of ``*.jsonl``, ``-`` or ``s3://``."""
    if uri == "-":
        yield from read_documents(sys.stdin, "<stdin>")
        return
    if uri.startswith("s3://"):
        from app.sources.s3 import read_s3_prefix

        yield from read_s3_prefix(uri, settings)
        return
    for file in local_files(uri):
        yield from read_jsonl_file(file)


def local_files(uri: str) -> list[Path]:
    """The JSONL files of a local source: the file itself, or a folder's ``*.jsonl``; SourceError if none."""
    path = Path(uri)
    if path.is_dir():
        files = sorted(path.rglob("*.jsonl"))
        if not files:
            raise SourceError(f"{path}: no *.jsonl files in this folder")
        return files
    if path.is_file():
        return [path]
    raise SourceError(f"{uri}: no such file or folder")


def count_documents(uri: str) -> int | None:
    """Non-blank lines of a local source (what a progress line needs for the time
    left); ``None`` for stdin and ``s3://``, which cannot be read twice or cheaply."""
    if uri == "-" or uri.startswith("s3://"):
        return None
    try:
        files = local_files(uri)
    except SourceError:
        return None  # reading the source says what is wrong with it
    total = 0
    for file in files:
        with open(file, "rb") as handle:
            total += sum(1 for line in handle if line.strip())
    return total
