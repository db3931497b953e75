"""The query mix of the load test: who asks what (no Locust import, so it is testable)."""

from __future__ import annotations

import itertools
import json
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
