"""Training groups for the cross-encoder: one positive and hard negatives per query.

Two sources, both from the training collections only:

* judged pairs — a judged query, one of its relevant documents, and negatives
  drawn from the top of our BM25 ranking that are not judged relevant;
* title → text — a document's title as the query, its text (title removed) as
  the positive, and BM25 neighbours of the title as negatives.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from reranker_study.collections import Collection
from reranker_study.firststage import HybridRetriever

#: Minimum words for a title or text to make a self-supervised pair.
MIN_TITLE_WORDS = 3
MIN_TEXT_WORDS = 40


@dataclass(frozen=True)
class Group:
    """A query with one relevant passage and several non-relevant ones."""

    query: str
    positive: str
    negatives: tuple[str, ...]


def judged_groups(
    collection: Collection,
    retriever: HybridRetriever,
    rng: random.Random,
    *,
    negatives: int,
    positives_per_query: int,
    mine_depth: int = 30,
) -> list[Group]:
    """Groups from the judged queries, negatives mined from the BM25 top ``mine_depth``.

    BM25 rather than hybrid mining keeps data building free of corpus
    embedding (minutes on shared cores); its unjudged top hits are the hard,
    lexically close negatives a reranker must learn to push down.
    """
    ranked = {qid: [d for d, _ in retriever.lexical(text, mine_depth)] for qid, text in collection.queries.items()}
    groups = []
    for qid in sorted(collection.queries):
        relevant = collection.qrels[qid]
        pool = [d for d in ranked[qid] if d not in relevant]
        if len(pool) < negatives:
            continue
        chosen = sorted(relevant)
        rng.shuffle(chosen)
        for doc_id in chosen[:positives_per_query]:
            negs = rng.sample(pool, negatives)
            groups.append(Group(collection.queries[qid], collection.passage(doc_id), tuple(collection.passage(d) for d in negs)))
    return groups


def body(collection: Collection, doc_id: str) -> str:
    """The text without a leading copy of the title (some corpora repeat it)."""
    title, text = collection.titles[doc_id], collection.texts[doc_id]
    return text[len(title) :].lstrip(" .") if title and text.startswith(title) else text


def title_groups(
    collection: Collection,
    retriever: HybridRetriever,
    rng: random.Random,
    *,
    count: int,
    negatives: int,
    mine_depth: int = 20,
) -> list[Group]:
    """Self-supervised groups: title as query, bodies as passages (all without titles)."""
    usable = sorted(
        d
        for d in collection.texts
        if len(collection.titles[d].split()) >= MIN_TITLE_WORDS and len(body(collection, d).split()) >= MIN_TEXT_WORDS
    )
    rng.shuffle(usable)
    groups = []
    for doc_id in usable[:count]:
        title = collection.titles[doc_id]
        pool = [d for d, _ in retriever.lexical(title, mine_depth, exclude=doc_id) if len(body(collection, d).split()) >= 10]
        if len(pool) < negatives:
            continue
        negs = rng.sample(pool, negatives)
        groups.append(Group(title, body(collection, doc_id), tuple(body(collection, d) for d in negs)))
    return groups
