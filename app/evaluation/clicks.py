"""Implicit judgments from clicks: OpenSearch User Behavior Insights (UBI) logs in, qrels out.

Reads the two UBI indexes exported as JSON lines (UBI specification 1.3.0,
the version OpenSearch's UBI documentation references: ``ubi_queries`` records
carry ``query_id``, ``user_query`` and ``query_response_hit_ids``, the results
shown in order (the service's own records, ``app.observability.ubi``, have an
empty ``user_query`` unless raw query text may be logged: its keyed hash then
groups a query's searches); ``ubi_events`` records carry ``action_name``, ``query_id``,
``event_attributes.object.object_id`` and ``event_attributes.position.ordinal``).

Two click models, each giving a score per (query text, document) seen at least
``min_impressions`` times:

- ``ctr``: clicks / impressions;
- ``coec`` (clicks over expected clicks, as the Search Relevance Workbench's
  implicit judgments): clicks / Σ over its impressions of the click-through rate
  of the rank it was shown at, over the whole log. A document users click as
  often as anything shown at its ranks scores 1; position bias (the top gets
  clicked whatever it is) cancels out, which plain CTR cannot do.

Scores become graded judgments by thresholds (``grade = number of thresholds
reached``), written as TREC qrels that ``eval``, ``tune`` and ``compare`` read.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.evaluation.json_lines import json_records

CLICK_ACTIONS = frozenset({"click"})
IMPRESSION_ACTIONS = frozenset({"impression"})
#: Default grade thresholds per model: COEC 1 = clicked as often as its ranks are.
THRESHOLDS = {"coec": (0.75, 1.5), "ctr": (0.1, 0.3)}
MODELS = tuple(THRESHOLDS)


@dataclass(frozen=True)
class Judgment:
    query: str
    doc_id: str
    score: float
    impressions: int
    clicks: int


def query_key(text: str) -> str:
    """Queries are judged by their text, whitespace and case folded."""
    return " ".join(text.lower().split())


def query_id(text: str) -> str:
    """A stable query id for the qrels (the same text, the same id, in every log)."""
    return "q" + hashlib.sha1(query_key(text).encode("utf-8")).hexdigest()[:12]


def _ordinal(record: dict[str, Any]) -> int | None:
    position = (record.get("event_attributes") or {}).get("position") or {}
    ordinal = position.get("ordinal")
    return int(ordinal) if isinstance(ordinal, (int, float)) and not isinstance(ordinal, bool) else None


def _object_id(record: dict[str, Any]) -> str | None:
    target = (record.get("event_attributes") or {}).get("object") or {}
    value = target.get("object_id")
    return str(value) if value is not None else None


def judge(queries_path: Path, events_path: Path, model: str = "coec", min_impressions: int = 5) -> list[Judgment]:
    """Scores per (query text, document) from a UBI log (see the module docstring)."""
    if model not in MODELS:
        raise ValueError(f"unknown click model {model!r}; choose from {', '.join(MODELS)}")
    texts: dict[str, str] = {}
    shown: dict[str, list[str]] = {}
    for number, record in json_records(queries_path):
        qid, text = record.get("query_id"), record.get("user_query")
        if text == "" and (record.get("query_attributes") or {}).get("query_hmac"):
            # The service's own records hold no raw text unless logging it is allowed:
            # the keyed hash still groups the searches of one query.
            text = "#" + str(record["query_attributes"]["query_hmac"])
        if not isinstance(qid, str) or not isinstance(text, str) or not text:
            raise ValueError(f"{queries_path}:{number}: a ubi_queries record needs query_id and user_query")
        texts[qid] = text
        hits = record.get("query_response_hit_ids")
        if isinstance(hits, list):
            shown[qid] = [str(h) for h in hits]
    impressions: dict[tuple[str, str], list[int]] = defaultdict(list)
    for qid, docs in shown.items():
        for rank, doc in enumerate(docs, start=1):
            impressions[(query_key(texts[qid]), doc)].append(rank)
    clicked: dict[tuple[str, str], int] = defaultdict(int)
    clicked_at: dict[int, int] = defaultdict(int)
    for _, record in json_records(events_path):
        action, qid, doc, ordinal = record.get("action_name"), record.get("query_id"), _object_id(record), _ordinal(record)
        if qid not in texts or doc is None:
            continue  # an event outside a logged search (navigation, a login) judges nothing
        key = (query_key(texts[qid]), doc)
        if action in CLICK_ACTIONS:
            clicked[key] += 1
            # The hit list decides the rank when the query has one (ordinals may count from 0
            # or 1 by client); impression events and clicks then share the client's ordinals.
            rank = (shown[qid].index(doc) + 1 if doc in shown[qid] else None) if qid in shown else ordinal
            if rank is not None:
                clicked_at[rank] += 1
        elif action in IMPRESSION_ACTIONS and qid not in shown and ordinal:
            # Without the hit list on the query, impression events say what was shown where.
            impressions[key].append(ordinal)
    # Click-through rate per rank over the whole log: clicks at rank r / impressions at rank r.
    shown_at: dict[int, int] = defaultdict(int)
    for ranks in impressions.values():
        for rank in ranks:
            shown_at[rank] += 1
    rank_ctr = {rank: clicked_at[rank] / n for rank, n in shown_at.items()}
    judgments = []
    for (text, doc), ranks in impressions.items():
        if len(ranks) < min_impressions:
            continue
        n = clicked.get((text, doc), 0)
        if model == "ctr":
            score = n / len(ranks)
        else:
            expected = sum(rank_ctr.get(rank, 0.0) for rank in ranks)
            score = n / expected if expected > 0 else 0.0
        judgments.append(Judgment(text, doc, score, len(ranks), n))
    return sorted(judgments, key=lambda j: (j.query, -j.score, j.doc_id))


def grade(score: float, thresholds: tuple[float, ...]) -> int:
    """How many thresholds ``score`` reaches (0 = judged not relevant)."""
    return sum(score >= t for t in thresholds)


def write_qrels(judgments: list[Judgment], out: Path, thresholds: tuple[float, ...]) -> tuple[Path, Path]:
    """TREC qrels (``qid 0 doc grade``) and, beside them, the queries by id (BEIR ``queries.jsonl`` lines)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    queries: dict[str, str] = {}
    with out.open("w", encoding="utf-8") as handle:
        for j in judgments:
            qid = query_id(j.query)
            queries[qid] = j.query
            handle.write(f"{qid} 0 {j.doc_id} {grade(j.score, thresholds)}\n")
    queries_path = out.with_name(out.stem + ".queries.jsonl")
    queries_path.write_text("".join(json.dumps({"_id": q, "text": t}) + "\n" for q, t in sorted(queries.items())),
                            encoding="utf-8")
    return out, queries_path
