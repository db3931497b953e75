"""The ``_search`` facade driven by opensearch-py over real HTTP, as an existing UI would.

Every assertion reads what the client parsed (its response dict, its own
exception types), so the shapes are the ones OpenSearch clients expect.
"""

from __future__ import annotations

import threading
from typing import Any, Iterator

import opensearchpy
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from werkzeug.serving import make_server

from app.api.opensearch_compat import COMPAT_VERSION
from app.auth import mint_token
from app.backends.opensearch_queries import filter_query
from app.web import create_app
from filter_clauses import clauses

RESET = {"query": {"match": {"body": "reset password"}}}


@pytest.fixture
def served(indexed_settings, encoder) -> Iterator[str]:
    """The app on a real HTTP port."""
    app = create_app(indexed_settings.replace(compat_index_names="kb"), encoder=encoder)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def client_for(url: str, settings, tenant: str = "acme", *principals: str) -> opensearchpy.OpenSearch:
    token = mint_token(settings, subject="ui", tenant=tenant, principals=list(principals or ("user:bob",)))
    return opensearchpy.OpenSearch(hosts=[url], headers={"Authorization": f"Bearer {token}"}, timeout=30)


@pytest.fixture
def os_client(served: str, indexed_settings) -> opensearchpy.OpenSearch:
    return client_for(served, indexed_settings)


def ids(response: dict[str, Any]) -> list[str]:
    return [hit["_id"] for hit in response["hits"]["hits"]]


def test_the_root_answers_like_a_cluster(os_client) -> None:
    info = os_client.info()
    assert info["version"]["distribution"] == "opensearch" and info["version"]["number"] == COMPAT_VERSION


def test_a_search_returns_hybrid_hits_with_highlights_and_facets(os_client) -> None:
    response = os_client.search(index="docs", body={
        **RESET,
        "highlight": {"fields": {"title": {}, "body": {}}},
        "aggs": {"categories": {"terms": {"field": "metadata.category", "size": 3}}},
    })
    assert ids(response)[0] == "acme-1" and response["hits"]["total"]["relation"] == "eq"
    top = response["hits"]["hits"][0]
    assert top["_index"] == "docs-v2" and top["_score"] == response["hits"]["max_score"]
    assert top["_source"]["title"] == "Reset your password" and top["_source"]["metadata"] == {"category": ["account"]}
    assert top["highlight"]["title"] == ["<em>Reset</em> your <em>password</em>"]
    assert any("<em>Reset</em> <em>password</em>" in fragment for fragment in top["highlight"]["body"])
    facet = response["aggregations"]["categories"]
    assert facet["doc_count_error_upper_bound"] == 0 and len(facet["buckets"]) == 3
    counted = sum(b["doc_count"] for b in facet["buckets"]) + facet["sum_other_doc_count"]
    assert counted == response["hits"]["total"]["value"]  # one category per document here
    assert set(response["hybrid"]) >= {"fusion", "degraded", "timings_ms"}


def test_the_facade_ranks_as_v1_search_does(os_client, served, indexed_settings) -> None:
    import requests

    token = mint_token(indexed_settings, subject="ui", tenant="acme", principals=["user:bob"])
    v1 = requests.post(f"{served}/v1/search", json={"query": "reset password", "size": 10},
                       headers={"Authorization": f"Bearer {token}"}, timeout=30).json()
    facade = os_client.search(index="docs", body={**RESET, "size": 10})
    assert ids(facade) == [hit["id"] for hit in v1["hits"]]
    assert [h["_score"] for h in facade["hits"]["hits"]] == [hit["score"] for hit in v1["hits"]]


def test_a_configured_ui_index_name_answers_from_the_alias(os_client) -> None:
    assert ids(os_client.search(index="kb", body=RESET)) == ids(os_client.search(index="docs", body=RESET))


def test_post_filter_narrows_hits_but_not_facets(os_client) -> None:
    aggs = {"categories": {"terms": {"field": "metadata.category"}}}
    plain = os_client.search(index="docs", body={**RESET, "aggs": aggs})
    narrowed = os_client.search(index="docs", body={
        **RESET, "aggs": aggs, "post_filter": {"term": {"metadata.category": "sso"}}})
    assert ids(narrowed) == ["acme-2"] and narrowed["hits"]["total"]["value"] == 1
    assert narrowed["aggregations"] == plain["aggregations"]


def test_filters_inside_bool_narrow_both_legs(os_client) -> None:
    body = {"query": {"bool": {
        "must": [{"multi_match": {"query": "reset password sign in", "fields": ["title", "body"]}}],
        "filter": [{"range": {"updated_at": {"gte": "2024-01-01", "lt": "2025-01-01"}}}],
        "must_not": [{"terms": {"metadata.category": ["sso"]}}],
    }}}
    assert ids(os_client.search(index="docs", body=body)) == ["acme-1"]
    in_2025 = {"query": {"bool": {"must": RESET["query"], "filter": {"range": {"updated_at": {"gte": "2025-01-01T00:00:00Z"}}}}}}
    assert ids(os_client.search(index="docs", body=in_2025)) == ["acme-2"]


def test_a_filter_aggregation_counts_under_its_filter(os_client) -> None:
    response = os_client.search(index="docs", body={**RESET, "aggs": {"recent": {
        "filter": {"exists": {"field": "updated_at"}},
        "aggs": {"categories": {"terms": {"field": "metadata.category"}}}}}})
    recent = response["aggregations"]["recent"]
    assert recent["doc_count"] == 2
    assert {b["key"] for b in recent["categories"]["buckets"]} == {"account", "sso"}


def test_source_filtering_paging_and_explain(os_client) -> None:
    body = {**RESET, "_source": {"includes": ["title", "metadata.*"]}, "from": 1, "size": 2, "explain": True}
    response = os_client.search(index="docs", body=body)
    everything = ids(os_client.search(index="docs", body={**RESET, "size": 3}))
    assert ids(response) == everything[1:3]
    hit = response["hits"]["hits"][0]
    assert set(hit["_source"]) == {"title", "metadata"}
    assert "hybrid fusion" in hit["_explanation"]["description"] and hit["_explanation"]["details"]
    assert "_source" not in os_client.search(index="docs", body={**RESET, "_source": False})["hits"]["hits"][0]


def test_msearch_answers_each_search_on_its_own(os_client) -> None:
    response = os_client.msearch(body=[
        {"index": "docs"}, RESET,
        {"index": "docs"}, {"query": {"fuzzy": {"body": "pasword"}}},
        {"index": "nope"}, RESET,
    ])
    first, second, third = response["responses"]
    assert first["status"] == 200 and ids(first)[0] == "acme-1"
    assert second["status"] == 400 and "unknown query [fuzzy]" in second["error"]["reason"]
    assert third["status"] == 404 and third["error"]["type"] == "index_not_found_exception"


@pytest.mark.parametrize(("body", "kind", "mentions"), [
    ({"query": {"fuzzy": {"body": "x"}}}, "parsing_exception", "unknown query [fuzzy]"),
    ({"query": {"match_all": {}}}, "illegal_argument_exception", "cannot be ranked by hybrid relevance"),
    ({**RESET, "size": 1000}, "illegal_argument_exception", "[size] must be at most 100"),
    ({**RESET, "sort": [{"updated_at": "desc"}]}, "illegal_argument_exception", "sorting on [updated_at]"),
    ({**RESET, "suggest": {}}, "parsing_exception", "[suggest]"),
    ({"query": {"bool": {"must": RESET["query"], "filter": {"term": {"tenant": "globex"}}}}},
     "illegal_argument_exception", "cannot filter on [tenant]"),
    ({"query": {"query_string": {"query": "title:reset AND password"}}}, "illegal_argument_exception", "syntax [:]"),
    ({**RESET, "aggs": {"x": {"avg": {"field": "metadata.category"}}}}, "parsing_exception", "unknown aggregation type [avg]"),
    ({**RESET, "highlight": {"fields": {"url": {}}}}, "illegal_argument_exception", "cannot highlight [url]"),
    ({"query": {"match": {"body": {"query": "x", "fuzziness": 2}}}}, "parsing_exception", "option [fuzziness]"),
])
def test_unsupported_dsl_is_a_400_naming_the_clause(os_client, body, kind, mentions) -> None:
    with pytest.raises(opensearchpy.RequestError) as caught:
        os_client.search(index="docs", body=body)
    assert caught.value.status_code == 400 and caught.value.error == kind
    assert mentions in caught.value.info["error"]["reason"]


def test_errors_come_in_the_clients_own_exception_types(served, indexed_settings) -> None:
    anonymous = opensearchpy.OpenSearch(hosts=[served], timeout=30)
    with pytest.raises(opensearchpy.AuthenticationException) as caught:
        anonymous.search(index="docs", body=RESET)
    assert caught.value.error == "security_exception"
    client = client_for(served, indexed_settings)
    with pytest.raises(opensearchpy.NotFoundError) as missing:
        client.search(index="other", body=RESET)
    assert missing.value.error == "index_not_found_exception" and "no such index [other]" in str(missing.value.info)
    with pytest.raises(opensearchpy.RequestError, match="unrecognized parameter"):
        client.search(index="docs", body=RESET, params={"routing": "x"})
    with pytest.raises(opensearchpy.RequestError) as malformed:
        client.transport.perform_request("POST", "/docs/_search", body='{"query": ')
    assert malformed.value.error == "parse_exception"


def test_query_parameters_choose_text_and_profile(os_client) -> None:
    assert ids(os_client.search(index="docs", params={"q": "reset password"}))[0] == "acme-1"
    with pytest.raises(opensearchpy.RequestError, match="unknown profile|profile"):
        os_client.search(index="docs", body=RESET, params={"profile": "no-such-profile"})


def test_another_tenant_never_sees_acme(served, indexed_settings) -> None:
    globex = client_for(served, indexed_settings, "globex", "group:sre")
    assert set(ids(globex.search(index="docs", body={"query": {"match": {"body": "database failover password"}}}))) == {
        "globex-1", "globex-2"}


# --- no DSL a caller can write widens tenant or ACL (the clauses as the OpenSearch
# backend writes them: the facade reads back what the backend sends)
@pytest.fixture
def local_client(indexed_settings, encoder):
    return create_app(indexed_settings, encoder=encoder).test_client()


@hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(narrowing=clauses, principals=st.sets(st.sampled_from(["group:sre", "group:finance", "user:bob"]), min_size=1),
       words=st.sampled_from(["database failover", "reset password", "payroll export", "api key"]))
def test_no_filter_widens_what_the_caller_may_read(local_client, indexed_settings, tiny_docs, narrowing, principals, words) -> None:
    token = mint_token(indexed_settings, subject="ui", tenant="acme", principals=sorted(principals))
    body = {"query": {"bool": {"must": [{"match": {"body": words}}], "filter": [filter_query(narrowing)]}}, "size": 20}
    response = local_client.post("/docs/_search", json=body, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.json
    readable = {doc.id for doc in tiny_docs.values() if doc.tenant == "acme" and ("*" in doc.acl or principals & set(doc.acl))}
    assert set(ids(response.json)) <= readable
