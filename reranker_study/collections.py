"""The shared BEIR-layout collections the reranker is trained and judged on."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from app.evaluation.judgments import load_beir, load_corpus
from app.settings import Settings

DATASETS_DIR = Settings.from_env().datasets_dir
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
    """Load ``root/name``; only queries with positive judgments are kept, in file order."""
    dataset = load_beir(root / name)
    corpus = load_corpus(dataset.corpus_path)
    qrels = {q: judged for q, grades in dataset.qrels.items() if (judged := {d: g for d, g in grades.items() if g > 0})}
    queries = {q: text for q, text in dataset.queries.items() if q in qrels}
    return Collection(
        name,
        {doc_id: title for doc_id, (title, _) in corpus.items()},
        {doc_id: text for doc_id, (_, text) in corpus.items()},
        queries,
        {q: qrels[q] for q in queries},
    )
