#!/usr/bin/env python3
"""Generate the project's sample corpus and demo queries.

The corpus is a fictional help centre plus internal runbooks, post-mortems and
procedures for three tenants:

* ``acme``    -- Acme Cloud, object storage, desktop/mobile sync and backups;
* ``globex``  -- Globex Commerce, invoicing, card payments and point of sale;
* ``initech`` -- Initech Workforce, time tracking, scheduling and payroll export.

Documents are composed from hand-written building blocks, kept as data in
``scripts/sample_corpus/*.json`` (topic intros, situation-specific symptoms,
causes and steps, per-tenant vocabulary), with a seeded RNG choosing among
paraphrased titles, headings and optional sections. The output depends only
on ``--seed``: two runs produce byte-identical files.

Usage::

    python scripts/make_sample_corpus.py [--seed 7] \\
        [--out sample_data/corpus.jsonl] [--queries-out sample_data/queries.jsonl]

Standard library only.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = REPO_ROOT / "sample_data" / "corpus.jsonl"
DEFAULT_QUERIES = REPO_ROOT / "sample_data" / "queries.jsonl"
DEFAULT_SEED = 7

#: ACL value that admits every principal of the document's tenant.
PUBLIC = "*"
#: The newest ``updated_at`` in the corpus; older documents are dated before it.
LATEST = datetime(2026, 3, 31, 17, 0, tzinfo=timezone.utc)
MIN_WORDS, MAX_WORDS = 80, 900

ALL = ("acme", "globex", "initech")
AG = ("acme", "globex")

#: One corpus line, as written to JSONL.
DocumentRow = dict[str, Any]


# ---------------------------------------------------------------------------
# Markdown helpers
# ---------------------------------------------------------------------------


def bullets(items: Iterable[str]) -> str:
    """A markdown bullet list."""
    return "\n".join(f"- {item}" for item in items)


def numbered(items: Iterable[str]) -> str:
    """A markdown numbered list; items holding blocks are separated by blank lines."""
    lines = [f"{i}. {item}" for i, item in enumerate(items, 1)]
    return ("\n\n" if any("\n" in line for line in lines) else "\n").join(lines)



# ---------------------------------------------------------------------------
# Tenants
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Tenant:
    """A customer of the search service, with the words its documents use."""

    code: str
    vocab: Mapping[str, str]
    #: Topic key -> product name recorded in ``metadata.product``.
    products: Mapping[str, str]



# ---------------------------------------------------------------------------
# Help-centre building blocks
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Topic:
    """Blocks shared by every article on one subject."""

    key: str
    category: str
    tags: tuple[str, ...]
    intros: tuple[str, ...]
    background: tuple[str, ...] = ()
    before: tuple[str, ...] = ()
    faq: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Situation:
    """One concrete problem or task; becomes one article per tenant."""

    topic: str
    key: str
    titles: tuple[str, ...]
    summary: str
    steps: tuple[str, ...]
    symptoms: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()
    cause: str = ""
    code: str = ""
    verify: str = ""
    tags: tuple[str, ...] = ()
    tenants: tuple[str, ...] = ALL
    #: A task rather than a problem, even though it explains how things work.
    howto: bool = False

    @property
    def troubleshooting(self) -> bool:
        """Whether the article diagnoses a problem (as opposed to explaining a task)."""
        return bool(self.symptoms or self.errors or self.cause) and not self.howto



@dataclass(frozen=True)
class Runbook:
    """An on-call runbook for one kind of incident."""

    key: str
    titles: tuple[str, ...]
    alerts: tuple[str, ...]
    summary: str
    impact: str
    triage: tuple[str, ...]
    mitigation: tuple[str, ...]
    verify: str
    escalation: str
    pitfalls: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    tenants: tuple[str, ...] = ALL
    #: Principals besides SRE and on-call who may read it.
    readers: tuple[str, ...] = ()



@dataclass(frozen=True)
class PostMortem:
    """A blameless incident review, written once for one tenant."""

    tenant: str
    key: str
    title: str
    date: str
    severity: str
    duration: str
    summary: str
    impact: str
    timeline: tuple[tuple[str, str], ...]
    root_cause: str
    contributing: tuple[str, ...]
    went_well: tuple[str, ...]
    went_wrong: tuple[str, ...]
    actions: tuple[tuple[str, str], ...]
    tags: tuple[str, ...]
    readers: tuple[str, ...] = ("group:sre", "group:engineering")



@dataclass(frozen=True)
class Procedure:
    """An internal handbook page; ``readers`` may use vocabulary placeholders."""

    key: str
    titles: tuple[str, ...]
    readers: tuple[str, ...]
    category: str
    product: str
    doc_type: str
    intro: str
    sections: tuple[tuple[str, str], ...]
    tags: tuple[str, ...]
    tenants: tuple[str, ...] = ALL
    #: Where on the wiki it lives: handbook, policies, support or finance.
    area: str = "handbook"


# ---------------------------------------------------------------------------
# The building blocks, from the data files beside this script
# ---------------------------------------------------------------------------

#: Hand-written prose and vocabulary, one JSON file per kind of block.
DATA_DIR = Path(__file__).resolve().parent / "sample_corpus"


def _load(name: str) -> Any:
    return json.loads((DATA_DIR / name).read_text(encoding="utf-8"))


def _frozen(value: Any) -> Any:
    """JSON lists as tuples, all the way down (the dataclasses hold tuples)."""
    if isinstance(value, list):
        return tuple(_frozen(v) for v in value)
    if isinstance(value, dict):
        return {k: _frozen(v) for k, v in value.items()}
    return value


def _records(kind: type, rows: Iterable[Mapping[str, Any]]) -> tuple[Any, ...]:
    return tuple(kind(**_frozen(dict(row))) for row in rows)


TENANTS: tuple[Tenant, ...] = _records(Tenant, _load("tenants.json"))
TOPICS: dict[str, Topic] = {topic.key: topic for topic in _records(Topic, _load("topics.json"))}
SITUATIONS: tuple[Situation, ...] = _records(Situation, _load("situations.json"))
TENANT_SITUATIONS: tuple[Situation, ...] = _records(Situation, _load("tenant_situations.json"))
_RUNBOOKS = _load("runbooks.json")
RUNBOOK_PREAMBLES: tuple[str, ...] = tuple(_RUNBOOKS["preambles"])
RUNBOOKS: tuple[Runbook, ...] = _records(Runbook, _RUNBOOKS["runbooks"])
POSTMORTEMS: tuple[PostMortem, ...] = _records(PostMortem, _load("postmortems.json"))
PROCEDURES: tuple[Procedure, ...] = _records(Procedure, _load("procedures.json"))
#: (tenant, principals, text); ids are assigned in order.
QUERIES: tuple[tuple[str, tuple[str, ...], str], ...] = tuple(
    (q["tenant"], tuple(q["principals"]), q["text"]) for q in _load("queries.json")
)


# ---------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*)\}")

_PHRASES = _load("phrases.json")
SYMPTOM_HEADINGS = tuple(_PHRASES["symptom_headings"])
CAUSE_HEADINGS = tuple(_PHRASES["cause_headings"])
ABOUT_HEADINGS = tuple(_PHRASES["about_headings"])
FIX_HEADINGS = tuple(_PHRASES["fix_headings"])
HOWTO_HEADINGS = tuple(_PHRASES["howto_headings"])
VERIFY_HEADINGS = tuple(_PHRASES["verify_headings"])
CHECK_HEADINGS = tuple(_PHRASES["check_headings"])
BEFORE_HEADINGS = tuple(_PHRASES["before_headings"])
FAQ_HEADINGS = tuple(_PHRASES["faq_headings"])
RELATED_HEADINGS = tuple(_PHRASES["related_headings"])
ERROR_LEADS = tuple(_PHRASES["error_leads"])
CODE_LEADS = tuple(_PHRASES["code_leads"])
CONTACTS = tuple(_PHRASES["contacts"])
BLAMELESS_NOTES = tuple(_PHRASES["blameless_notes"])


def fill(text: str, vocab: Mapping[str, str]) -> str:
    """Replace ``{name}`` placeholders with tenant vocabulary; unknown names raise ``KeyError``."""

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in vocab:
            raise KeyError(f"unknown placeholder {{{name}}} in {text[:60]!r}")
        return vocab[name]

    return _PLACEHOLDER.sub(substitute, text)


def code_block(code: str) -> str:
    """A fenced block, tagged python or sh by its first line."""
    language = "python" if code.startswith(("import ", "from ", "def ")) else "sh"
    return f"```{language}\n{code}\n```"


def plain_block(lines: Iterable[str]) -> str:
    """An untagged fenced block, used for error messages."""
    return "```\n" + "\n".join(lines) + "\n```"


def word_count(text: str) -> int:
    """Whitespace-separated tokens, the measure used for the length limits."""
    return len(text.split())


def slugify(text: str, limit: int = 60) -> str:
    """A lowercase, hyphenated URL slug."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:limit].rstrip("-")


def timestamp(moment: datetime) -> str:
    """ISO 8601 UTC with a ``Z`` suffix."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def random_updated_at(rng: random.Random, max_days: int = 540) -> str:
    """A plausible edit time within ``max_days`` before ``LATEST``, during working hours."""
    moment = LATEST - timedelta(
        days=rng.randint(0, max_days), hours=rng.randint(0, 8), minutes=rng.choice((0, 15, 30, 45))
    )
    return timestamp(moment)


def unique(items: Iterable[str]) -> list[str]:
    """``items`` without duplicates, first occurrence wins."""
    seen: dict[str, None] = {}
    for item in items:
        seen.setdefault(item, None)
    return list(seen)


def doc_rng(seed: int, *parts: str) -> random.Random:
    """An RNG for one document, stable under additions elsewhere in the corpus."""
    return random.Random(":".join((str(seed), *parts)))


def render_article(
    sit: Situation, topic: Topic, profile: str, related: Sequence[str], rng: random.Random
) -> str:
    """Compose a help article body for one ``profile`` (short, medium or long); not yet filled."""
    troubleshooting = sit.troubleshooting
    long, short = profile == "long", profile == "short"
    parts: list[str] = []
    if long or (not short and rng.random() < 0.6):
        parts.append(rng.choice(topic.intros))
    parts.append(sit.summary)
    if long and topic.background:
        parts.append(rng.choice(topic.background))
    if long and topic.before:
        picked = rng.sample(topic.before, k=min(3, len(topic.before)))
        parts += [rng.choice(BEFORE_HEADINGS), bullets(picked)]
    if not short:
        if sit.symptoms:
            parts += [rng.choice(SYMPTOM_HEADINGS), bullets(sit.symptoms)]
        if sit.errors:
            parts += [rng.choice(ERROR_LEADS), plain_block(sit.errors)]
        if sit.cause:
            parts += [rng.choice(CAUSE_HEADINGS if troubleshooting else ABOUT_HEADINGS), sit.cause]
    elif sit.cause:
        parts.append(sit.cause)
    parts += [rng.choice(FIX_HEADINGS if troubleshooting else HOWTO_HEADINGS), numbered(sit.steps)]
    if sit.code and not short:
        parts += [rng.choice(CODE_LEADS), code_block(sit.code)]
    if sit.verify and not short:
        parts += [rng.choice(VERIFY_HEADINGS if troubleshooting else CHECK_HEADINGS), sit.verify]
    if long and topic.faq:
        parts.append(rng.choice(FAQ_HEADINGS))
        for question, answer in rng.sample(topic.faq, k=min(2, len(topic.faq))):
            parts.append(f"**{question}** {answer}")
    if related and not short:
        parts += [rng.choice(RELATED_HEADINGS), bullets(related)]
    if long or rng.random() < 0.7:
        parts.append(rng.choice(CONTACTS))
    return "\n\n".join(parts)


def render_runbook(rb: Runbook, rng: random.Random, *, compact: bool = False) -> str:
    """Compose a runbook body; ``compact`` drops the optional sections."""
    parts = [rb.summary, "## Alerts", bullets(f"`{alert}`" for alert in rb.alerts), "## Impact", rb.impact]
    if not compact:
        parts.append(rng.choice(RUNBOOK_PREAMBLES))
    parts += ["## Triage", *rb.triage, "## Mitigation", numbered(rb.mitigation)]
    parts += ["## Verify recovery", rb.verify, "## Escalation", rb.escalation]
    if rb.pitfalls and not compact:
        parts += ["## Known pitfalls", bullets(rb.pitfalls)]
    return "\n\n".join(parts)


def render_postmortem(pm: PostMortem, rng: random.Random) -> str:
    """Compose a post-mortem body."""
    header = (
        f"Incident date: {pm.date}. Severity: {pm.severity}. Duration: {pm.duration}. "
        + rng.choice(BLAMELESS_NOTES)
    )
    parts = [
        header,
        "## Summary", pm.summary,
        "## Customer impact", pm.impact,
        "## Timeline (UTC)", bullets(f"{when} — {what}" for when, what in pm.timeline),
        "## Root cause", pm.root_cause,
        "## Contributing factors", bullets(pm.contributing),
        "## What went well", bullets(pm.went_well),
        "## What went wrong", bullets(pm.went_wrong),
        "## Action items", bullets(f"{action} (owner: {owner})" for owner, action in pm.actions),
    ]
    return "\n\n".join(parts)


def render_procedure(proc: Procedure) -> str:
    """Compose a handbook page body."""
    parts = [proc.intro]
    for heading, text in proc.sections:
        parts += [f"## {heading}", text]
    return "\n\n".join(parts)


# ---------------------------------------------------------------------------
# Corpus assembly
# ---------------------------------------------------------------------------


def _document(
    doc_id: str, title: str, body: str, tenant: Tenant, acl: Sequence[str], url: str,
    updated_at: str, metadata: Mapping[str, str | Sequence[str]],
) -> DocumentRow:
    """One corpus line, with placeholders filled and length checked."""
    vocab = tenant.vocab
    body = fill(body, vocab)
    words = word_count(body)
    if not MIN_WORDS <= words <= MAX_WORDS:
        raise ValueError(f"{doc_id}: body has {words} words, outside {MIN_WORDS}-{MAX_WORDS}")
    meta: dict[str, str | list[str]] = {}
    for key, value in metadata.items():
        meta[key] = fill(value, vocab) if isinstance(value, str) else [fill(v, vocab) for v in value]
    return {
        "id": doc_id,
        "title": fill(title, vocab),
        "body": body,
        "tenant": tenant.code,
        "acl": [fill(principal, vocab) for principal in acl],
        "url": url,
        "updated_at": updated_at,
        "metadata": meta,
    }


def _articles(tenant: Tenant, seed: int) -> list[DocumentRow]:
    """Public help-centre articles for one tenant."""
    situations = [s for s in (*SITUATIONS, *TENANT_SITUATIONS) if tenant.code in s.tenants]
    rngs = {s.key: doc_rng(seed, tenant.code, "kb", s.key) for s in situations}
    titles = {s.key: rngs[s.key].choice(s.titles) for s in situations}
    docs = []
    for number, sit in enumerate(situations, 1):
        rng, topic = rngs[sit.key], TOPICS[sit.topic]
        siblings = [titles[s.key] for s in situations if s.topic == sit.topic and s.key != sit.key]
        related = rng.sample(siblings, k=min(len(siblings), rng.choice((2, 3))))
        profile = rng.choices(("short", "medium", "long"), weights=(2, 4, 4))[0]
        body = render_article(sit, topic, profile, related, rng)
        # Fall back to a neighbouring profile if the composition lands outside the limits.
        words = word_count(fill(body, tenant.vocab))
        if words < MIN_WORDS or words > MAX_WORDS:
            profile = "long" if words < MIN_WORDS else "medium"
            body = render_article(sit, topic, profile, related, doc_rng(seed, tenant.code, "kb2", sit.key))
        title = fill(titles[sit.key], tenant.vocab)
        docs.append(_document(
            doc_id=f"{tenant.code}-kb-{number:04d}",
            title=title,
            body=body,
            tenant=tenant,
            acl=(PUBLIC,),
            url=f"https://help.{tenant.code}.example/articles/{number:04d}-{slugify(title)}",
            updated_at=random_updated_at(rng),
            metadata={
                "category": topic.category,
                "product": tenant.products[sit.topic],
                "audience": "public",
                "doc_type": "troubleshooting" if sit.troubleshooting else "how-to",
                "tags": unique((*topic.tags, *sit.tags)),
            },
        ))
    return docs


def _runbooks(tenant: Tenant, seed: int) -> list[DocumentRow]:
    """Internal on-call runbooks for one tenant."""
    docs = []
    runbooks = [rb for rb in RUNBOOKS if tenant.code in rb.tenants]
    for number, rb in enumerate(runbooks, 1):
        rng = doc_rng(seed, tenant.code, "rb", rb.key)
        title = rng.choice(rb.titles)
        body = render_runbook(rb, rng)
        if word_count(fill(body, tenant.vocab)) > MAX_WORDS:
            body = render_runbook(rb, rng, compact=True)
        docs.append(_document(
            doc_id=f"{tenant.code}-rb-{number:04d}",
            title=title,
            body=body,
            tenant=tenant,
            acl=("group:{ops_team}", "group:oncall", *rb.readers),
            url=f"https://wiki.{tenant.code}.example/runbooks/{rb.key}",
            updated_at=random_updated_at(rng, max_days=300),
            metadata={
                "category": "incident-runbook",
                "product": "payments" if rb.key == "acquirer-degraded" else "platform",
                "audience": "internal",
                "doc_type": "runbook",
                "team": "{ops_team}",
                "tags": unique(("runbook", *rb.tags)),
            },
        ))
    return docs


def _postmortems(tenant: Tenant, seed: int) -> list[DocumentRow]:
    """Incident reviews for one tenant."""
    docs = []
    reviews = [pm for pm in POSTMORTEMS if pm.tenant == tenant.code]
    for number, pm in enumerate(reviews, 1):
        rng = doc_rng(seed, tenant.code, "pm", pm.key)
        incident = datetime.strptime(pm.date, "%Y-%m-%d").replace(tzinfo=timezone.utc)
        written = incident + timedelta(days=rng.randint(2, 12), hours=rng.randint(9, 17))
        docs.append(_document(
            doc_id=f"{tenant.code}-pm-{number:04d}",
            title=pm.title,
            body=render_postmortem(pm, rng),
            tenant=tenant,
            acl=pm.readers,
            url=f"https://wiki.{tenant.code}.example/postmortems/{pm.date}-{pm.key}",
            updated_at=timestamp(min(written, LATEST)),
            metadata={
                "category": "postmortem",
                "product": "platform",
                "audience": "internal",
                "doc_type": "postmortem",
                "severity": pm.severity,
                "incident_date": pm.date,
                "tags": unique(("postmortem", *pm.tags)),
            },
        ))
    return docs


def _procedures(tenant: Tenant, seed: int) -> list[DocumentRow]:
    """Internal handbook pages, policies and support macros for one tenant."""
    docs = []
    pages = [p for p in PROCEDURES if tenant.code in p.tenants]
    for number, proc in enumerate(pages, 1):
        rng = doc_rng(seed, tenant.code, "int", proc.key)
        docs.append(_document(
            doc_id=f"{tenant.code}-int-{number:04d}",
            title=rng.choice(proc.titles),
            body=render_procedure(proc),
            tenant=tenant,
            acl=proc.readers,
            url=f"https://wiki.{tenant.code}.example/{proc.area}/{proc.key}",
            updated_at=random_updated_at(rng, max_days=400),
            metadata={
                "category": proc.category,
                "product": proc.product,
                "audience": "internal",
                "doc_type": proc.doc_type,
                "tags": list(proc.tags),
            },
        ))
    return docs


def build_corpus(seed: int = DEFAULT_SEED) -> list[DocumentRow]:
    """Every document of every tenant, in a stable order."""
    builders: tuple[Callable[[Tenant, int], list[DocumentRow]], ...] = (
        _articles, _runbooks, _postmortems, _procedures,
    )
    docs = [doc for tenant in TENANTS for build in builders for doc in build(tenant, seed)]
    ids = [doc["id"] for doc in docs]
    if len(ids) != len(set(ids)):
        raise ValueError("duplicate document ids")
    return docs


def build_queries() -> list[dict[str, Any]]:
    """The demo queries, with sequential ids."""
    tenants = {t.code for t in TENANTS}
    queries = []
    for number, (tenant, principals, text) in enumerate(QUERIES, 1):
        if tenant not in tenants:
            raise ValueError(f"query {text!r} names unknown tenant {tenant!r}")
        queries.append(
            {"id": f"q{number:03d}", "text": text, "tenant": tenant, "principals": list(principals)}
        )
    return queries


def write_jsonl(path: Path, rows: Iterable[Mapping[str, Any]]) -> int:
    """Write one JSON object per line (UTF-8, ``\\n`` endings); returns the row count."""
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
    return count


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description="Generate the sample corpus and demo queries.")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="RNG seed (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=DEFAULT_CORPUS, help="corpus JSONL path")
    parser.add_argument("--queries-out", type=Path, default=DEFAULT_QUERIES, help="queries JSONL path")
    args = parser.parse_args(argv)

    docs = build_corpus(args.seed)
    write_jsonl(args.out, docs)
    write_jsonl(args.queries_out, build_queries())
    words = [word_count(doc["body"]) for doc in docs]
    tenants = unique(doc["tenant"] for doc in docs)
    print(
        f"wrote {len(docs)} documents for {len(tenants)} tenants ({', '.join(tenants)}), "
        f"{min(words)}-{max(words)} words each, to {args.out}; {len(QUERIES)} queries to {args.queries_out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
