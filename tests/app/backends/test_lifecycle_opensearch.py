"""The index lifecycle on the OpenSearch backend, over real HTTP against the spec-validating stub."""

from __future__ import annotations

from pathlib import Path

import pytest
from opensearchpy import helpers

from app.backends.opensearch import OpenSearchBackend
from app.ingest import ingest_documents
from app.lifecycle import Lifecycle, LifecycleError
from app.sources import read_source


@pytest.fixture
def tool(backend: OpenSearchBackend, os_settings, encoder, tiny_corpus: Path) -> Lifecycle:
    """docs-v1-000001 holding the tiny corpus, behind the alias."""
    lifecycle = Lifecycle(backend, os_settings, encoder, seed=5)
    assert lifecycle.create(1) == "docs-v1-000001"
    report = ingest_documents(read_source(str(tiny_corpus), os_settings), backend, encoder, os_settings)
    assert report.ok and report.indexed == 9
    return lifecycle


def test_rebuild_uses_server_side_reindex_then_rolls_back(tool: Lifecycle, backend: OpenSearchBackend, stub) -> None:
    report = tool.migrate(1)
    assert report.method == "reindex" and report.index == "docs-v1-000002" and report.switched
    assert report.verification.documents == report.verification.expected_documents == 9
    assert len(stub.calls("POST", "/_reindex")) == 1
    # Merged once verified, before the switch; never the live index.
    merge, switch = (stub.requests.index(stub.calls(m, p)[-1]) for m, p in (("POST", "/_forcemerge$"), ("POST", "^/_aliases$")))
    assert stub.requests[merge]["path"] == "/docs-v1-000002/_forcemerge" and merge < switch
    assert backend.alias_target() == "docs-v1-000002"
    assert tool.rollback() == ("docs-v1-000002", "docs-v1-000001")
    status = tool.status()
    assert [(i["name"], i["live"], i["documents"]) for i in status["indexes"]] == [
        ("docs-v1-000001", True, 9), ("docs-v1-000002", False, 9)
    ]
    assert "docs-v1" in status["templates"]


# --- finding 4: a timed-out _reindex is never POSTed again (OpenSearch docs, "Reindex
# document": wait_for_completion=false runs it as a task, GET _tasks/<id> reports it).
def test_a_reindex_whose_answer_times_out_is_found_and_awaited_not_resent(
    tool: Lifecycle, backend: OpenSearchBackend, stub, os_settings
) -> None:
    stub.slow("POST", "^/_reindex$", 1.0, after=True)  # the task starts; its answer comes too late
    stub.task_polls = 2
    impatient = Lifecycle(OpenSearchBackend(os_settings.replace(opensearch_timeout_s=0.3)), os_settings, tool.encoder, seed=5)
    report = impatient.migrate(1)
    assert report.method == "reindex" and report.switched and report.verification.documents == 9
    (reindex,) = stub.calls("POST", "^/_reindex$")
    assert reindex["params"] == {"refresh": "true", "slices": "auto", "wait_for_completion": "false"}
    assert len(stub.tasks) == 2  # one reindex, one force-merge
    assert backend.alias_target() == "docs-v1-000002"


def test_a_reindex_still_running_at_the_timeout_keeps_its_index_and_the_alias(
    tool: Lifecycle, backend: OpenSearchBackend, stub, os_settings
) -> None:
    stub.slow("POST", "^/_reindex$", 1.0, after=True)
    stub.task_polls = 10_000
    short = os_settings.replace(opensearch_timeout_s=0.3, opensearch_maintenance_timeout_s=0.5)
    impatient = Lifecycle(OpenSearchBackend(short), short, tool.encoder, seed=5)
    with pytest.raises(LifecycleError, match=r"still points at docs-v1-000001; docs-v1-000002 kept, since a task may still write it"):
        impatient.migrate(1)
    assert len(stub.calls("POST", "^/_reindex$")) == 1 and len(stub.tasks) == 1
    assert backend.alias_target() == "docs-v1-000001"
    assert stub.calls("DELETE", "^/docs-v1-000002$") == [] and "docs-v1-000002" in stub.indexes


def test_a_reindex_the_cluster_refused_drops_the_new_index(tool: Lifecycle, backend: OpenSearchBackend, stub) -> None:
    stub.fail("POST", "^/_reindex$", 400)
    with pytest.raises(LifecycleError, match="dropped the unfinished docs-v1-000002"):
        tool.migrate(1)
    assert len(stub.calls("POST", "^/_reindex$")) == 1 and "docs-v1-000002" not in stub.indexes


def test_truncated_source_leaves_the_alias_on_the_cluster(tool: Lifecycle, backend, tiny_corpus: Path) -> None:
    half = tiny_corpus.with_name("half.jsonl")
    half.write_text("".join(tiny_corpus.read_text().splitlines(keepends=True)[:3]))
    with pytest.raises(LifecycleError, match="still points at docs-v1-000001; dropped the unfinished docs-v1-000002"):
        tool.migrate(1, source=str(half))
    assert backend.alias_target() == "docs-v1-000001"
    assert [i.name for i in backend.list_indexes()] == ["docs-v1-000001"]


def test_import_a_keyword_index_via_point_in_time_scan(
    backend: OpenSearchBackend, os_settings, encoder, tiny_docs: list[dict], stub
) -> None:
    backend.client.indices.create(index="kb-legacy", body={"mappings": {"properties": {
        "headline": {"type": "text"}, "content": {"type": "text"}, "org": {"type": "keyword"},
        "groups": {"type": "keyword"},
    }}})
    helpers.bulk(backend.client, (
        {"_index": "kb-legacy", "_id": d["id"], "_source": {
            "headline": d["title"], "content": d["body"][:400], "org": d["tenant"], "groups": d["acl"]}}
        for d in tiny_docs
    ), refresh=True)
    tool = Lifecycle(backend, os_settings, encoder)
    report = tool.import_index("kb-legacy", "title=headline,body=content,tenant=org,acl=groups")
    assert report.switched and report.index == "docs-v2-000001"
    assert report.verification.documents == 9
    assert backend.alias_target() == "docs-v2-000001"
    assert stub.calls("POST", "/kb-legacy/_search/point_in_time")  # read by a PIT scan (pages of 3)
    assert backend.count("kb-legacy") == 9  # the old index is untouched
