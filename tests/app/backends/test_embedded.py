"""The embedded backend on small real indexes (tantivy + SQLite + numpy)."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from chunk_keys import keyed
from filter_clauses import clauses, document_fields
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from app.analysis import ENGLISH_V1, ENGLISH_V2, analyzer, document_text, lexical_design
from app.backends.base import (
    AccessFilter,
    Chunk,
    IndexInfo,
    IndexNotFound,
    LexicalLeg,
    VectorLeg,
    chunk_key,
    doc_key,
)
from app.backends.embedded import EmbeddedBackend
from app.backends.embedded.text_index import TextIndex
from app.backends.embedded.vectors import over_fetch
from app.settings import Settings

DIM = 8
EVERYONE = frozenset({"user:nobody"})


def unit(rng: np.random.Generator) -> np.ndarray:
    v = rng.normal(size=DIM).astype(np.float32)
    return v / np.linalg.norm(v)


def make_chunk(doc_id: str, title: str, text: str, vector: np.ndarray, *, position: int = 0,
               tenant: str = "t1", acl: tuple[str, ...] = ("*",), metadata=None, content_hash: str = "h") -> Chunk:
    return Chunk(chunk_id=chunk_key(tenant, doc_id, position), doc_id=doc_id, position=position, title=title, text=text,
                 tenant=tenant, acl=acl, metadata=metadata or {}, content_hash=content_hash, vector=vector)


def new_backend(tmp_path: Path, **overrides) -> EmbeddedBackend:
    backend = EmbeddedBackend(Settings(data_dir=tmp_path / "data", **overrides))
    backend.create_index(IndexInfo(name="docs-v1", template_version=1, model_version="test-model", dimension=DIM))
    backend.switch_alias("docs-v1")
    return backend


def lucene_bm25(query: str, docs: list[tuple[str, str]], title_boost: float) -> list[float]:
    """Lucene's BM25 (k1 1.2, b 0.75, no (k1+1) factor) summed over title and body."""
    chain = analyzer(ENGLISH_V1)
    fields = [[chain.analyze(title) for title, _ in docs], [chain.analyze(body) for _, body in docs]]
    boosts = [title_boost, 1.0]
    scores = [0.0] * len(docs)
    for term in chain.analyze(query):
        for tokens, boost in zip(fields, boosts):
            n_docs = len(tokens)
            avgdl = sum(map(len, tokens)) / n_docs
            df = sum(term in t for t in tokens)
            if df == 0:
                continue
            idf = math.log(1 + (n_docs - df + 0.5) / (df + 0.5))
            for i, t in enumerate(tokens):
                tf = t.count(term)
                if tf:
                    scores[i] += boost * idf * tf / (tf + 1.2 * (1 - 0.75 + 0.75 * len(t) / avgdl))
    return scores


def test_bm25_scores_follow_lucenes_formula(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    docs = [
        ("Database failover", "Promote the replica when the primary database fails"),
        ("Certificate expiry", "Renew certificates before they expire; failover is not needed"),
        ("Disk full", "Clean old logs when the disk is full on a database host"),
        ("Queue backlog", "Scale consumers when the queue backlog grows and grows"),
        ("Failover drills", "Run a failover drill every quarter for each database cluster"),
    ]
    backend = new_backend(tmp_path, title_boost=2.0)
    backend.replace_documents("docs-v1", keyed({f"d{i}": [make_chunk(f"d{i}", t, b, unit(rng))] for i, (t, b) in enumerate(docs)}))
    # The second query repeats terms: each repeat scores again, as in Lucene's match query.
    for query in ("database failover drills", "database failover, failover drills; failover database"):
        result = backend.run_legs({"lexical": LexicalLeg(query, 10)}, AccessFilter("t1", EVERYONE))["lexical"]
        expected = lucene_bm25(query, docs, title_boost=2.0)
        got = {hit.doc_id: hit.score for hit in result.hits}
        assert set(got) == {f"d{i}" for i, s in enumerate(expected) if s > 0}
        for i, score in enumerate(expected):
            if score > 0:
                assert got[f"d{i}"] == pytest.approx(score, rel=1e-5)
        assert [h.doc_id for h in result.hits] == sorted(got, key=lambda d: -got[d])


def test_vector_scores_follow_opensearch_cosinesimil(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    vectors = [unit(rng) for _ in range(6)]
    backend = new_backend(tmp_path)
    backend.replace_documents("docs-v1", keyed({f"d{i}": [make_chunk(f"d{i}", "t", "x", v)] for i, v in enumerate(vectors)}))
    query = unit(rng)
    hits = backend.run_legs({"vector": VectorLeg(query, 6)}, AccessFilter("t1", EVERYONE))["vector"].hits
    expected = sorted(((1 + float(v @ query)) / 2, f"d{i}") for i, v in enumerate(vectors))[::-1]
    assert [(h.doc_id, pytest.approx(h.score, abs=1e-6)) for h in hits] == [(d, s) for s, d in expected]


def test_filters_apply_before_top_k(tmp_path: Path) -> None:
    """A restrictive ACL still yields k hits when k allowed chunks match."""
    rng = np.random.default_rng(3)
    backend = new_backend(tmp_path)
    chunks = {}
    for i in range(60):
        acl = ("group:sre",) if i % 10 == 0 else ("group:finance",)
        chunks[f"d{i}"] = [make_chunk(f"d{i}", "database runbook", f"failover step {i}", unit(rng), acl=acl)]
    backend.replace_documents("docs-v1", keyed(chunks))
    sre = AccessFilter("t1", frozenset({"group:sre"}))
    results = backend.run_legs({"lexical": LexicalLeg("database failover", 5), "vector": VectorLeg(unit(rng), 5)}, sre)
    for result in results.values():
        assert len(result.hits) == 5
        assert all(int(h.doc_id[1:]) % 10 == 0 for h in result.hits)


def test_legs_on_two_threads_answer_as_on_one(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    chunks = {f"d{i}": [make_chunk(f"d{i}", "database runbook", f"failover step {i % 7}", unit(rng),
                                   acl=("group:sre",) if i % 3 else ("*",))] for i in range(40)}
    query = unit(rng)
    answers = []
    for parallel in (False, True):
        backend = new_backend(tmp_path / str(parallel), parallel_legs=parallel)
        backend.replace_documents("docs-v1", keyed(chunks))
        legs = {"lexical": LexicalLeg("database failover step 3", 10), "vector": VectorLeg(query, 10)}
        results = backend.run_legs(legs, AccessFilter("t1", frozenset({"group:sre"})))
        answers.append({name: [(h.doc_id, h.score) for h in result.hits] for name, result in results.items()})
    assert answers[0] == answers[1] and all(len(hits) == 10 for hits in answers[0].values())


def test_metadata_filters_any_of_values(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    backend = new_backend(tmp_path)
    cats = ["billing", "sso", "billing", "api"]
    backend.replace_documents("docs-v1", keyed({
        f"d{i}": [make_chunk(f"d{i}", "help", "article text", unit(rng), metadata={"category": (c,)})] for i, c in enumerate(cats)
    }))
    access = AccessFilter("t1", EVERYONE, {"category": ("billing", "api")})
    results = backend.run_legs({"lexical": LexicalLeg("article", 10), "vector": VectorLeg(unit(rng), 10)}, access)
    for result in results.values():
        assert sorted(h.doc_id for h in result.hits) == ["d0", "d2", "d3"]


access_strategy = st.builds(
    AccessFilter,
    tenant=st.sampled_from(["t1", "t2", "t3"]),
    principals=st.frozensets(st.sampled_from(["user:a", "user:b", "group:x", "group:y"]), max_size=3),
)


@hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    acls=st.lists(
        st.tuples(st.sampled_from(["t1", "t2"]),
                  st.lists(st.sampled_from(["*", "user:a", "user:b", "group:x", "group:y", "group:z"]), min_size=1, max_size=3)),
        min_size=1, max_size=25,
    ),
    access=access_strategy,
    k=st.integers(min_value=1, max_value=30),
    seed=st.integers(min_value=0, max_value=2**16),
)
def test_no_hit_escapes_tenant_or_acl(tmp_path_factory, acls, access, k, seed) -> None:
    """Every hit of every leg is admitted, and the vector leg returns min(k, admitted)."""
    rng = np.random.default_rng(seed)
    backend = new_backend(tmp_path_factory.mktemp("idx"))
    chunks = {
        f"d{i}": [make_chunk(f"d{i}", "shared words", "common body text", unit(rng), tenant=t, acl=tuple(a))]
        for i, (t, a) in enumerate(acls)
    }
    backend.replace_documents("docs-v1", keyed(chunks))
    admitted = {d for d, (c,) in chunks.items() if access.admits(c)}
    results = backend.run_legs({"lexical": LexicalLeg("common words", k), "vector": VectorLeg(unit(rng), k)}, access)
    for result in results.values():
        assert {h.doc_id for h in result.hits} <= admitted
        assert len(result.hits) == min(k, len(admitted))


def test_replacing_a_document_drops_its_old_chunks(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    backend = new_backend(tmp_path)
    old = [make_chunk("doc", "title", f"zebra part {p}", unit(rng), position=p, content_hash="v1") for p in range(3)]
    backend.replace_documents("docs-v1", keyed({"doc": old, "other": [make_chunk("other", "t", "zebra too", unit(rng))]}))
    new = [make_chunk("doc", "title", "giraffe only", unit(rng), content_hash="v2")]
    backend.replace_documents("docs-v1", keyed({"doc": new}))
    access = AccessFilter("t1", EVERYONE)
    zebra = backend.run_legs({"lexical": LexicalLeg("zebra", 10)}, access)["lexical"].hits
    assert [h.chunk_id for h in zebra] == ["t1/other#0"]
    vector = backend.run_legs({"vector": VectorLeg(unit(rng), 10)}, access)["vector"].hits
    assert sorted(h.chunk_id for h in vector) == ["t1/doc#0", "t1/other#0"]
    assert backend.document_hashes("docs-v1") == {"t1/doc": "v2", "t1/other": "h"}
    assert backend.delete_documents("docs-v1", ["t1/doc", "t1/missing"]) == 1
    assert backend.index_info("docs-v1").chunks == 1


def test_fetch_returns_stored_chunks_without_their_vectors(tmp_path: Path) -> None:
    rng = np.random.default_rng(13)
    backend = new_backend(tmp_path)
    stored = make_chunk("doc", "Title", "the text", unit(rng), acl=("group:a", "user:b"), metadata={"team": ("sre", "ops")})
    backend.replace_documents("docs-v1", keyed({"doc": [stored]}))
    fetched = backend.fetch_chunks(["t1/doc#0", "t1/missing#0"])
    assert list(fetched) == ["t1/doc#0"]
    assert fetched["t1/doc#0"] == stored and fetched["t1/doc#0"].vector is None  # (== ignores the vector)


def test_a_snapshot_loaded_before_fork_serves_the_child(tmp_path: Path) -> None:
    """gunicorn loads the index in the master; each worker must then search and
    fetch through it (SQLite connections do not cross a fork: one per process)."""
    rng = np.random.default_rng(14)
    backend = new_backend(tmp_path)
    backend.replace_documents("docs-v1", keyed({f"d{i}": [make_chunk(f"d{i}", "t", f"word{i} shared", unit(rng))] for i in range(5)}))
    access = AccessFilter("t1", EVERYONE)
    legs = {"lexical": LexicalLeg("shared word3", 5), "vector": VectorLeg(unit(rng), 5)}

    def answer() -> str:
        results = backend.run_legs(legs, access)
        ids = [h.chunk_id for r in results.values() for h in r.hits]
        return json.dumps([ids, sorted(c.text for c in backend.fetch_chunks(ids).values())])

    expected = answer()  # loads the snapshot and opens this process's connection
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: answer through the inherited snapshot, then leave at once
        try:
            os.write(write_end, answer().encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        got = pipe.read().decode()
    os.waitpid(pid, 0)
    assert got == expected
    assert answer() == expected  # and the parent's connection still works


def test_interrupted_write_is_repaired_from_sqlite(tmp_path: Path) -> None:
    """If the text index missed a commit, the next writer rebuilds it."""
    rng = np.random.default_rng(6)
    backend = new_backend(tmp_path)
    backend.replace_documents("docs-v1", keyed({"a": [make_chunk("a", "alpha", "first", unit(rng))]}))
    db_path = tmp_path / "data" / "indexes" / "docs-v1" / "chunks.sqlite"
    with sqlite3.connect(db_path) as db:  # simulate a crash after the SQLite commit
        db.execute(
            "INSERT INTO chunks (chunk_id, doc_id, position, title, text, tenant, acl, metadata, content_hash, vector) "
            "VALUES ('b#0', 'b', 0, 'beta', 'second', 't1', '[\"*\"]', '{}', 'h', ?)", (unit(rng).tobytes(),))
        db.execute("UPDATE state SET value = value + 1 WHERE key = 'generation'")
    backend.replace_documents("docs-v1", keyed({"c": [make_chunk("c", "gamma", "third", unit(rng))]}))
    hits = backend.run_legs({"lexical": LexicalLeg("beta second", 10)}, AccessFilter("t1", EVERYONE))["lexical"].hits
    assert [h.doc_id for h in hits] == ["b"]


def text_segments(backend: EmbeddedBackend, index: str = "docs-v1") -> int:
    return TextIndex(lexical_design(1)).segment_count(backend.indexes_dir / index / "text")


def test_force_merge_leaves_one_segment_and_the_same_answers(tmp_path: Path) -> None:
    rng = np.random.default_rng(11)
    words = "alpha beta gamma delta epsilon zeta eta theta".split()
    backend = new_backend(tmp_path / "merged", hnsw_min_chunks=30)
    chunks = {}
    for write in range(4):  # one segment per commit
        batch = {
            f"w{write}-{i}": [make_chunk(f"w{write}-{i}", str(rng.choice(words)), " ".join(rng.choice(words, 6)), unit(rng),
                                         tenant=("t1", "t2")[i % 2], acl=("*",) if i % 3 else ("group:x",))]
            for i in range(40)
        }
        backend.replace_documents("docs-v1", keyed(batch))
        chunks |= batch
    backend.delete_documents("docs-v1", ["t1/w0-0", "t2/w1-1"])
    # The same surviving chunks written in one commit: one segment, no deleted documents in its statistics.
    one_write = new_backend(tmp_path / "one-write", hnsw_min_chunks=10**9)
    one_write.replace_documents("docs-v1", keyed({d: c for d, c in chunks.items() if d not in ("w0-0", "w1-1")}))
    index_dir = backend.indexes_dir / "docs-v1"
    reader = EmbeddedBackend(backend.settings.replace(embedded_refresh_interval_s=0.0))  # another process's view
    accesses = [AccessFilter(t, p) for t in ("t1", "t2") for p in (EVERYONE, frozenset({"group:x"}))]
    queries = [(f"{a} {b}", unit(rng)) for a, b in zip(words, reversed(words))]

    def answers(leg: str, of: EmbeddedBackend = reader) -> list:
        """Every hit (k exceeds the index) as (score, doc_id), so ties compare by id."""
        return [
            sorted((round(h.score, 6), h.doc_id) for h in of.run_legs(
                {leg: LexicalLeg(text, 200) if leg == "lexical" else VectorLeg(vector, 200)}, access)[leg].hits)
            for access in accesses for text, vector in queries
        ]

    vector_before = answers("vector")
    generation = int((index_dir / "GENERATION").read_text())
    graphs = {p.name: p.stat().st_ino for p in (index_dir / f"hnsw-{generation}").glob("*.bin")}
    assert text_segments(backend) > 1 and len(graphs) == 2
    backend.force_merge("docs-v1")
    assert text_segments(backend) == 1
    assert int((index_dir / "GENERATION").read_text()) == generation + 1  # readers reload
    assert {p.name: p.stat().st_ino for p in (index_dir / f"hnsw-{generation + 1}").glob("*.bin")} == graphs  # kept
    assert answers("lexical") == answers("lexical", one_write)
    assert answers("vector") == vector_before
    backend.force_merge("docs-v1")  # already one segment: nothing to do
    assert int((index_dir / "GENERATION").read_text()) == generation + 1


def test_force_merge_interrupted_after_sqlite_is_repaired(tmp_path: Path) -> None:
    rng = np.random.default_rng(12)
    backend = new_backend(tmp_path)
    for name in ("one", "two"):
        backend.replace_documents("docs-v1", keyed({name: [make_chunk(name, "t", f"word {name}", unit(rng))]}))
    with sqlite3.connect(backend.indexes_dir / "docs-v1" / "chunks.sqlite") as db:  # crash after the new generation
        db.execute("UPDATE state SET value = value + 1 WHERE key = 'generation'")
    backend.force_merge("docs-v1")  # the writer repairs first (one segment), so the merge has nothing left
    assert text_segments(backend) == 1
    hits = backend.run_legs({"lexical": LexicalLeg("word", 10)}, AccessFilter("t1", EVERYONE))["lexical"].hits
    assert sorted(h.doc_id for h in hits) == ["one", "two"]


def test_alias_switch_is_seen_without_restart(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    backend = new_backend(tmp_path)
    backend.replace_documents("docs-v1", keyed({"old": [make_chunk("old", "t", "apple", unit(rng))]}))
    reader = EmbeddedBackend(backend.settings)  # another process's view
    access = AccessFilter("t1", EVERYONE)
    assert reader.run_legs({"lexical": LexicalLeg("apple", 5)}, access)["lexical"].hits[0].doc_id == "old"
    backend.create_index(IndexInfo(name="docs-v2", template_version=2, model_version="test-model", dimension=DIM))
    backend.replace_documents("docs-v2", keyed({"new": [make_chunk("new", "t", "apple", unit(rng))]}))
    backend.switch_alias("docs-v2")
    assert reader.run_legs({"lexical": LexicalLeg("apple", 5)}, access)["lexical"].hits[0].doc_id == "new"
    assert reader.live_index().name == "docs-v2"
    with pytest.raises(ValueError):
        backend.drop_index("docs-v2")
    backend.drop_index("docs-v1")
    assert [i.name for i in backend.list_indexes()] == ["docs-v2"]
    assert json.loads((tmp_path / "data" / "aliases.json").read_text()) == {"docs": "docs-v2"}


def test_a_reader_sees_writes_within_its_refresh_interval(tmp_path: Path) -> None:
    rng = np.random.default_rng(15)
    backend = new_backend(tmp_path)
    backend.replace_documents("docs-v1", keyed({"old": [make_chunk("old", "t", "apple", unit(rng))]}))
    reader = EmbeddedBackend(backend.settings.replace(embedded_refresh_interval_s=30.0))
    access = AccessFilter("t1", EVERYONE)

    def found() -> list[str]:
        return [h.doc_id for h in reader.run_legs({"lexical": LexicalLeg("apple", 5)}, access)["lexical"].hits]

    assert found() == ["old"] and found() == ["old"]  # loaded, then checked unchanged: the interval starts
    backend.replace_documents("docs-v1", keyed({"new": [make_chunk("new", "t", "apple apple", unit(rng))]}))
    assert found() == ["old"]  # the snapshot it checked less than 30 s ago
    reader._checked_at -= 31  # as if the interval had passed
    assert found() == ["new", "old"]


def test_missing_alias_is_a_clear_error(tmp_path: Path) -> None:
    backend = EmbeddedBackend(Settings(data_dir=tmp_path / "empty"))
    with pytest.raises(IndexNotFound, match="hybrid-search ingest"):
        backend.live_index()


def test_hnsw_agrees_with_exact_search(tmp_path: Path) -> None:
    rng = np.random.default_rng(8)
    exact = new_backend(tmp_path / "exact", hnsw_min_chunks=10**9)
    approx = new_backend(tmp_path / "approx", hnsw_min_chunks=100)
    chunks = {f"d{i}": [make_chunk(f"d{i}", "t", "x", unit(rng), acl=("*",) if i % 2 else ("group:x",))] for i in range(400)}
    # A second tenant too small for a graph of its own: searched exactly.
    chunks |= {f"s{i}": [make_chunk(f"s{i}", "t", "x", unit(rng), tenant="t2")] for i in range(60)}
    for backend in (exact, approx):
        backend.replace_documents("docs-v1", keyed(chunks))
    manifests = list((tmp_path / "approx" / "data" / "indexes" / "docs-v1").glob("hnsw-*/manifest.json"))
    assert len(manifests) == 1 and list(json.loads(manifests[0].read_text())) == ["t1"]
    assert not list((tmp_path / "exact" / "data" / "indexes" / "docs-v1").glob("hnsw-*"))
    overlap = []
    accesses = (AccessFilter("t1", EVERYONE), AccessFilter("t1", frozenset({"group:x"})), AccessFilter("t2", EVERYONE))
    for access in accesses:
        for _ in range(20):
            query = unit(rng)
            want = {h.doc_id for h in exact.run_legs({"vector": VectorLeg(query, 10)}, access)["vector"].hits}
            got = approx.run_legs({"vector": VectorLeg(query, 10)}, access)["vector"].hits
            assert len(got) == 10 and all(access.admits(chunks[h.doc_id][0]) for h in got)
            overlap.append(len(want & {h.doc_id for h in got}) / 10)
    assert np.mean(overlap) >= 0.95


def test_each_write_rebuilds_the_graphs_and_keeps_one_older_set(tmp_path: Path) -> None:
    rng = np.random.default_rng(9)
    backend = new_backend(tmp_path, hnsw_min_chunks=50)
    index_dir = tmp_path / "data" / "indexes" / "docs-v1"
    (index_dir / "vectors.hnsw").write_bytes(b"a graph from an earlier version")
    for round_ in range(3):
        backend.replace_documents("docs-v1", keyed({f"r{round_}-{i}": [make_chunk(f"r{round_}-{i}", "t", "x", unit(rng))] for i in range(60)}))
    assert sorted(p.name for p in index_dir.glob("hnsw-*")) == ["hnsw-2", "hnsw-3"]
    assert not (index_dir / "vectors.hnsw").exists()
    query = unit(rng)
    hits = backend.run_legs({"vector": VectorLeg(query, 180)}, AccessFilter("t1", EVERYONE))["vector"].hits
    assert len(hits) == 180  # the graph holds all three writes


def test_a_write_rebuilds_only_the_graphs_of_the_tenants_it_touched(tmp_path: Path) -> None:
    rng = np.random.default_rng(10)
    backend = new_backend(tmp_path, hnsw_min_chunks=50)
    index_dir = tmp_path / "data" / "indexes" / "docs-v1"
    backend.replace_documents("docs-v1", keyed({
        f"{tenant}-{i}": [make_chunk(f"{tenant}-{i}", "t", "x", unit(rng), tenant=tenant)] for tenant in ("t1", "t2") for i in range(60)
    }))

    def graph_inodes(generation: int) -> dict[str, int]:
        manifest = json.loads((index_dir / f"hnsw-{generation}" / "manifest.json").read_text())
        return {tenant: (index_dir / f"hnsw-{generation}" / entry["file"]).stat().st_ino for tenant, entry in manifest.items()}

    backend.replace_documents("docs-v1", keyed({"t2-new": [make_chunk("t2-new", "t", "x", unit(rng), tenant="t2")]}))
    before, after = graph_inodes(1), graph_inodes(2)
    assert after["t1"] == before["t1"] and after["t2"] != before["t2"]
    backend.delete_documents("docs-v1", [doc_key("t1", "t1-0")])
    assert graph_inodes(3)["t1"] != after["t1"] and graph_inodes(3)["t2"] == after["t2"]
    for tenant, count in (("t1", 59), ("t2", 61)):
        hits = backend.run_legs({"vector": VectorLeg(unit(rng), 100)}, AccessFilter(tenant, EVERYONE))["vector"].hits
        assert len(hits) == count and all(h.doc_id.startswith(tenant) for h in hits)


@hsettings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    acls=st.lists(st.sampled_from([("*",), ("group:a",), ("group:b",), ("group:a", "group:b")]), min_size=1, max_size=60),
    principals=st.sets(st.sampled_from(["group:a", "group:b", "user:nobody"]), min_size=1),
    k=st.integers(min_value=1, max_value=70),
    seed=st.integers(min_value=0, max_value=2**16),
)
def test_exact_search_is_brute_force_over_the_admitted_chunks(tmp_path_factory, acls, principals, k, seed) -> None:
    """Both exact strategies (gathering a few admitted rows, or scanning the
    tenant's block) give the ranking brute force gives, and nothing else."""
    rng = np.random.default_rng(seed)
    backend = new_backend(tmp_path_factory.mktemp("idx"))
    chunks = [make_chunk(f"d{i}", "t", "x", unit(rng), acl=acl) for i, acl in enumerate(acls)]
    chunks += [make_chunk(f"other{i}", "t", "x", unit(rng), tenant="t2") for i in range(5)]
    backend.replace_documents("docs-v1", keyed({c.doc_id: [c] for c in chunks}))
    access, query = AccessFilter("t1", frozenset(principals)), unit(rng)
    admitted = [c for c in chunks if access.admits(c)]
    cosines = {c.doc_id: float(c.vector @ query) for c in admitted}
    want = sorted(cosines, key=lambda d: (-cosines[d], int(d[1:])))[:k]
    hits = backend.run_legs({"vector": VectorLeg(query, k)}, access)["vector"].hits
    assert [h.doc_id for h in hits] == want
    assert [h.score for h in hits] == pytest.approx([(1 + cosines[d]) / 2 for d in want], abs=1e-6)


@hsettings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    chunks_per_doc=st.lists(st.integers(min_value=1, max_value=4), min_size=1, max_size=12),
    k=st.integers(min_value=1, max_value=30),
    max_documents=st.integers(min_value=1, max_value=12),
    seed=st.integers(min_value=0, max_value=2**16),
)
def test_max_documents_keeps_each_documents_best_chunk(tmp_path_factory, chunks_per_doc, k, max_documents, seed) -> None:
    """Collapsing in the backend equals collapsing the full chunk list afterwards."""
    rng = np.random.default_rng(seed)
    backend = new_backend(tmp_path_factory.mktemp("idx"))
    words = ["alpha", "beta", "gamma", "delta"]
    backend.replace_documents("docs-v1", keyed({
        f"d{i}": [make_chunk(f"d{i}", "t", " ".join(rng.choice(words, size=4)), unit(rng), position=p) for p in range(n)]
        for i, n in enumerate(chunks_per_doc)
    }))
    access, query = AccessFilter("t1", EVERYONE), unit(rng)
    for leg, collapsed in (
        (LexicalLeg("alpha gamma", k), LexicalLeg("alpha gamma", k, max_documents)),
        (VectorLeg(query, k), VectorLeg(query, k, max_documents)),
    ):
        every = backend.run_legs({"leg": leg}, access)["leg"].hits
        best: dict[str, object] = {}
        for hit in every:
            best.setdefault(hit.doc_id, hit)
        assert backend.run_legs({"leg": collapsed}, access)["leg"].hits == list(best.values())[:max_documents]


def test_a_document_with_many_top_chunks_does_not_crowd_out_the_others(tmp_path: Path) -> None:
    """The first, shallow pass finds one document only; the second pass must find the rest."""
    rng = np.random.default_rng(11)
    backend = new_backend(tmp_path)
    crowd = [make_chunk("crowd", "t", "alpha alpha alpha alpha", unit(rng), position=p) for p in range(10)]
    others = {f"d{i}": [make_chunk(f"d{i}", "t", f"alpha and other words number {i}", unit(rng))] for i in range(5)}
    backend.replace_documents("docs-v1", keyed({"crowd": crowd, **others}))
    hits = backend.run_legs({"lexical": LexicalLeg("alpha", 100, max_documents=3)}, AccessFilter("t1", EVERYONE))["lexical"].hits
    assert len(hits) == 3 and hits[0].doc_id == "crowd" and len({h.doc_id for h in hits}) == 3


@hsettings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    docs=st.lists(
        st.tuples(
            st.lists(st.sampled_from(["alpha", "beta", "gamma", "delta", "omega"]), min_size=1, max_size=6),
            st.sampled_from(["t1", "t2"]),
            st.sampled_from([("*",), ("group:a",), ("group:b",)]),
        ),
        min_size=1, max_size=40,
    ),
    principals=st.sets(st.sampled_from(["group:a", "group:b", "user:nobody"]), min_size=1),
    k=st.integers(min_value=1, max_value=30),
    seed=st.integers(min_value=0, max_value=2**16),
)
def test_lexical_post_filter_plan_matches_filtering_inside_the_query(tmp_path_factory, docs, principals, k, seed) -> None:
    """Ranking unfiltered and dropping refused chunks gives exactly the filtered
    top k, falling back when too few survive; neither plan leaks a chunk."""
    rng = np.random.default_rng(seed)
    root = tmp_path_factory.mktemp("idx")
    post = new_backend(root / "post")  # the default: post-filter whenever the over-fetch is small
    inside = new_backend(root / "inside", lexical_post_filter_max_fetch=0)
    chunks = {f"d{i}": [make_chunk(f"d{i}", "t", " ".join(words), unit(rng), tenant=tenant, acl=acl)]
              for i, (words, tenant, acl) in enumerate(docs)}
    for backend in (post, inside):
        backend.replace_documents("docs-v1", keyed(chunks))
    access = AccessFilter("t1", frozenset(principals))
    leg = {"lexical": LexicalLeg("alpha omega", k)}
    got, want = (backend.run_legs(leg, access)["lexical"].hits for backend in (post, inside))
    assert [(h.doc_id, h.score) for h in got] == [(h.doc_id, h.score) for h in want]
    assert all(access.admits(chunks[h.doc_id][0]) for h in got)


def test_filter_masks_are_cached_per_caller_and_metadata(tmp_path: Path) -> None:
    rng = np.random.default_rng(11)
    backend = new_backend(tmp_path)
    backend.replace_documents("docs-v1", keyed({
        f"d{i}": [make_chunk(f"d{i}", "t", "x", unit(rng), metadata={"kind": ("a" if i % 2 else "b",)})] for i in range(10)
    }))
    snapshot = backend._current()
    plain = AccessFilter("t1", EVERYONE)
    only_a = AccessFilter("t1", EVERYONE, {"kind": ("a",)})
    assert snapshot.allowed(only_a)[1] == 5 and snapshot.allowed(plain)[1] == 10
    # A second call is a cache hit (the same object), with or without metadata.
    assert snapshot.allowed(only_a) is snapshot.allowed(only_a)
    assert snapshot.allowed(plain) is snapshot.allowed(plain)


def binomial_below(n: int, p: float, k: int) -> float:
    """P(X < k) for X ~ Binomial(n, p), summed in log space."""
    log_pmf = [math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * math.log(p) + (n - i) * math.log1p(-p)
               for i in range(min(k, n + 1))]
    return math.fsum(math.exp(v) for v in log_pmf)


@hsettings(max_examples=200, deadline=None)
@given(k=st.integers(1, 1000), share=st.floats(0.01, 0.999))
def test_over_fetch_finds_k_survivors_but_for_rare_queries(k: int, share: float) -> None:
    n = over_fetch(k, share)
    assert binomial_below(n, share, k) <= 0.002  # a fallback to the exact plan about once in 500 queries at most
    if k >= 50:  # at the depths legs ask for, the margin stays a fraction of k / share
        assert n <= 2 * k / share + 20


def lucene_bm25_whole_documents(query: str, docs: list[str]) -> list[float]:
    """Lucene's BM25 (k1 1.2, b 0.75) over one field per document."""
    chain = analyzer(ENGLISH_V2)
    tokens = [chain.analyze(text) for text in docs]
    avgdl = sum(map(len, tokens)) / len(tokens)
    scores = [0.0] * len(docs)
    for term in chain.analyze(query):
        df = sum(term in t for t in tokens)
        if df == 0:
            continue
        idf = math.log(1 + (len(docs) - df + 0.5) / (df + 0.5))
        for i, t in enumerate(tokens):
            if tf := t.count(term):
                scores[i] += idf * tf / (tf + 1.2 * (1 - 0.75 + 0.75 * len(t) / avgdl))
    return scores


def test_template_2_ranks_whole_documents_by_lucenes_bm25(tmp_path: Path) -> None:
    rng = np.random.default_rng(21)
    backend = EmbeddedBackend(Settings(data_dir=tmp_path / "data"))
    backend.create_index(IndexInfo(name="docs-v2", template_version=2, model_version="test-model", dimension=DIM))
    backend.switch_alias("docs-v2")
    bodies = {
        "d0": ("Database failover", ["Promote the replica when the primary database fails.", "Then repoint every client."]),
        "d1": ("Failover drills", ["Run a failover drill every quarter.", "What have we learned from each failover drill?"]),
        "d2": ("Disk full", ["Clean old logs when the disk is full on a database host."]),
        "d3": ("Other tenant", ["database failover drills for another tenant"]),
    }
    written = {}
    for doc_id, (title, parts) in bodies.items():
        tenant = "t2" if doc_id == "d3" else "t1"
        body = "\n\n".join(parts)
        chunks = [make_chunk(doc_id, title, text, unit(rng), position=n, tenant=tenant) for n, text in enumerate(parts)]
        chunks[0] = dataclasses.replace(chunks[0], document_body=body)
        written[doc_id] = chunks
    backend.replace_documents("docs-v2", keyed(written))
    visible = [d for d in bodies if d != "d3"]
    texts = [document_text(bodies[d][0], "\n\n".join(bodies[d][1])) for d in bodies]  # statistics span tenants
    # Stop words of the long list ("what", "have", "we", "from", "each") match nothing.
    for query in ("database failover drills", "what have we learned from each failover drill"):
        hits = backend.run_legs({"lexical": LexicalLeg(query, 10)}, AccessFilter("t1", EVERYONE))["lexical"].hits
        expected = dict(zip(bodies, lucene_bm25_whole_documents(query, texts)))
        assert {h.doc_id for h in hits} == {d for d in visible if expected[d] > 0}
        for hit in hits:
            assert hit.score == pytest.approx(expected[hit.doc_id], rel=1e-5)
            assert hit.chunk_id == chunk_key("t1", hit.doc_id, 0)  # a document's hit is its first chunk
    # A replacement and a delete reach the document record.
    backend.replace_documents("docs-v2", keyed({"d1": [make_chunk("d1", "Renamed", "nothing relevant", unit(rng))]}))
    backend.delete_documents("docs-v2", [doc_key("t1", "d2")])
    hits = backend.run_legs({"lexical": LexicalLeg("database failover drills", 10)}, AccessFilter("t1", EVERYONE))
    assert [h.doc_id for h in hits["lexical"].hits] == ["d0"]


@hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    fields=st.lists(document_fields, min_size=1, max_size=6),
    narrowing=clauses,
    principals=st.sets(st.sampled_from(["group:a", "user:nobody"]), min_size=1),
    seed=st.integers(min_value=0, max_value=2**16),
)
def test_narrowing_inside_both_legs_admits_what_the_reference_admits(tmp_path_factory, fields, narrowing, principals, seed) -> None:
    rng = np.random.default_rng(seed)
    backend = new_backend(tmp_path_factory.mktemp("idx"))
    chunks = {
        f"d{i}": [dataclasses.replace(
            make_chunk(f"d{i}", "t", "alpha words", unit(rng), metadata=metadata, acl=("*",) if i % 3 else ("group:a",)),
            updated_at=updated_at,
        )]
        for i, (metadata, updated_at) in enumerate(fields)
    }
    chunks["x"] = [make_chunk("x", "t", "alpha words", unit(rng), tenant="t2", metadata={"team": ("a",)})]
    backend.replace_documents("docs-v1", keyed(chunks))
    access = AccessFilter("t1", frozenset(principals), narrowing=narrowing)
    want = {doc for doc, (c,) in chunks.items() if access.admits(c)}
    results = backend.run_legs({"lexical": LexicalLeg("alpha", 50), "vector": VectorLeg(unit(rng), 50)}, access)
    assert {h.doc_id for h in results["lexical"].hits} == want
    assert {h.doc_id for h in results["vector"].hits} == want


def test_a_narrowing_filter_keeps_k_lexical_hits_when_it_admits_only_low_ranked_chunks(tmp_path: Path) -> None:
    """The text index filters tenant and ACL only: the narrowing clause must not cut the top k short."""
    from app.filters import Terms

    rng = np.random.default_rng(5)
    backend = new_backend(tmp_path, lexical_post_filter_max_fetch=0)  # always the filtered plan
    strong = {f"s{i}": [make_chunk(f"s{i}", "t", "alpha alpha alpha", unit(rng))] for i in range(40)}
    weak = {f"w{i}": [make_chunk(f"w{i}", "t", "alpha and many other words here", unit(rng), metadata={"team": ("x",)})]
            for i in range(5)}
    backend.replace_documents("docs-v1", keyed({**strong, **weak}))
    access = AccessFilter("t1", EVERYONE, narrowing=Terms("metadata.team", ("x",)))
    hits = backend.run_legs({"lexical": LexicalLeg("alpha", 3)}, access)["lexical"].hits
    assert len(hits) == 3 and all(h.doc_id.startswith("w") for h in hits)


def test_the_access_view_is_the_live_row_once_the_store_moved_on(tmp_path: Path) -> None:
    """``fetch(text=False)`` answers from the snapshot only while the store is at its generation."""
    rng = np.random.default_rng(3)
    backend = new_backend(tmp_path)
    backend.replace_documents("docs-v1", keyed({"d1": [make_chunk("d1", "t", "x", unit(rng), acl=("group:a",), metadata={"k": ("v",)})]}))
    snapshot = backend._current()
    (view,) = snapshot.fetch(["t1/d1#0"], text=False).values()
    assert (view.acl, dict(view.metadata), view.text) == (("group:a",), {"k": ("v",)}, "")
    backend.replace_documents("docs-v1", keyed({"d1": [make_chunk("d1", "t", "x", unit(rng), acl=("group:b",), content_hash="h2")]}))
    (live,) = snapshot.fetch(["t1/d1#0"], text=False).values()  # the old snapshot, a newer store
    assert live.acl == ("group:b",) and dict(live.metadata) == {}
