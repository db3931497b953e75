"""The shared BEIR-layout collections the reranker is trained and judged on."""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass
from pathlib import Path

from app.settings import PROJECT_ROOT

DATASETS_DIR = Path(os.environ.get("HYBRID_DATASETS_DIR", PROJECT_ROOT.parent / "shared" / "datasets"))
COLLECTIONS = ("cranfield", "cisi", "cacm")


@dataclass(frozen=True)
class Collection:
    """Corpus, judged queries and graded judgments of one collection."""

    name: str
    titles: dict[str, str]
    texts: dict[str, str]
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]

    def passage(self, doc_id: str) -> str:
        """Title and text as one passage, the way ``Chunk.passage`` serves it."""
        title, text = self.titles[doc_id], self.texts[doc_id]
        if not title or text.startswith(title):
            return text
        return f"{title}\n{text}"


def load_collection(name: str, root: Path = DATASETS_DIR) -> Collection:
    """Load ``root/name``; only queries with judgments are kept."""
    path = root / name
    titles: dict[str, str] = {}
    texts: dict[str, str] = {}
    with open(path / "corpus.jsonl", encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            titles[row["_id"]] = row.get("title") or ""
            texts[row["_id"]] = row.get("text") or ""
    qrels: dict[str, dict[str, int]] = {}
    with open(path / "qrels" / "test.tsv", encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            if int(row["score"]) > 0:
                qrels.setdefault(row["query-id"], {})[row["corpus-id"]] = int(row["score"])
    queries: dict[str, str] = {}
    with open(path / "queries.jsonl", encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            if row["_id"] in qrels:
                queries[row["_id"]] = row["text"]
    return Collection(name, titles, texts, queries, {q: qrels[q] for q in queries})
