"""Security trimming while documents change: every hit a caller gets is a version it may read.

A writer thread re-ingests documents whose tenant, ACL and content flip between
versions while searcher threads ask as random callers. Each version carries a
token in its title, body and metadata, so a hit names the exact version it
shows; that version's tenant and ACL must admit the caller, in the hit's title,
snippet, metadata and explain alike.
"""

from __future__ import annotations

import random
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from app.auth import Caller
from app.backends.base import PUBLIC, doc_key
from app.backends.embedded import EmbeddedBackend
from app.documents import Document
from app.ingest import ingest_documents
from app.search_request import SearchRequest
from app.search_service import SearchService
from app.settings import Settings
from fake_encoder import FakeEncoder

TENANTS = ("acme", "globex")
PRINCIPALS = ("group:board", "group:staff", "user:ann")
WORDS = "alpha beta gamma delta epsilon zeta theta kappa lambda sigma omega".split()
DOC_IDS = [f"doc-{n}" for n in range(12)]
TOKEN = re.compile(r"\btokdoc\d+v\d+\b")
#: Checked hits per run; the three runs make the suite's ≥ 10,000.
HITS_PER_EXAMPLE = 3400
MAX_SECONDS_PER_EXAMPLE = 30.0


@dataclass(frozen=True)
class Version:
    """One version of one document as written: who may read it."""

    token: str
    tenant: str
    acl: tuple[str, ...]

    def admits(self, caller: Caller) -> bool:
        return self.tenant == caller.tenant and (PUBLIC in self.acl or bool(caller.principals & set(self.acl)))


def version_document(doc_id: str, number: int, tenant: str, acl: tuple[str, ...], rng: random.Random) -> tuple[Document, Version]:
    token = f"tok{doc_id.replace('-', '')}v{number}"
    # Several paragraphs so a document has several chunks, and versions differ in how many.
    paragraphs = [f"{token} " + " ".join(rng.choices(WORDS, k=rng.randint(10, 30))) for _ in range(rng.randint(1, 6))]
    doc = Document(doc_id, f"{doc_id} {token}", "\n\n".join(paragraphs), tenant, acl, metadata={"version": (token,)})
    return doc, Version(token, tenant, acl)


def check_hit(hit: dict, caller: Caller, versions: dict[str, Version]) -> None:
    """The hit shows one version, consistently, and the caller may read that version."""
    token = hit["title"].split()[-1]
    version = versions[token]
    assert hit["title"] == f"{hit['id']} {token}"
    assert set(TOKEN.findall(hit["snippet"])) == {token}, (hit["snippet"], token)
    assert hit["metadata"] == {"version": [token]}
    assert version.admits(caller), f"{caller} was shown {token} of tenant {version.tenant} with ACL {version.acl}"
    for leg, part in hit["explain"].items():
        if isinstance(part, dict) and "chunk_id" in part:
            assert part["chunk_id"].startswith(doc_key(caller.tenant, hit["id"]) + "#"), (leg, part)


def run_churn(tmp_path: Path, seed: int, flip_tenant: bool) -> tuple[int, int]:
    """Searches while another thread re-ingests; returns the hits checked and the rounds written."""
    rng = random.Random(seed)
    settings = Settings(data_dir=tmp_path / f"data-{seed}", embedded_refresh_interval_s=0.02, chunk_max_tokens=40,
                        chunk_overlap_tokens=8, profiles_dir=tmp_path / "profiles")
    encoder = FakeEncoder()
    backend = EmbeddedBackend(settings)
    versions: dict[str, Version] = {}
    lock = threading.Lock()

    def write_round(number: int) -> None:
        docs = []
        for doc_id in rng.sample(DOC_IDS, k=len(DOC_IDS) // 2) if number else DOC_IDS:
            tenant = rng.choice(TENANTS) if flip_tenant else TENANTS[DOC_IDS.index(doc_id) % 2]
            acl = rng.choice([(PUBLIC,), ("group:board",), ("group:staff", "user:ann"), ("user:ann",)])
            doc, version = version_document(doc_id, number, tenant, acl, rng)
            with lock:
                versions[version.token] = version  # known before any reader can see it
            docs.append(doc)
        report = ingest_documents(iter(docs), backend, encoder, settings, batch_chunks=8)
        assert report.ok

    write_round(0)
    service = SearchService(settings, EmbeddedBackend(settings), encoder)
    stop = threading.Event()
    errors: list[BaseException] = []
    checked = [0]
    rounds = [0]

    def writer() -> None:
        try:
            while not stop.is_set():
                rounds[0] += 1
                write_round(rounds[0])
        except BaseException as exc:  # noqa: BLE001 - reported by the test thread
            errors.append(exc)
            stop.set()

    def searcher(thread_seed: int) -> None:
        local = random.Random(thread_seed)
        try:
            while not stop.is_set():
                caller = Caller("probe", local.choice(TENANTS), frozenset(local.sample(PRINCIPALS, k=local.randint(0, 2))))
                query = " ".join(local.sample(WORDS, k=3))
                response = service.search(SearchRequest(query, size=10, explain=True), caller)
                with lock:
                    known = dict(versions)
                for hit in response["hits"]:
                    check_hit(hit, caller, known)
                with lock:
                    checked[0] += len(response["hits"])
                    if checked[0] >= HITS_PER_EXAMPLE:
                        stop.set()
        except BaseException as exc:  # noqa: BLE001 - reported by the test thread
            errors.append(exc)
            stop.set()

    threads = [threading.Thread(target=writer)] + [threading.Thread(target=searcher, args=(seed * 10 + i,)) for i in range(2)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    while not stop.wait(0.1):
        if time.monotonic() - started > MAX_SECONDS_PER_EXAMPLE:
            stop.set()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return checked[0], rounds[0]


@pytest.mark.parametrize(("seed", "flip_tenant"), [(1, False), (2, True), (3, True)])
def test_no_hit_shows_a_version_its_caller_may_not_read(tmp_path: Path, seed: int, flip_tenant: bool) -> None:
    # Three runs of HITS_PER_EXAMPLE: over 10,000 checked hits in all.
    checked, rounds = run_churn(tmp_path, seed, flip_tenant)
    assert checked >= HITS_PER_EXAMPLE, f"only {checked} hits checked in {MAX_SECONDS_PER_EXAMPLE} s"
    assert rounds >= 3, f"only {rounds} re-ingest rounds ran while searching"
