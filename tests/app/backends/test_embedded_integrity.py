"""The embedded backend's integrity: crashes at every write step, racing reloads,
tenant-scoped ids, storage upgrades and damaged files."""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import signal
import sqlite3
from pathlib import Path
from typing import Any, Callable

import pytest
from fake_encoder import FakeEncoder
from identity import TEST_JWT_SECRET

from app.analysis import lexical_design
from app.auth import Caller
from app.backends.base import (
    PUBLIC,
    AccessFilter,
    BackendError,
    LexicalLeg,
    VectorLeg,
    doc_key,
)
from app.backends.embedded import EmbeddedBackend
from app.backends.embedded.snapshot import Snapshot
from app.backends.embedded.store import CHUNK_COLUMNS, chunk_from_row
from app.backends.embedded.text_index import TextIndex
from app.backends.embedded.writer import Writer
from app.chunking import chunk_document
from app.documents import Document
from app.errors import Unavailable
from app.ingest import delete_documents, ingest_documents
from app.search_request import SearchRequest
from app.search_service import SearchService
from app.settings import Settings

ENCODER = FakeEncoder()
WRITE_STEPS = ("_write_rows", "_write_text", "_sync_vectors", "_publish")
CALLERS = [
    Caller("probe", tenant, frozenset(principals))
    for tenant in ("acme", "globex")
    for principals in ((), ("group:board",), ("user:ann",))
]
QUERIES = ["alpha beta", "gamma delta", "epsilon", "board secret", "public notice"]


def settings_for(root: Path, **overrides) -> Settings:
    base = dict(data_dir=root / "data", hnsw_min_chunks=8, embedded_refresh_interval_s=0.0, chunk_max_tokens=30,
                chunk_overlap_tokens=5, profiles_dir=root / "profiles", jwt_secret=TEST_JWT_SECRET)
    return Settings(**(base | overrides))


def version(doc_id: str, tenant: str, acl: tuple[str, ...], tag: str, words: str) -> Document:
    body = "\n\n".join(f"{tag} {words} {doc_id} part {n}" for n in range(3))
    return Document(doc_id, f"{doc_id} {tag}", body, tenant, acl, metadata={"tag": (tag,)})


def first_versions() -> list[Document]:
    return [version(f"d{n}", ("acme", "globex")[n % 2], (PUBLIC,), f"v1d{n}", "alpha beta gamma public notice")
            for n in range(10)]


def second_versions() -> list[Document]:
    """The same ids with tenant, ACL and content changed, and new documents."""
    docs = [version(f"d{n}", ("globex", "acme")[n % 2] if n % 3 == 0 else ("acme", "globex")[n % 2],
                    ("group:board",) if n % 2 else ("user:ann",), f"v2d{n}", "board secret delta epsilon")
            for n in range(10)]
    return docs + [version(f"n{n}", "acme", (PUBLIC,), f"v2n{n}", "epsilon public") for n in range(4)]


def readable_tags(docs: list[Document], caller: Caller) -> set[str]:
    return {d.metadata["tag"][0] for d in docs if d.tenant == caller.tenant and (PUBLIC in d.acl or caller.principals & set(d.acl))}


def assert_no_leak(settings: Settings, allowed_docs: list[Document]) -> int:
    """Every caller's hits are versions of ``allowed_docs`` it may read; returns hits checked."""
    service = SearchService(settings, EmbeddedBackend(settings), ENCODER)
    checked = 0
    for caller in CALLERS:
        readable = readable_tags(allowed_docs, caller)
        for query in QUERIES:
            for hit in service.search(SearchRequest(query, size=20, explain=True), caller)["hits"]:
                (tag,) = hit["metadata"]["tag"]
                assert tag in readable, f"{caller} saw {tag}"
                assert hit["title"].endswith(tag) and tag in hit["snippet"]
                checked += 1
    return checked


def kill_at(step: str, when: str, occurrence: int) -> None:
    """Make this process SIGKILL itself at the ``occurrence``-th ``when`` of a write step."""
    original = getattr(Writer, step)
    calls = [0]

    def wrapped(self, *args, **kwargs):
        calls[0] += 1
        if when == "before" and calls[0] == occurrence:
            os.kill(os.getpid(), signal.SIGKILL)
        result = original(self, *args, **kwargs)
        if when == "after" and calls[0] == occurrence:
            os.kill(os.getpid(), signal.SIGKILL)
        return result

    setattr(Writer, step, wrapped)


def crashing_ingest(settings: Settings, step: str, when: str, occurrence: int) -> None:
    kill_at(step, when, occurrence)
    ingest_documents(iter(second_versions()), EmbeddedBackend(settings), ENCODER, settings, batch_chunks=12)


KILL_POINTS = [(step, when, n) for step in WRITE_STEPS for when in ("before", "after") for n in (1, 2)]


@pytest.mark.parametrize(("step", "when", "occurrence"), KILL_POINTS, ids=[f"{s}-{w}-{n}" for s, w, n in KILL_POINTS])
def test_an_ingest_killed_at_any_step_never_leaks_and_its_rerun_repairs(
    tmp_path: Path, step: str, when: str, occurrence: int
) -> None:
    settings = settings_for(tmp_path)
    assert ingest_documents(iter(first_versions()), EmbeddedBackend(settings), ENCODER, settings).ok
    child = multiprocessing.get_context("fork").Process(target=crashing_ingest, args=(settings, step, when, occurrence))
    child.start()
    child.join(60)
    assert child.exitcode == -signal.SIGKILL, f"the ingest was not killed at {when} {step} #{occurrence}"

    # Crashed: whatever is served is a version its caller may read.
    assert_no_leak(settings, first_versions() + second_versions())

    # The same command again repairs: exact documents and chunks, no duplicates, no loss.
    backend = EmbeddedBackend(settings)
    report = ingest_documents(iter(second_versions()), backend, ENCODER, settings, batch_chunks=12)
    assert report.ok
    final = {d.key: d for d in first_versions() + second_versions()}  # later versions win
    expected_chunks = sum(len(chunk_document(d, ENCODER.count_tokens, max_tokens=30, overlap_tokens=5)) for d in final.values())
    info = backend.index_info(backend.alias_target())
    assert (info.documents, info.chunks) == (len(final), expected_chunks)
    assert backend.document_hashes(info.name) == {key: doc.content_hash for key, doc in final.items()}
    ids = [chunk.chunk_id for chunk in backend.iter_chunks(info.name)]
    assert len(ids) == len(set(ids)) == expected_chunks
    index_dir = settings.data_dir / "indexes" / info.name
    snapshot = Snapshot.load(index_dir, settings)
    assert snapshot.text_current and snapshot.searcher.num_docs == expected_chunks
    with sqlite3.connect(index_dir / "chunks.sqlite") as db:
        state = dict(db.execute("SELECT key, value FROM state"))
    assert state["text_generation"] == state["hnsw_generation"] == state["generation"]
    assert int((index_dir / "GENERATION").read_text()) == state["generation"]
    # Nothing of a replaced version is left anywhere a search can reach.
    assert assert_no_leak(settings, list(final.values())) > 0


def test_rerunning_after_a_crash_between_rows_and_text_reports_the_repair(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    backend = EmbeddedBackend(settings)
    ingest_documents(iter(first_versions()), backend, ENCODER, settings)
    child = multiprocessing.get_context("fork").Process(target=crashing_ingest, args=(settings, "_write_text", "before", 1))
    child.start()
    child.join(60)
    report = ingest_documents(iter(second_versions()), EmbeddedBackend(settings), ENCODER, settings, batch_chunks=12)
    assert "text index" in report.repaired
    assert ingest_documents(iter(second_versions()), EmbeddedBackend(settings), ENCODER, settings).repaired == []


# ------------------------------------------------------------ racing reloads
def write_during(settings: Settings, target: Any, name: str) -> tuple[Callable, Callable]:
    """Patch ``target.name`` so a write to another tenant lands right after it runs, once."""
    original = getattr(target, name)
    done = [False]

    def wrapped(*args, **kwargs):
        result = original(*args, **kwargs)
        if not done[0]:
            done[0] = True
            docs = [version(f"g{n}", "globex", (PUBLIC,), f"late{n}", "zebra crossing") for n in range(5)]
            ingest_documents(iter(docs), EmbeddedBackend(settings), ENCODER, settings)
        return result

    return original, wrapped


@pytest.mark.parametrize("moment", ["after the rows were read", "after the vectors were read"])
def test_a_write_racing_a_reload_never_shows_another_tenants_chunk(tmp_path: Path, monkeypatch, moment: str) -> None:
    import app.backends.embedded.snapshot as embedded

    settings = settings_for(tmp_path, hnsw_min_chunks=10**6)
    ingest_documents(iter([version("a0", "acme", (PUBLIC,), "acme0", "alpha")]), EmbeddedBackend(settings), ENCODER, settings)
    if moment == "after the rows were read":
        # The text index opened after a write committed: it holds rows the snapshot does not.
        original, wrapped = write_during(settings, TextIndex, "open")
        monkeypatch.setattr(TextIndex, "open", wrapped)
    else:
        # A write between two reads of one load: one read transaction keeps them together.
        original, wrapped = write_during(settings, embedded, "load_vectors")
        monkeypatch.setattr(embedded, "load_vectors", wrapped)
    backend = EmbeddedBackend(settings)
    access = AccessFilter("acme", frozenset({"user:x"}))
    hits = backend.run_legs({"lexical": LexicalLeg("zebra crossing alpha", 50)}, access)["lexical"].hits
    vector_hits = backend.run_legs({"vector": VectorLeg(ENCODER.embed_query("zebra"), 50)}, access)["vector"].hits
    assert {h.doc_id for h in hits} <= {"a0"} and {h.doc_id for h in vector_hits} == {"a0"}
    assert all(h.chunk_id.startswith("acme/") for h in hits + vector_hits)
    snapshot = backend._current()
    assert len(snapshot.chunk_ids) == len(snapshot.vectors) == len(snapshot.rows)


# ------------------------------------------------------------ tenant-scoped ids
def test_the_same_id_in_two_tenants_is_two_documents(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    backend = EmbeddedBackend(settings)
    acme = Document("kb-0001", "Acme SSO", "acme single sign on", "acme", (PUBLIC,))
    globex = Document("kb-0001", "Globex SSO", "globex single sign on", "globex", (PUBLIC,))
    report = ingest_documents(iter([acme, globex]), backend, ENCODER, settings)
    assert report.indexed == 2
    assert backend.live_index().documents == 2
    # Another tenant's ingest of the same id leaves acme's document alone.
    ingest_documents(iter([Document("kb-0001", "Globex SSO v2", "changed", "globex", (PUBLIC,))]), backend, ENCODER, settings)
    service = SearchService(settings, backend, ENCODER)
    hits = service.search(SearchRequest("single sign on", size=5), Caller("x", "acme", frozenset()))["hits"]
    assert [(h["id"], h["title"]) for h in hits] == [("kb-0001", "Acme SSO")]
    # A delete names its tenant, and removes only that tenant's document.
    assert delete_documents(backend, "globex", ["kb-0001"]) == 1
    assert set(backend.document_hashes(backend.alias_target())) == {doc_key("acme", "kb-0001")}
    assert delete_documents(backend, "globex", ["kb-0001"]) == 0


def test_a_schema_1_index_is_upgraded_in_place_by_the_next_write(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, hnsw_min_chunks=10**6, template_version=1)  # schema 1 had only template 1
    backend = EmbeddedBackend(settings)
    ingest_documents(iter(first_versions()), backend, ENCODER, settings)
    index_dir = settings.data_dir / "indexes" / backend.alias_target()
    make_schema_1(index_dir, settings)

    assert ingest_documents(iter(first_versions()), EmbeddedBackend(settings), ENCODER, settings).repaired == [
        "storage schema 3"
    ]
    assert json.loads((index_dir / "info.json").read_text())["schema"] == 3
    ids = [c.chunk_id for c in EmbeddedBackend(settings).iter_chunks(index_dir.name)]
    assert ids and all(i.startswith(("acme/", "globex/")) for i in ids)
    # Deletes reach the text index by the new key: the document is gone from both legs.
    fresh = EmbeddedBackend(settings)
    assert delete_documents(fresh, "acme", ["d0"]) == 1
    lexical = fresh.run_legs({"lexical": LexicalLeg("v1d0", 10)}, AccessFilter("acme", frozenset({"u"})))["lexical"]
    assert lexical.hits == []
    assert_no_leak(settings, first_versions())


def test_a_schema_2_index_is_read_with_its_own_analysis_until_the_next_write_rebuilds_it(tmp_path: Path) -> None:
    """Schema 2's text index holds tantivy's terms ("organiz"); Lucene's chain stems
    "organization" to "organ". Until rebuilt, queries are analysed as it was written."""
    settings = settings_for(tmp_path, hnsw_min_chunks=10**6)
    backend = EmbeddedBackend(settings)
    docs = [Document("org", "Organization", "the organizations of universities", "acme", (PUBLIC,)),
            Document("other", "Other", "nothing related here", "acme", (PUBLIC,))]
    ingest_documents(iter(docs), backend, ENCODER, settings)
    index_dir = settings.data_dir / "indexes" / backend.alias_target()
    make_schema_2(index_dir)
    reader = EmbeddedBackend(settings)
    assert not TextIndex.at(index_dir / "text", lexical_design(2)).pre_analyzed

    def hits(backend: EmbeddedBackend, text: str) -> list[str]:
        leg = backend.run_legs({"lexical": LexicalLeg(text, 10)}, AccessFilter("acme", frozenset()))["lexical"]
        return [hit.doc_id for hit in leg.hits]

    assert hits(reader, "organization university") == ["org"]  # tantivy's terms, tantivy's query analysis

    assert EmbeddedBackend(settings).repair(index_dir.name) == ["storage schema 3"]
    assert json.loads((index_dir / "info.json").read_text())["schema"] == 3
    assert TextIndex.at(index_dir / "text", lexical_design(2)).pre_analyzed
    assert hits(reader, "organization university") == ["org"]  # the reader follows the rebuilt index
    assert hits(reader, "organ") == ["org"]  # Lucene's stems now: organizations -> organ
    assert EmbeddedBackend(settings).repair(index_dir.name) == []


def make_schema_2(index_dir: Path) -> None:
    """Rewrite an index's text index as schema 2 wrote it: tantivy's own chain."""
    legacy = TextIndex(lexical_design(2), pre_analyzed=False)
    shutil.rmtree(index_dir / "text")
    legacy.create(index_dir / "text")
    writer = legacy.open(index_dir / "text").writer(heap_size=15_000_000, num_threads=1)
    with sqlite3.connect(index_dir / "chunks.sqlite") as db:
        stored = db.execute(f"SELECT row, {CHUNK_COLUMNS} FROM chunks ORDER BY tenant, doc_id, position").fetchall()
    for record in legacy.records((row, chunk_from_row(rest)) for row, *rest in stored):
        writer.add_document(record)
    writer.commit()
    writer.wait_merging_threads()
    record_storage_schema(index_dir, 2)


def record_storage_schema(index_dir: Path, schema: int) -> None:
    """Mark the index in ``info.json`` as written by storage ``schema``."""
    info = json.loads((index_dir / "info.json").read_text())
    info["schema"] = schema
    (index_dir / "info.json").write_text(json.dumps(info))


def make_schema_1(index_dir: Path, settings: Settings) -> None:
    """Rewrite an index as schema 1 wrote it: ids without tenant, a text index keyed by doc_id."""
    import tantivy

    from app.analysis import ENGLISH_V1 as ENGLISH, tantivy_analyzer

    with sqlite3.connect(index_dir / "chunks.sqlite") as db:
        db.execute("UPDATE chunks SET chunk_id = doc_id || '#' || position")
        rows = db.execute("SELECT row, title, text, doc_id, tenant, acl FROM chunks").fetchall()
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("title", tokenizer_name=ENGLISH.name)
    builder.add_text_field("body", tokenizer_name=ENGLISH.name)
    for keyword in ("doc_id", "tenant", "acl", "meta"):
        builder.add_text_field(keyword, tokenizer_name="raw")
    builder.add_unsigned_field("row", stored=True, fast=True)
    shutil.rmtree(index_dir / "text")
    (index_dir / "text").mkdir()
    index = tantivy.Index(builder.build(), path=str(index_dir / "text"))
    index.register_tokenizer(ENGLISH.name, tantivy_analyzer(ENGLISH))
    writer = index.writer(heap_size=15_000_000, num_threads=1)
    for row, title, text, doc_id, tenant, acl in rows:
        doc = tantivy.Document(title=title, body=text, doc_id=doc_id, tenant=tenant, acl=json.loads(acl))
        doc.add_unsigned("row", row)
        writer.add_document(doc)
    writer.commit()
    writer.wait_merging_threads()
    record_storage_schema(index_dir, 1)


# ------------------------------------------------------------ damaged files
def break_text_meta(index_dir: Path) -> None:
    (index_dir / "text" / "meta.json").unlink()


def break_text_segments(index_dir: Path) -> None:
    for path in (index_dir / "text").iterdir():
        if path.suffix in (".idx", ".term", ".store"):
            path.unlink()


def truncate_sqlite(index_dir: Path) -> None:
    path = index_dir / "chunks.sqlite"
    path.write_bytes(path.read_bytes()[:1000])
    for extra in ("chunks.sqlite-wal", "chunks.sqlite-shm"):
        (index_dir / extra).unlink(missing_ok=True)


def drop_info_key(index_dir: Path) -> None:
    info = json.loads((index_dir / "info.json").read_text())
    del info["dimension"]
    (index_dir / "info.json").write_text(json.dumps(info))


def break_aliases(index_dir: Path) -> None:
    (index_dir.parent.parent / "aliases.json").write_text("{not json")


def drop_generation(index_dir: Path) -> None:
    (index_dir / "GENERATION").unlink()


def truncate_graph(index_dir: Path) -> None:
    (graph,) = (index_dir / f"hnsw-{(index_dir / 'GENERATION').read_text()}").glob("*.bin")
    graph.write_bytes(graph.read_bytes()[:100])


def break_manifest(index_dir: Path) -> None:
    manifest = index_dir / f"hnsw-{(index_dir / 'GENERATION').read_text()}" / "manifest.json"
    manifest.write_text("[")


def damage_vectors(index_dir: Path) -> None:
    with sqlite3.connect(index_dir / "chunks.sqlite") as db:
        db.execute("UPDATE chunks SET vector = x'00' WHERE row = (SELECT MIN(row) FROM chunks)")


DAMAGES = {
    "text/": break_text_meta,
    "text index": break_text_segments,
    "chunks.sqlite": truncate_sqlite,
    "info.json": drop_info_key,
    "aliases.json": break_aliases,
    "GENERATION": drop_generation,
    ".bin": truncate_graph,
    "manifest.json": break_manifest,
    "damaged vectors": damage_vectors,
}


@pytest.mark.parametrize("named", list(DAMAGES))
def test_a_damaged_part_is_a_503_naming_it(tmp_path: Path, named: str) -> None:
    from app.web import create_app

    settings = settings_for(tmp_path, hnsw_min_chunks=8)
    docs = [version(f"d{n}", "acme", (PUBLIC,), f"t{n}", "alpha beta") for n in range(10)]
    ingest_documents(iter(docs), EmbeddedBackend(settings), ENCODER, settings)
    index_dir = settings.data_dir / "indexes" / EmbeddedBackend(settings).alias_target()
    DAMAGES[named](index_dir)

    from app.auth import mint_token

    client = create_app(settings, encoder=ENCODER).test_client()
    token = mint_token(settings, subject="t", tenant="acme", principals=["user:x"])
    for response in (client.get("/readyz"),
                     client.post("/v1/search", json={"query": "alpha"}, headers={"Authorization": f"Bearer {token}"})):
        assert response.status_code == 503, response.get_json()
        message = response.get_json()["error"]["message"]
        assert named in message and str(tmp_path) not in message, message


def test_a_damaged_store_while_serving_is_a_503_not_a_500(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    ingest_documents(iter(first_versions()), EmbeddedBackend(settings), ENCODER, settings)
    service = SearchService(settings, EmbeddedBackend(settings), ENCODER)
    caller = Caller("x", "acme", frozenset())
    assert service.search(SearchRequest("alpha"), caller)["hits"]
    index_dir = settings.data_dir / "indexes" / service.backend.alias_target()
    truncate_sqlite(index_dir)
    with pytest.raises(Unavailable, match="chunks.sqlite"):
        service.search(SearchRequest("alpha"), caller)
    with pytest.raises(BackendError, match="chunks.sqlite"):
        EmbeddedBackend(settings).live_index()
