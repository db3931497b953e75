"""A synthetic UBI click log from known relevance, and how well each click model recovers it.

    python scripts/simulate_ubi_clicks.py [--queries 40] [--sessions 60] [--seed 0] [--out DIR]

Each query has ten candidate documents with true grades (0-2). A production
ranker shows all ten in an order driven mostly by a popularity that has nothing
to do with relevance (weight 3 against 0.2 for the grade), so some irrelevant
documents sit at the top day after
day), and users click by a position-bias model: a result at rank r is examined
with probability 1 / r^1.3 and, once examined, clicked with a probability that
grows with its grade. Agreement is pairwise accuracy: over every pair of
documents of a query whose true grades differ, the share the model's scores
order the same way (ties count half).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path
from typing import Mapping

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.evaluation.clicks import Judgment, judge, query_key  # noqa: E402

DOCS_PER_QUERY = 10
EXAMINATION_POWER = 1.3
ATTRACTIVENESS = {0: 0.2, 1: 0.5, 2: 0.8}


def synthetic_truth(queries: int, seed: int) -> dict[str, dict[str, int]]:
    """``queries`` queries of ten candidates each, graded 0-2 at random."""
    rng = random.Random(seed)
    return {
        f"query {qn}": {f"q{qn}-d{i}": rng.choice((0, 0, 0, 0, 1, 1, 1, 2, 2, 2)) for i in range(DOCS_PER_QUERY)}
        for qn in range(queries)
    }


def simulate(out: Path, truth: Mapping[str, Mapping[str, int]], sessions: int = 60, seed: int = 0) -> None:
    """Write ``ubi_queries.jsonl`` and ``ubi_events.jsonl`` under ``out`` for queries
    (text → candidate → true grade), each shown ``sessions`` times."""
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    with (out / "ubi_queries.jsonl").open("w") as q_file, (out / "ubi_events.jsonl").open("w") as e_file:
        for qn, (text, grades) in enumerate(truth.items()):
            popularity = {doc: rng.random() for doc in grades}
            for session in range(sessions):
                shown = sorted(grades, key=lambda d: -(3 * popularity[d] + 0.2 * grades[d] + rng.gauss(0, 0.6)))
                qid = f"{qn}-{session}"
                q_file.write(json.dumps({"application": "sim", "query_id": qid, "client_id": f"c{session}",
                                         "user_query": text, "query_response_hit_ids": shown,
                                         "timestamp": "2026-12-01T00:00:00Z"}) + "\n")
                for rank, doc in enumerate(shown, start=1):
                    if rng.random() < rank**-EXAMINATION_POWER and rng.random() < ATTRACTIVENESS[grades[doc]]:
                        e_file.write(json.dumps({"application": "sim", "action_name": "click", "query_id": qid,
                                                 "client_id": f"c{session}", "timestamp": "2026-12-01T00:00:01Z",
                                                 "event_attributes": {"object": {"object_id": doc, "object_id_field": "id"},
                                                                      "position": {"ordinal": rank}}}) + "\n")


def pairwise_accuracy(judgments: list[Judgment], truth: Mapping[str, Mapping[str, int]]) -> float:
    """Share of differently graded pairs the scores order as the grades do (ties: half)."""
    scores: dict[str, dict[str, float]] = {}
    for j in judgments:
        scores.setdefault(j.query, {})[j.doc_id] = j.score
    right = pairs = 0.0
    for query, grades in truth.items():
        judged = scores.get(query, {})
        docs = [d for d in grades if d in judged]
        for i, a in enumerate(docs):
            for b in docs[i + 1:]:
                if grades[a] == grades[b]:
                    continue
                pairs += 1
                hi, lo = (a, b) if grades[a] > grades[b] else (b, a)
                right += 1.0 if judged[hi] > judged[lo] else 0.5 if judged[hi] == judged[lo] else 0.0
    return right / pairs if pairs else 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--queries", type=int, default=40)
    parser.add_argument("--sessions", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("reports/ubi-simulation"))
    args = parser.parse_args()
    truth = synthetic_truth(args.queries, args.seed)
    simulate(args.out, truth, args.sessions, args.seed)
    truth = {query_key(text): grades for text, grades in truth.items()}
    for model in ("coec", "ctr"):
        judgments = judge(args.out / "ubi_queries.jsonl", args.out / "ubi_events.jsonl", model, min_impressions=5)
        print(f"{model}: pairwise accuracy against the true grades {pairwise_accuracy(judgments, truth):.3f} "
              f"({len(judgments)} judgments, {args.queries} queries x {args.sessions} sessions, seed {args.seed})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
