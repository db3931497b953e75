"""OpenSearchBackend driven over real HTTP against the spec-validating stub cluster."""

from __future__ import annotations

import dataclasses

import base64
import socket

import numpy as np
import pytest

from app.backends.base import AccessFilter, BackendError, Chunk, IndexInfo, IndexNotFound, LexicalLeg, QueryRejected, VectorLeg, WriteInProgress, chunk_key
from app.backends.opensearch import BulkFailed, OpenSearchBackend
from app.backends.opensearch_client import SEARCH_ATTEMPTS
from chunk_keys import keyed
from filter_clauses import clauses
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings

DIM = 4
RNG = np.random.default_rng(7)
USER = AccessFilter("t1", frozenset({"group:eng"}))


def chunk(doc_id: str, position: int, title: str, text: str, *, tenant: str = "t1", acl=("*",), team: str = "a",
          content_hash: str = "", vector=None) -> Chunk:
    return Chunk(
        chunk_id=chunk_key(tenant, doc_id, position), doc_id=doc_id, position=position, title=title, text=text, tenant=tenant,
        acl=tuple(acl), metadata={"team": (team,)}, content_hash=content_hash or f"hash-{doc_id}",
        vector=vector if vector is not None else RNG.normal(size=DIM).astype(np.float32),
    )


@pytest.fixture
def live(backend: OpenSearchBackend) -> OpenSearchBackend:
    """A backend with templates installed, one index behind the alias, three documents."""
    backend.create_index(IndexInfo(name="docs-v1", template_version=1, model_version="test-model", dimension=DIM))
    backend.switch_alias("docs-v1")
    backend.replace_documents("docs-v1", keyed({
        "d1": [chunk("d1", 0, "Database failover", "promote the replica"), chunk("d1", 1, "Database failover", "then repoint clients")],
        "d2": [chunk("d2", 0, "Disk full", "clean the database logs", acl=("group:ops",))],
        "d3": [chunk("d3", 0, "Database backup", "other tenant database", tenant="t2")],
    }))
    return backend


def test_both_legs_go_in_one_msearch_with_filters_inside_each_leg(live: OpenSearchBackend, stub) -> None:
    before = len(stub.calls("POST", "_msearch"))
    results = live.run_legs({"lexical": LexicalLeg("database", 10), "vector": VectorLeg(np.ones(DIM, np.float32), 10)}, USER)
    (request,) = stub.calls("POST", "_msearch")[before:]
    header, lexical, _, vector = request["body"]
    assert header["index"] == "docs" and "search_type" not in header  # one shard: its statistics are the index's
    assert {"term": {"tenant": "t1"}} in lexical["query"]["bool"]["filter"]
    assert {"terms": {"acl": ["*", "group:eng"]}} in vector["query"]["knn"]["embedding"]["filter"]["bool"]["filter"]
    # d2 (ACL ops only) and d3 (tenant t2) never come back from either leg.
    assert {h.doc_id for h in results["lexical"].hits} == {"d1"}
    assert {h.doc_id for h in results["vector"].hits} == {"d1"}
    assert all(0.0 <= h.score <= 1.0 for h in results["vector"].hits)


def test_metadata_filters_reach_both_legs(live: OpenSearchBackend) -> None:
    access = AccessFilter("t1", frozenset({"group:ops"}), {"team": ("b",)})
    results = live.run_legs({"lexical": LexicalLeg("database", 10), "vector": VectorLeg(np.ones(DIM, np.float32), 10)}, access)
    assert results["lexical"].hits == [] and results["vector"].hits == []


def test_indexes_are_versioned_generations_with_meta(live: OpenSearchBackend) -> None:
    assert live.alias_target() == "docs-v1-000001"
    live.create_index(IndexInfo(name="docs-v1", template_version=1, model_version="test-model", dimension=DIM))
    infos = live.list_indexes()
    assert [i.name for i in infos] == ["docs-v1-000001", "docs-v1-000002"]
    assert (infos[0].chunks, infos[0].documents, infos[0].model_version, infos[0].dimension) == (4, 3, "test-model", DIM)
    assert live.resolve("docs-v1") == "docs-v1-000002"
    assert live.live_index().name == "docs-v1-000001"
    with pytest.raises(ValueError, match="alias"):
        live.drop_index("docs-v1-000001")
    live.switch_alias("docs-v1-000002")
    assert live.alias_target() == "docs-v1-000002"
    live.drop_index("docs-v1-000001")
    assert [i.name for i in live.list_indexes()] == ["docs-v1-000002"]


def test_switch_alias_is_one_atomic_aliases_call(live: OpenSearchBackend, stub) -> None:
    live.create_index(IndexInfo(name="docs-v1", template_version=1, model_version="test-model", dimension=DIM))
    live.switch_alias("docs-v1-000002")
    body = stub.calls("POST", "^/_aliases$")[-1]["body"]
    assert body == {"actions": [{"remove": {"index": "docs-v1-000001", "alias": "docs"}}, {"add": {"index": "docs-v1-000002", "alias": "docs"}}]}


def test_force_merge_asks_for_one_segment_as_a_task(live: OpenSearchBackend, stub) -> None:
    stub.task_polls = 2
    live.force_merge("docs-v1")  # the logical name resolves to its newest generation
    (call,) = stub.calls("POST", "/_forcemerge$")
    # (request_timeout is the client's: no query parameter, which the stub would refuse)
    assert call["path"] == "/docs-v1-000001/_forcemerge"
    assert call["params"] == {"max_num_segments": "1", "wait_for_completion": "false"}
    assert len(stub.calls("GET", "^/_tasks/")) == 3  # polled until complete
    stub.fail("POST", "/_forcemerge$", 500, times=5)
    with pytest.raises(BackendError, match="force-merging docs-v1-000001"):
        live.force_merge("docs-v1-000001")
    assert len(stub.calls("POST", "/_forcemerge$")) == 2  # a 500 answer is final: not resent


def test_a_force_merge_outliving_the_maintenance_timeout_is_left_running(live: OpenSearchBackend, stub) -> None:
    stub.task_polls = 1000
    patient = OpenSearchBackend(live.settings.replace(opensearch_maintenance_timeout_s=0.2))
    with pytest.raises(WriteInProgress, match=r"still runs as task stub-node:1 .* continues on the cluster") as caught:
        patient.force_merge("docs-v1")
    assert caught.value.task_id == "stub-node:1" and len(stub.calls("POST", "/_forcemerge$")) == 1


def test_replace_removes_stale_chunks_and_updates_hashes(live: OpenSearchBackend) -> None:
    live.replace_documents("docs-v1", keyed({"d1": [chunk("d1", 0, "Database failover", "shorter now", content_hash="new")]}))
    assert live.document_hashes("docs-v1")["t1/d1"] == "new"
    assert sorted(c.chunk_id for c in live.iter_chunks("docs-v1")) == ["t1/d1#0", "t1/d2#0", "t2/d3#0"]
    # Ids are scoped by tenant: t2 has no d2, and t1's d2 is the one deleted.
    assert live.delete_documents("docs-v1", ["t2/d2", "t1/d2", "t1/missing"]) == 1
    assert live.count("docs-v1-000001") == 2
    fetched = live.fetch_chunks(["t1/d1#0", "nope"])
    assert list(fetched) == ["t1/d1#0"] and fetched["t1/d1#0"].text == "shorter now"


def test_scan_reads_every_document_through_pit_and_search_after(live: OpenSearchBackend, stub) -> None:
    rows = list(live.scan_index("docs-v1-000001", ["doc_id", "title"]))  # page size 3, 4 chunks
    assert sorted(r["_id"] for r in rows) == ["t1/d1#0", "t1/d1#1", "t1/d2#0", "t2/d3#0"]
    pages = stub.calls("POST", "^/_search$")
    assert "search_after" not in pages[-2]["body"] and pages[-1]["body"]["search_after"] == ["t1/d2#0"]
    assert stub.pits == {}  # closed afterwards


def test_reindex_copies_server_side_when_the_model_matches(live: OpenSearchBackend) -> None:
    live.create_index(IndexInfo(name="docs-v1", template_version=1, model_version="test-model", dimension=DIM))
    assert live.reindex("docs-v1-000001", "docs-v1-000002") == 4
    assert live.count("docs-v1-000002") == 4
    live.create_index(IndexInfo(name="docs-v1", template_version=1, model_version="other-model", dimension=DIM))
    with pytest.raises(ValueError, match="re-ingest"):
        live.reindex("docs-v1-000001", "docs-v1-000003")


def test_bulk_item_failures_name_the_documents(live: OpenSearchBackend) -> None:
    bad = chunk("d9", 0, "Wrong size", "vector too short", vector=np.ones(DIM + 1, np.float32))
    with pytest.raises(BulkFailed) as caught:
        live.replace_documents("docs-v1", keyed({"d9": [bad], "d8": [chunk("d8", 0, "Fine", "ok")]}))
    assert list(caught.value.failures) == ["d9"]
    assert "dimension" in caught.value.failures["d9"]


def test_bulk_retries_429_items(live: OpenSearchBackend, stub) -> None:
    stub.item_faults["t1/d7#0"] = [429]
    live.replace_documents("docs-v1", keyed({"d7": [chunk("d7", 0, "Retried", "after a 429")]}))
    assert "t1/d7" in live.document_hashes("docs-v1")


def test_429_then_success_is_retried_by_the_transport(live: OpenSearchBackend, stub) -> None:
    stub.fail("POST", "_msearch", 429)
    hits = live.run_legs({"lexical": LexicalLeg("database", 5)}, USER)["lexical"].hits
    assert [h.doc_id for h in hits] == ["d1", "d1"]


def test_503_after_retries_is_a_backend_error(live: OpenSearchBackend, stub) -> None:
    stub.fail("POST", "_msearch", 503, times=10)
    with pytest.raises(BackendError, match="503"):
        live.run_legs({"lexical": LexicalLeg("database", 5)}, USER)
    assert len(stub.calls("POST", "_msearch")) == SEARCH_ATTEMPTS  # a search retries once, inside its deadline


def test_missing_alias_names_it(backend: OpenSearchBackend) -> None:
    with pytest.raises(IndexNotFound, match="docs"):
        backend.live_index()
    # A search reads the alias target's template version (its query shape) first.
    with pytest.raises(IndexNotFound, match=r"alias 'docs' does not point at any index"):
        backend.run_legs({"lexical": LexicalLeg("x", 5)}, USER)
    with pytest.raises(IndexNotFound, match=r"no such index \[docs-v1\]"):
        backend.run_legs({"lexical": LexicalLeg("x", 5)}, USER, index="docs-v1")


def test_rejected_query_carries_opensearchs_reason(live: OpenSearchBackend, stub) -> None:
    reason = "failed to create query: maxClauseCount is set to 1024"
    stub.fail("POST", "_msearch", 200, {"took": 1, "responses": [{"error": {"root_cause": [{"type": "query_shard_exception", "reason": reason}], "type": "search_phase_execution_exception", "reason": "all shards failed"}, "status": 400}]})
    with pytest.raises(QueryRejected, match="maxClauseCount"):
        live.run_legs({"lexical": LexicalLeg("database", 5)}, USER)
    stub.fail("GET", "_mapping", 400, {"error": {"root_cause": [{"type": "illegal_argument_exception", "reason": "bad thing"}], "type": "illegal_argument_exception", "reason": "bad thing"}, "status": 400})
    with pytest.raises(QueryRejected, match="bad thing"):
        live.list_indexes()


def test_cluster_down_is_a_clear_backend_error(os_settings) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    down = OpenSearchBackend(os_settings.replace(opensearch_hosts=f"http://127.0.0.1:{port}", opensearch_max_retries=1))
    with pytest.raises(BackendError, match="unreachable"):
        down.run_legs({"lexical": LexicalLeg("x", 5)}, USER)


@pytest.mark.parametrize("method,normalization", [("rrf", "min_max"), ("linear", "min_max"), ("linear", "l2")])
def test_server_side_fusion_is_one_hybrid_query(live: OpenSearchBackend, stub, method: str, normalization: str) -> None:
    result = live.run_fused(LexicalLeg("database", 10), VectorLeg(np.ones(DIM, np.float32), 10), USER,
                            method=method, weights={"lexical": 0.7, "vector": 0.3}, normalization=normalization)
    assert result.name == "hybrid" and {h.doc_id for h in result.hits} == {"d1"}
    (search,) = stub.calls("POST", "^/docs/_search$")
    assert search["params"]["search_pipeline"].startswith("hybrid-search-")
    assert len(search["body"]["query"]["hybrid"]["queries"]) == 2


def test_z_score_stays_client_side(live: OpenSearchBackend) -> None:
    with pytest.raises(ValueError, match="min_max and l2"):
        live.run_fused(LexicalLeg("x", 5), VectorLeg(np.ones(DIM, np.float32), 5), USER, method="linear",
                       weights={}, normalization="z_score")


def test_templates_install_idempotently_and_report_drift(backend: OpenSearchBackend, stub) -> None:
    assert backend.install_templates()["docs-v1"]["action"] == "created"
    assert backend.install_templates()["docs-v1"] == {"action": "unchanged", "version": 1, "drift": {}}
    assert backend.template_versions()["docs-v1"]["in_sync"] is True
    stub.templates["docs-v1"]["template"]["settings"]["index"]["number_of_replicas"] = 5  # someone edited it
    assert backend.template_versions()["docs-v1"]["in_sync"] is False
    report = backend.install_templates()["docs-v1"]
    assert report["action"] == "updated"
    assert report["drift"] == {"template.settings.index.number_of_replicas": {"cluster": "5", "repository": "1"}}


def test_basic_auth_is_sent(os_settings, stub) -> None:
    OpenSearchBackend(os_settings.replace(opensearch_user="admin", opensearch_password="s3cret")).alias_target()
    assert stub.requests[-1]["headers"]["authorization"] == "Basic " + base64.b64encode(b"admin:s3cret").decode()


def test_sigv4_signs_with_boto3_credentials(os_settings, stub, monkeypatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    signed = OpenSearchBackend(os_settings.replace(opensearch_aws_service="es", opensearch_aws_region="eu-west-1"))
    signed.alias_target()
    authorization = stub.requests[-1]["headers"]["authorization"]
    assert authorization.startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/eu-west-1/es/aws4_request" in authorization


# --- finding 7: Serverless vector collections reject a document _id on index
# (Amazon OpenSearch Serverless docs, "Vector search collections" limitations).
def test_serverless_is_refused_with_the_reason(os_settings, stub) -> None:
    with pytest.raises(ValueError, match=r"aoss \(OpenSearch Serverless\) is not supported: vector collections assign their own document ids"):
        OpenSearchBackend(os_settings.replace(opensearch_aws_service="aoss", opensearch_aws_region="eu-west-1"))
    assert stub.requests == []


def narrowed_corpus() -> dict[str, list[Chunk]]:
    """Six documents whose fields cover the strategies' vocabulary (filter_clauses)."""
    fields = [({"team": ("a",)}, "2024-01-01T00:00:00Z"), ({"team": ("b",), "lang": ("a", "c")}, None),
              ({}, "2024-06-01T00:00:00Z"), ({"lang": ("b",)}, "2025-01-01T00:00:00Z"),
              ({"team": ("c",)}, "2024-06-01T00:00:00Z"), ({"team": ("a", "b")}, None)]
    return {
        f"d{i}": [dataclasses.replace(chunk(f"d{i}", 0, "Database", "database words"), metadata=metadata, updated_at=updated_at)]
        for i, (metadata, updated_at) in enumerate(fields)
    }


@hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(narrowing=clauses)
def test_narrowing_reaches_both_legs_as_the_reference_admits(backend: OpenSearchBackend, narrowing) -> None:
    if backend.alias_target() is None:
        backend.create_index(IndexInfo(name="docs-v1", template_version=1, model_version="test-model", dimension=DIM))
        backend.switch_alias("docs-v1")
        backend.replace_documents("docs-v1", keyed(narrowed_corpus()))
    access = AccessFilter("t1", frozenset({"group:eng"}), narrowing=narrowing)
    want = {doc for doc, (c,) in narrowed_corpus().items() if access.admits(c)}
    results = backend.run_legs({"lexical": LexicalLeg("database", 10), "vector": VectorLeg(np.ones(DIM, np.float32), 10)}, access)
    assert {h.doc_id for h in results["lexical"].hits} == want
    assert {h.doc_id for h in results["vector"].hits} == want
