"""Any BEIR directory → a cached embedded index that the real query path searches.

The index lives under ``<eval_cache_dir>/<name>-<key>/`` where the key hashes
the corpus bytes, the embedding model version and the settings that shape the
index (chunking, template), so a changed corpus or model never reuses a stale
index and an unchanged one is embedded once. Every document goes into one
tenant with ACL ``["*"]`` (readable by every caller of that tenant).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from tqdm import tqdm

from app.auth import Caller
from app.backends.embedded import EmbeddedBackend
from app.documents import Document, LineError, parse_line
from app.evaluation.judgments import BeirDataset, file_digest
from app.ingest import ingest_documents
from app.rerank import NO_RERANKER, RerankStage
from app.search_service import SearchService
from app.settings import Settings

if TYPE_CHECKING:  # the encoder module loads onnxruntime; only its type is needed here
    from app.embedding import Encoder

_MARKER = "COMPLETE.json"


@dataclass
class IndexedCollection:
    """A judged collection with its index, ready to be searched."""

    dataset: BeirDataset
    settings: Settings
    backend: EmbeddedBackend
    encoder: "Encoder"
    key: str

    @property
    def caller(self) -> Caller:
        """Reads everything: the tenant is the collection's, its ACLs are ``*``."""
        return Caller(subject="relevance-workbench", tenant=self.settings.eval_tenant, principals=frozenset())

    def service(self, reranker: RerankStage = NO_RERANKER) -> SearchService:
        """The production query path over this collection's index."""
        return SearchService(self.settings, self.backend, self.encoder, reranker)


def collection_key(dataset: BeirDataset, encoder: "Encoder", settings: Settings) -> str:
    """Identity of the index a collection needs: content, model and index shape."""
    shape = {
        "corpus": file_digest(dataset.corpus_path),
        "model": encoder.model_version,
        "chunk_max_tokens": settings.chunk_max_tokens,
        "chunk_overlap_tokens": settings.chunk_overlap_tokens,
        "template_version": settings.template_version,
        "tenant": settings.eval_tenant,
    }
    return hashlib.sha256(json.dumps(shape, sort_keys=True).encode()).hexdigest()[:16]


def open_collection(dataset: BeirDataset, encoder: "Encoder", settings: Settings, *, progress: bool = True) -> IndexedCollection:
    """The collection's cached index, built (or finished, after an interruption) on first use."""
    key = collection_key(dataset, encoder, settings)
    root = Path(settings.eval_cache_dir) / f"{_safe(dataset.name)}-{key}"
    index_settings = settings.replace(data_dir=root)
    backend = EmbeddedBackend(index_settings)
    if not (root / _MARKER).is_file():
        root.mkdir(parents=True, exist_ok=True)
        total = sum(1 for line in open(dataset.corpus_path, "rb") if line.strip())
        with tqdm(total=total, desc=f"indexing {dataset.name}", unit="doc", disable=not progress, leave=False) as bar:
            def advance(report) -> None:
                bar.n = report.indexed + report.unchanged
                bar.refresh()

            report = ingest_documents(
                beir_documents(dataset, settings.eval_tenant), backend, encoder, index_settings, progress=advance
            )
        if report.indexed + report.unchanged == 0:
            raise ValueError(f"{dataset.corpus_path}: no document could be indexed ({report.failed} invalid)")
        (root / _MARKER).write_text(
            json.dumps({"key": key, "dataset": str(dataset.root), "documents": report.indexed + report.unchanged,
                        "chunks": report.chunks, "skipped": report.failed}, indent=2)
        )
    elif (cached := backend.alias_target()) is not None:
        # An index cached by an older release is brought up to this storage schema
        # before its snapshot is loaded (the rows are kept; what derives from them
        # is rebuilt). A missing alias is reported by the first search.
        backend.repair(cached)
    return IndexedCollection(dataset, index_settings, backend, encoder, key)


def beir_documents(dataset: BeirDataset, tenant: str) -> Iterator[Document | LineError]:
    """``corpus.jsonl`` records as service documents, validated like any ingest line."""
    with open(dataset.corpus_path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                text = json.dumps({
                    "id": str(record["_id"]),
                    "title": str(record.get("title") or ""),
                    "body": str(record.get("text") or ""),
                    "tenant": tenant,
                    "acl": ["*"],
                })
            except (ValueError, KeyError, TypeError) as exc:
                yield LineError(str(dataset.corpus_path), number, {"_json": [f"not a BEIR record: {exc!r}"]})
                continue
            yield parse_line(text, str(dataset.corpus_path), number)


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)[:40] or "collection"
