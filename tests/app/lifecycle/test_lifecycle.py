"""Index lifecycle on the embedded backend with a tiny real corpus and the real encoder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.backends.base import AccessFilter, LexicalLeg
from app.backends.embedded import EmbeddedBackend
from app.ingest import ingest_documents
from app.lifecycle import FieldMap, Lifecycle, LifecycleError
from app.documents import Document, LineError
from app.settings import Settings
from app.sources import read_source


class RelabelledEncoder:
    """The real encoder under another version label: an index "built by an older model"."""

    def __init__(self, encoder, model_version: str) -> None:
        self._encoder = encoder
        self.model_version = model_version

    def __getattr__(self, name: str):
        return getattr(self._encoder, name)


def names(backend: EmbeddedBackend) -> list[str]:
    return [i.name for i in backend.list_indexes()]


def counts(backend: EmbeddedBackend, name: str) -> tuple[int, int]:
    info = backend.index_info(name)
    return info.documents, info.chunks


@pytest.fixture
def backend(settings: Settings) -> EmbeddedBackend:
    return EmbeddedBackend(settings)


@pytest.fixture
def live_v1(backend: EmbeddedBackend, settings: Settings, encoder, tiny_corpus: Path) -> Lifecycle:
    """docs-v1 holding the tiny corpus, behind the alias."""
    tool = Lifecycle(backend, settings, encoder, seed=7)
    assert tool.create(1) == "docs-v1"
    report = ingest_documents(read_source(str(tiny_corpus), settings), backend, encoder, settings)
    assert report.ok and report.indexed == 9
    return tool


def test_create_points_the_alias_only_when_it_points_nowhere(backend, settings, encoder) -> None:
    tool = Lifecycle(backend, settings, encoder)
    assert tool.create(1) == "docs-v1"
    assert backend.alias_target() == "docs-v1"
    assert tool.create(3) == "docs-v3"
    assert tool.create(3) == "docs-v3-000001"  # a rebuild goes beside, as a new generation
    assert backend.alias_target() == "docs-v1"
    with pytest.raises(LifecycleError, match="1 or more"):
        tool.create(0)


def test_migrate_by_copy_then_status_then_rollback(live_v1: Lifecycle, backend, encoder) -> None:
    before = counts(backend, "docs-v1")
    report = live_v1.migrate(2)
    assert report.switched and report.method == "copy" and report.previous == "docs-v1"
    assert report.verification.ok, report.verification.problems
    assert report.verification.probes == 9 and report.verification.found_new == 9
    assert report.verification.found_old == 9 and report.verification.vector_answered == 9
    assert backend.alias_target() == "docs-v2"
    assert counts(backend, "docs-v2") == before
    # The copy keeps the vectors: the same chunks answer the same vector query.
    old = {c.chunk_id: c.vector for c in backend.iter_chunks("docs-v1")}
    assert all((c.vector == old[c.chunk_id]).all() for c in backend.iter_chunks("docs-v2"))

    status = live_v1.status()
    assert status["live"] == "docs-v2"
    assert [(i["name"], i["live"], i["documents"]) for i in status["indexes"]] == [
        ("docs-v1", False, 9), ("docs-v2", True, 9)
    ]
    assert status["model"] == {"configured": encoder.model_version, "dimension": encoder.dimension, "matches_live": True}
    assert status["templates"]["embedded"]["analyzer"] == "english_text_v2"
    assert status["templates"]["embedded"]["lexical"] == "whole documents"

    assert live_v1.rollback() == ("docs-v2", "docs-v1")
    assert backend.alias_target() == "docs-v1"
    assert names(backend) == ["docs-v1", "docs-v2"]  # nothing dropped
    with pytest.raises(LifecycleError, match="no index older than docs-v1"):
        live_v1.rollback()
    assert live_v1.rollback(to="2") == ("docs-v1", "docs-v2")  # and forward again by name


def test_migrate_by_reingest_and_rebuild_of_the_live_version(live_v1: Lifecycle, backend, tiny_corpus) -> None:
    report = live_v1.migrate(2, source=str(tiny_corpus))
    assert report.method == "ingest" and report.switched
    assert report.ingest is not None and report.ingest.indexed == 9
    assert counts(backend, "docs-v2") == counts(backend, "docs-v1")

    rebuilt = live_v1.migrate(2)  # same version again: a new generation beside the live one
    assert rebuilt.index == "docs-v2-000001" and rebuilt.previous == "docs-v2"
    assert backend.alias_target() == "docs-v2-000001"
    assert live_v1.rollback() == ("docs-v2-000001", "docs-v2")


def test_search_through_the_alias_follows_the_switch(live_v1: Lifecycle, backend, tiny_docs) -> None:
    doc = tiny_docs[4]
    access = AccessFilter(tenant=doc["tenant"], principals=frozenset(doc["acl"]))
    live_v1.migrate(2)
    hits = backend.run_legs({"lexical": LexicalLeg(doc["title"], 5)}, access)["lexical"].hits
    assert doc["id"] in {h.doc_id for h in hits}
    assert hits[0].chunk_id.startswith(f"{doc['tenant']}/{doc['id']}#")


def test_truncated_source_fails_verification_and_leaves_the_alias(live_v1: Lifecycle, backend, tiny_corpus) -> None:
    lines = tiny_corpus.read_text().splitlines(keepends=True)
    half = tiny_corpus.with_name("half.jsonl")
    half.write_text("".join(lines[:4]))
    with pytest.raises(LifecycleError) as failure:
        live_v1.migrate(2, source=str(half))
    message = str(failure.value)
    assert "4 documents against 9 live" in message
    assert "alias 'docs' still points at docs-v1" in message and "dropped the unfinished docs-v2" in message
    assert backend.alias_target() == "docs-v1"
    assert names(backend) == ["docs-v1"]


def test_invalid_source_lines_refuse_the_switch(live_v1: Lifecycle, backend, tiny_corpus, settings) -> None:
    bad = tiny_corpus.with_name("bad.jsonl")
    bad.write_text(tiny_corpus.read_text() + '{"id": "x", "title": "no tenant"}\n')
    with pytest.raises(LifecycleError, match=r"1 invalid record\(s\).*bad.jsonl:10: acl"):
        live_v1.migrate(2, source=str(bad), keep_failed=True)
    assert backend.alias_target() == "docs-v1"
    assert names(backend) == ["docs-v1", "docs-v2"]  # kept for inspection
    tolerant = Lifecycle(backend, settings.replace(lifecycle_max_errors=1), live_v1.encoder)
    assert tolerant.migrate(2, source=str(bad)).index == "docs-v2-000001"


def test_a_missing_source_fails_before_anything_switches(live_v1: Lifecycle, backend, tmp_path) -> None:
    with pytest.raises(LifecycleError, match=r"no such file or folder.*still points at docs-v1"):
        live_v1.migrate(2, source=str(tmp_path / "gone.jsonl"))
    assert backend.alias_target() == "docs-v1" and names(backend) == ["docs-v1"]


def test_nothing_to_copy_without_a_live_index(backend, settings, encoder) -> None:
    with pytest.raises(LifecycleError, match="give --source"):
        Lifecycle(backend, settings, encoder).migrate(1)


def test_model_change_reembeds_and_rollback_guards_the_model(
    backend, settings, encoder, tiny_corpus
) -> None:
    older = RelabelledEncoder(encoder, "older-model")
    Lifecycle(backend, settings, older).create(1)
    ingest_documents(read_source(str(tiny_corpus), settings), backend, older, settings)
    tool = Lifecycle(backend, settings, encoder, seed=1)
    report = tool.migrate(2)
    assert report.method == f"re-embed (older-model → {encoder.model_version})" and report.switched
    assert backend.index_info("docs-v2").model_version == encoder.model_version
    assert counts(backend, "docs-v2") == counts(backend, "docs-v1")
    with pytest.raises(LifecycleError, match="holds embeddings of 'older-model'"):
        tool.rollback()
    assert backend.alias_target() == "docs-v2"
    assert tool.rollback(force=True) == ("docs-v2", "docs-v1")


def test_import_an_existing_index_with_a_field_map(backend, settings, encoder, tiny_docs, tmp_path) -> None:
    # The embedded scan yields chunks, so the "keyword index" here holds one-chunk documents.
    settings = settings.replace(template_version=1)  # an import into a version that exists: a new generation
    short = tmp_path / "short.jsonl"
    short.write_text("".join(json.dumps(d | {"body": d["body"].split("\n\n")[0][:300]}) + "\n" for d in tiny_docs))
    tool = Lifecycle(backend, settings, encoder, seed=3)
    tool.create(1)
    ingest_documents(read_source(str(short), settings), backend, encoder, settings)
    assert counts(backend, "docs-v1") == (9, 9)
    report = tool.import_index(
        "docs-v1", "id=doc_id,title=title,body=body,tenant=tenant,acl=acl,metadata.origin='legacy'"
    )
    assert report.switched and report.index == "docs-v1-000001" and report.verification.ok
    assert report.verification.documents == 9
    assert backend.alias_target() == "docs-v1-000001"
    assert {c.metadata["origin"] for c in backend.iter_chunks("docs-v1-000001")} == {("legacy",)}


def test_import_with_unmappable_records_leaves_the_alias(live_v1: Lifecycle, backend) -> None:
    with pytest.raises(LifecycleError, match=r"invalid record.*docs-v1\[.*\]:1: acl"):
        live_v1.import_index("docs-v1", "id=doc_id,title=title,tenant=tenant,acl=no_such_field")
    assert backend.alias_target() == "docs-v1" and names(backend) == ["docs-v1"]


# ---------------------------------------------------------------- field maps
def test_field_map_parses_paths_literals_and_defaults() -> None:
    mapping = FieldMap.parse("title=headline, body=content.text,tenant='acme',acl=groups,metadata.lang=language")
    assert mapping.fields == {
        "id": "_id", "title": "headline", "body": "content.text", "acl": "groups", "metadata.lang": "language"
    }
    assert mapping.literals == {"tenant": "acme"}
    assert mapping.source_fields() == ["content", "groups", "headline", "language"]
    doc = mapping.document(
        {"_id": 7, "headline": "Reset", "content": {"text": "Steps"}, "groups": "staff", "language": ["en", "de"]},
        "old[7]", 1,
    )
    assert isinstance(doc, Document)
    assert (doc.id, doc.title, doc.body, doc.tenant, doc.acl) == ("7", "Reset", "Steps", "acme", ("staff",))
    assert dict(doc.metadata) == {"lang": ("de", "en")}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("title=a,tenant=b", "lacks acl"),
        ("title=a,tenant=b,acl=c,colour=d", "target 'colour' is unknown"),
        ("title=a,tenant,acl=c", "is not TARGET=SOURCE"),
    ],
)
def test_field_map_errors_are_clear(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        FieldMap.parse(text)


def test_field_map_reports_a_bad_record_like_a_bad_line() -> None:
    error = FieldMap.parse("title=t,tenant=x,acl=a").document({"_id": "9", "t": "T", "x": "bad tenant!"}, "old[9]", 3)
    assert isinstance(error, LineError)
    assert str(error).startswith("old[9]:3: ")
    assert "acl" in error.messages and "tenant" in error.messages
    assert json.dumps(error.messages)  # serialisable, as for JSONL lines
