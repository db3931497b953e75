"""A failing cluster, seen through the HTTP API: 503 with Retry-After, one leg degraded, no hang.

The stub answers with connection refusals, timeouts, 429s and 5xx on demand;
the service must turn each into a specific answer within its deadline.
"""

from __future__ import annotations

import socket
import time

import pytest

from app.auth import mint_token
from app.backends.base import AccessFilter, Chunk, IndexInfo, LexicalLeg, VectorLeg, chunk_key
from app.backends.opensearch import OpenSearchBackend
from opensearchpy import exceptions as os_exc

from app.backends.opensearch_client import SEARCH_ATTEMPTS, BackoffTransport, build_client
from app.web import create_app
from chunk_keys import keyed
from fake_encoder import FakeEncoder

ENCODER = FakeEncoder(dimension=8)
LEXICAL, VECTOR = "lexical", "knn"  # the stub's names for the legs' _msearch items


def document(doc_id: str, title: str, text: str) -> list[Chunk]:
    return [Chunk(
        chunk_id=chunk_key("acme", doc_id, 0), doc_id=doc_id, position=0, title=title, text=text, tenant="acme",
        acl=("*",), metadata={}, content_hash=f"hash-{doc_id}", vector=ENCODER.embed_passages([f"{title} {text}"])[0],
    )]


@pytest.fixture
def client(backend: OpenSearchBackend, os_settings):
    backend.create_index(IndexInfo(name="docs-v2", template_version=2, model_version=ENCODER.model_version, dimension=8))
    backend.switch_alias("docs-v2")
    backend.replace_documents("docs-v2", keyed({
        "d1": document("d1", "Database failover", "promote the replica"),
        "d2": document("d2", "Disk full", "clean the database logs"),
    }))
    return create_app(os_settings, encoder=ENCODER, backend=backend).test_client()


@pytest.fixture
def bearer(os_settings) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(os_settings, subject='t', tenant='acme', principals=['user:x'])}"}


def search(client, bearer):
    return client.post("/v1/search", json={"query": "database"}, headers=bearer)


def assert_retryable_503(response, mentions: str) -> None:
    assert response.status_code == 503, response.json
    assert response.headers["Retry-After"] == "1"
    assert mentions in response.json["error"]["message"]


def test_a_healthy_cluster_answers_both_legs(client, bearer) -> None:
    body = search(client, bearer).json
    assert body["degraded"] == [] and {hit["id"] for hit in body["hits"]} == {"d1", "d2"}


@pytest.mark.parametrize("status", [429, 500, 503])
def test_one_failing_leg_degrades_the_answer_to_the_other(client, bearer, stub, status: int) -> None:
    stub.msearch_item_faults[VECTOR] = status
    body = search(client, bearer).json
    assert body["degraded"] == ["vector"]
    assert {hit["id"] for hit in body["hits"]} == {"d1", "d2"}  # both match "database" lexically
    assert all("lexical" in hit["explain"] and "vector" not in hit["explain"] for hit in search_explained(client, bearer)["hits"])


def search_explained(client, bearer):
    return client.post("/v1/search", json={"query": "database", "explain": True}, headers=bearer).json


def test_both_legs_failing_is_a_retryable_503(client, bearer, stub) -> None:
    stub.msearch_item_faults.update({LEXICAL: 503, VECTOR: 429})
    assert_retryable_503(search(client, bearer), "every retrieval leg failed")


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_an_overloaded_cluster_is_a_retryable_503_after_one_retry(client, bearer, stub, status: int) -> None:
    stub.fail("POST", "_msearch", status, times=10)
    assert_retryable_503(search(client, bearer), str(status))
    assert len(stub.calls("POST", "_msearch")) == SEARCH_ATTEMPTS


def test_a_refused_connection_is_a_retryable_503(client, bearer, backend, os_settings) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    down = OpenSearchBackend(os_settings.replace(opensearch_hosts=f"http://127.0.0.1:{port}"))
    app = create_app(os_settings, encoder=ENCODER, backend=down).test_client()
    assert_retryable_503(search(app, bearer), "unreachable")
    assert app.get("/readyz").status_code == 503


def test_a_slow_cluster_is_cut_at_the_deadline_and_not_sent_twice(backend, os_settings, bearer, stub, client) -> None:
    deadline = 0.5
    slow = OpenSearchBackend(os_settings.replace(leg_timeout_s=deadline))
    app = create_app(os_settings.replace(leg_timeout_s=deadline), encoder=ENCODER, backend=slow).test_client()
    search(app, bearer)  # warm the alias and index caches, so only the search is slow
    before = len(stub.calls("POST", "_msearch"))
    stub.slow("POST", "_msearch", 3.0)
    started = time.monotonic()
    response = search(app, bearer)
    elapsed = time.monotonic() - started
    assert_retryable_503(response, "did not answer in time")
    assert elapsed < 3.0, elapsed  # cut by the deadline, not by the slow answer
    time.sleep(3.2)  # the stub records a request after its delay
    assert len(stub.calls("POST", "_msearch")) - before == 1  # the running search was not resent


@pytest.mark.parametrize("fault", ["timed_out", "shard_failure"])
def test_a_partial_leg_is_answered_but_marked(client, bearer, stub, fault: str) -> None:
    stub.msearch_item_faults[LEXICAL] = fault
    body = search(client, bearer).json
    assert body["degraded"] == ["lexical:partial"] and body["hits"]


def test_a_damaged_index_is_a_503_without_retry_after(client, bearer, stub) -> None:
    stub.fail("POST", "_msearch", 401, times=1)
    response = search(client, bearer)
    assert response.status_code == 503 and "Retry-After" not in response.headers
    assert "credentials" in response.json["error"]["message"]


# --- 5. a leg turned away for load (es_rejected_execution_exception, 429 per _msearch
# item: OpenSearch "Multi-search" docs) is retried once, alone, inside the deadline.
def test_a_leg_rejected_for_load_once_is_retried_alone(client, bearer, stub) -> None:
    search(client, bearer)  # warm the caches
    before = len(stub.calls("POST", "_msearch"))
    stub.msearch_item_faults_once[VECTOR] = 429
    body = search(client, bearer).json
    assert body["degraded"] == [] and {hit["id"] for hit in body["hits"]} == {"d1", "d2"}
    first, retry = stub.calls("POST", "_msearch")[before:]
    assert len(first["body"]) == 4 and len(retry["body"]) == 2 and "knn" in retry["body"][1]["query"]


def test_a_leg_failing_with_5xx_is_not_retried(client, bearer, stub) -> None:
    search(client, bearer)
    before = len(stub.calls("POST", "_msearch"))
    stub.msearch_item_faults_once[VECTOR] = 503
    assert search(client, bearer).json["degraded"] == ["vector"]
    assert len(stub.calls("POST", "_msearch")) - before == 1


def test_every_leg_carries_a_body_timeout_inside_the_deadline(client, bearer, stub, os_settings) -> None:
    search(client, bearer)
    (request,) = stub.calls("POST", "_msearch")[-1:]
    timeouts = {body["timeout"] for body in request["body"][1::2]}
    assert timeouts == {f"{int(0.8 * os_settings.leg_timeout_s * 1000)}ms"}


# --- 4. opensearch-py resends a timed-out request when retry_on_timeout is on
# (Transport.perform_request); a POST may have done its work, so it is not resent.
@pytest.mark.parametrize(("method", "resent"), [("GET", True), ("POST", False)])
def test_a_timed_out_call_is_resent_only_when_idempotent(stub, os_settings, method: str, resent: bool) -> None:
    stub.slow(method, "^/_aliases$|^/_alias/docs$", 0.5)
    transport = build_client(os_settings.replace(opensearch_timeout_s=0.1, opensearch_max_retries=2)).transport
    assert isinstance(transport, BackoffTransport) and transport.retry_on_timeout
    path, body = ("/_alias/docs", None) if method == "GET" else ("/_aliases", {"actions": []})
    with pytest.raises(os_exc.ConnectionTimeout):
        transport.perform_request(method, path, body=body)
    time.sleep(0.6 * 3)  # the stub records a request after its delay
    assert len(stub.calls(method, path)) == (3 if resent else 1)


# --- 6. replicas and shards: a stable preference (OpenSearch "Search" docs, preference),
# global BM25 statistics with dfs_query_then_fetch when an index has several shards.
def test_identical_searches_carry_the_same_preference_per_tenant(client, bearer, stub, os_settings) -> None:
    search(client, bearer)
    search(client, bearer)
    other = {"Authorization": f"Bearer {mint_token(os_settings, subject='u', tenant='other', principals=['user:y'])}"}
    search(client, other)
    prefs = [{h["preference"] for h in c["body"][::2]} for c in stub.calls("POST", "_msearch")[-3:]]
    assert all(len(p) == 1 for p in prefs) and prefs[0] == prefs[1] != prefs[2]
    assert all("search_type" not in h for c in stub.calls("POST", "_msearch") for h in c["body"][::2])


def test_an_index_of_several_shards_ranks_bm25_with_global_statistics(os_settings, stub) -> None:
    sharded = OpenSearchBackend(os_settings.replace(opensearch_shards=3))
    sharded.create_index(IndexInfo(name="docs-v2", template_version=2, model_version=ENCODER.model_version, dimension=8))
    sharded.switch_alias("docs-v2")
    sharded.replace_documents("docs-v2", keyed({"d1": document("d1", "Database failover", "promote the replica")}))
    legs = {"lexical": LexicalLeg("database", 5), "vector": VectorLeg(ENCODER.embed_query("database"), 5)}
    assert sharded.run_legs(legs, AccessFilter("acme", frozenset({"user:x"})))["lexical"].hits
    (request,) = stub.calls("POST", "_msearch")
    lexical_header, vector_header = request["body"][0], request["body"][2]
    assert lexical_header["search_type"] == "dfs_query_then_fetch" and "search_type" not in vector_header
    sharded.run_legs(legs, AccessFilter("acme", frozenset({"user:x"})))
    assert len(stub.calls("GET", "/_settings/")) == 1  # the shard count is read once per index
