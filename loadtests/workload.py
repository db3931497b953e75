"""The query mix of the load test: who asks what (no Locust import, so it is testable)."""

from __future__ import annotations

import itertools
import json
import random
from collections import defaultdict
from pathlib import Path
from typing import Any, Iterable

from app.auth import mint_token
from app.settings import PROJECT_ROOT, Settings

Persona = tuple[str, tuple[str, ...]]


def default_queries() -> list[Path]:
    """The sample queries plus every shared BEIR ``queries.jsonl`` found (more distinct texts)."""
    shared = PROJECT_ROOT.parent / "shared" / "datasets"
    return [PROJECT_ROOT / "sample_data" / "queries.jsonl", *sorted(shared.glob("*/queries.jsonl"))]


def load_queries(paths: list[Path]) -> list[dict[str, Any]]:
    """Query records from JSONL files; lines without text are skipped."""
    queries = []
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                if not line.strip():
                    continue
                record = json.loads(line)
                text = (record.get("text") or record.get("query") or "").strip()
                if text:
                    queries.append(
                        {"text": text[:1024], "tenant": record.get("tenant"), "principals": record.get("principals") or []}
                    )
    return queries


def parse_personas(spec: str) -> list[Persona]:
    """``acme:group:sre,user:bob;globex:`` → ``[("acme", ("group:sre", "user:bob")), ("globex", ())]``."""
    personas = []
    for part in filter(None, (p.strip() for p in spec.split(";"))):
        tenant, _, principals = part.partition(":")
        personas.append((tenant, tuple(p for p in principals.split(",") if p)))
    return personas


def build_workload(queries: list[dict[str, Any]], extra: list[Persona]) -> dict[Persona, list[str]]:
    """Persona (tenant, principals) → the queries that persona asks."""
    by_persona: dict[Persona, list[str]] = defaultdict(list)
    loose = []
    for query in queries:
        if query["tenant"]:
            by_persona[(query["tenant"], tuple(sorted(query["principals"])))].append(query["text"])
        else:
            loose.append(query["text"])
    for persona in extra:
        by_persona.setdefault(persona, [])
    personas = sorted(by_persona)
    if loose and not personas:
        raise SystemExit("queries without a tenant need LOADTEST_PERSONAS or tenant-tagged queries")
    for text, persona in zip(loose, itertools.cycle(personas)):
        by_persona[persona].append(text)
    return {persona: texts for persona, texts in by_persona.items() if texts}


def deal_order(personas: Iterable[Persona]) -> list[Persona]:
    """The order in which Locust users take personas: tenants in turn, each's
    personas in sorted order (acme 1, globex 1, initech 1, acme 2, ...).

    A fixed order makes runs comparable (users picking at random met different
    queries each run: a CISI-heavy persona costs twice a sample one), and a few
    users still span every tenant.
    """
    by_tenant: dict[str, list[Persona]] = defaultdict(list)
    for persona in sorted(personas):
        by_tenant[persona[0]].append(persona)
    rounds = itertools.zip_longest(*by_tenant.values())
    return [persona for round_ in rounds for persona in round_ if persona is not None]


def mint_tokens(personas: Iterable[Persona], settings: Settings, ttl_s: int = 24 * 3600) -> dict[Persona, str]:
    """One development token per persona (HS256, the server's secret from ``settings``)."""
    return {
        persona: mint_token(settings, subject=f"loadtest-{i}", tenant=persona[0], principals=list(persona[1]), ttl_s=ttl_s)
        for i, persona in enumerate(personas)
    }


#: Words in a generated (never-seen) query: short, as typed into a search box.
UNSEEN_WORDS = (2, 8)
#: Zipf exponent of how often each fixed query is asked again.
ZIPF_EXPONENT = 1.0


def corpus_words(path: Path) -> dict[str, list[list[str]]]:
    """Tenant → the word lists of its documents' bodies (the source of unseen queries)."""
    by_tenant: dict[str, list[list[str]]] = defaultdict(list)
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                record = json.loads(line)
                words = str(record.get("body", "")).split()
                if len(words) >= UNSEEN_WORDS[1]:
                    by_tenant[str(record.get("tenant", ""))].append(words)
    return dict(by_tenant)


class QueryStream:
    """One user's queries: a share ``unseen_share`` never asked before (spans of its
    tenant's documents, never repeated), the rest the fixed queries with Zipf-distributed
    repeats (the first asked most). Deterministic for a seed."""

    def __init__(self, seen: list[str], documents: list[list[str]], unseen_share: float, seed: int) -> None:
        if not 0.0 <= unseen_share <= 1.0:
            raise ValueError(f"the unseen share must be within [0, 1], not {unseen_share}")
        if unseen_share > 0 and not documents:
            raise ValueError("unseen queries need documents to draw spans from")
        self.seen, self.documents, self.unseen_share = seen, documents, unseen_share
        self.rng = random.Random(seed)
        self.weights = list(itertools.accumulate(1.0 / (rank**ZIPF_EXPONENT) for rank in range(1, len(seen) + 1)))
        self.asked: set[str] = set(seen)
        self.unseen = 0

    def next(self) -> str:
        if self.seen and self.rng.random() >= self.unseen_share:
            return self.rng.choices(self.seen, cum_weights=self.weights)[0]
        for _ in range(100):
            words = self.rng.choice(self.documents)
            length = self.rng.randint(*UNSEEN_WORDS)
            start = self.rng.randrange(0, len(words) - length + 1)
            text = " ".join(words[start:start + length])
            if text not in self.asked:
                self.asked.add(text)
                self.unseen += 1
                return text
        raise RuntimeError("could not draw a query not asked before: the documents are too few")
