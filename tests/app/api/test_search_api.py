"""POST /v1/search end to end: auth, validation, trimming, explain, paging."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from app.auth import mint_token
from app.web import create_app



def search(client, headers, **body):
    return client.post("/v1/search", json=body, headers=headers)


def test_hybrid_answer_has_hits_explanations_and_timings(client, token_for) -> None:
    response = search(client, token_for("acme", "user:bob"), query="how do I reset my password", explain=True)
    assert response.status_code == 200, response.json
    body = response.json
    assert body["hits"][0]["id"] == "acme-1"
    top = body["hits"][0]
    assert top["title"] == "Reset your password" and top["url"] == "https://help.acme.example/1"
    assert "Reset password" in top["snippet"]
    assert set(top["explain"]) >= {"lexical", "vector", "fused_score", "fused_rank"}
    for leg in ("lexical", "vector"):
        assert set(top["explain"][leg]) == {"raw_score", "normalized_score", "rank", "chunk_id"}
    assert {"embed", "lexical", "vector", "fuse", "total"} <= set(body["timings_ms"])
    assert body["index"] == "docs-v2" and body["model_version"].startswith("all-MiniLM-L6-v2:int8:")
    assert body["request_id"] == response.headers["X-Request-ID"]
    assert body["degraded"] == []


def test_request_id_is_taken_from_the_header(client, token_for) -> None:
    headers = {**token_for("acme", "user:bob"), "X-Request-ID": "abc-123"}
    response = search(client, headers, query="invoice")
    assert response.headers["X-Request-ID"] == "abc-123" and response.json["request_id"] == "abc-123"


@pytest.mark.parametrize(
    "headers, message",
    [
        ({}, "missing Authorization"),
        ({"Authorization": "Basic abc"}, "Bearer"),
        ({"Authorization": "Bearer not-a-jwt"}, "invalid token"),
    ],
)
def test_missing_or_invalid_token_is_401(client, headers, message) -> None:
    response = search(client, headers, query="password")
    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthorized"
    assert message in response.json["error"]["message"]


def test_token_signed_with_another_secret_is_401(client, indexed_settings) -> None:
    forged = mint_token(indexed_settings.replace(jwt_secret="x" * 40), subject="m", tenant="acme", principals=["group:sre"])
    assert search(client, {"Authorization": f"Bearer {forged}"}, query="failover").status_code == 401


def test_expired_token_is_401(client, indexed_settings) -> None:
    expired = mint_token(indexed_settings, subject="m", tenant="acme", principals=[], ttl_s=-120)
    response = search(client, {"Authorization": f"Bearer {expired}"}, query="failover")
    assert response.status_code == 401 and "expired" in response.json["error"]["message"]


@pytest.mark.parametrize(
    "body, field",
    [
        ({}, "query"),
        ({"query": "   "}, "query"),
        ({"query": "x" * 1025}, "query"),
        ({"query": "ok", "size": "ten"}, "size"),
        ({"query": "ok", "size": 101}, "size"),
        ({"query": "ok", "size": 0}, "size"),
        ({"query": "ok", "from": -1}, "from"),
        ({"query": "ok", "tenant": "globex"}, "tenant"),
        ({"query": "ok", "acl": ["*"]}, "acl"),
        ({"query": "ok", "fusion": {"method": "magic"}}, "fusion"),
        ({"query": "ok", "fusion": {"weights": {"lexical": -1}}}, "fusion"),
        ({"query": "ok", "fusion": {"normalization": "max"}}, "fusion"),
        ({"query": "ok", "filters": {"category": []}}, "filters"),
        ({"query": "ok", "filters": {"bad key!": "x"}}, "filters"),
        ({"query": "ok", "legs": {"lexical": False, "vector": False}}, "legs"),
        ({"query": 42}, "query"),
        ({"query": "ok", "explain": "yes"}, "explain"),
    ],
)
def test_invalid_bodies_are_400_with_field_messages(client, token_for, body, field) -> None:
    response = client.post("/v1/search", json=body, headers=token_for("acme", "user:bob"))
    assert response.status_code == 400, response.json
    error = response.json["error"]
    assert error["code"] == "invalid_request"
    assert field in json.dumps(error["details"])


@pytest.mark.parametrize(
    "data, content_type",
    [("{not json", "application/json"), ("[1, 2]", "application/json"), ("query=x", "application/x-www-form-urlencoded")],
)
def test_malformed_bodies_are_400(client, token_for, data, content_type) -> None:
    response = client.post("/v1/search", data=data, content_type=content_type, headers=token_for("acme", "user:bob"))
    assert response.status_code == 400
    assert response.json["error"]["code"] == "invalid_request"


def test_oversize_body_is_413(client, token_for) -> None:
    response = client.post(
        "/v1/search", data=json.dumps({"query": "x" * 200_000}), content_type="application/json",
        headers=token_for("acme", "user:bob"),
    )
    assert response.status_code == 413
    assert response.json["error"]["code"] == "payload_too_large"


def test_unknown_route_and_method_are_json_errors(client) -> None:
    assert client.get("/nope").json["error"]["code"] == "not_found"
    response = client.get("/v1/search")
    assert response.status_code == 405 and "error" in response.json
    assert response.headers["Allow"].split(", ").count("POST") == 1


def test_paging_is_stable_and_bounded_by_depth(client, token_for) -> None:
    headers = token_for("acme", "group:sre", "group:finance")
    whole = search(client, headers, query="database password invoice key", size=6, depth=10).json["hits"]
    first = search(client, headers, query="database password invoice key", size=3, depth=10).json["hits"]
    second = search(client, headers, query="database password invoice key", size=3, depth=10, **{"from": 3}).json["hits"]
    assert [h["id"] for h in first + second] == [h["id"] for h in whole]
    too_far = search(client, headers, query="database", size=5, depth=10, **{"from": 8})
    assert too_far.status_code == 400 and "depth" in too_far.json["error"]["message"]


def test_total_counts_every_fused_document_not_only_the_page(client, token_for) -> None:
    headers = token_for("acme", "group:sre", "group:finance")
    query = "database password invoice key"
    legs = [
        {h["id"] for h in search(client, headers, query=query, size=10, depth=10, legs={off: False}).json["hits"]}
        for off in ("vector", "lexical")
    ]
    answer = search(client, headers, query=query, size=2, depth=10).json
    assert len(answer["hits"]) == 2 and answer["total"] == len(legs[0] | legs[1]) > 2


def test_single_leg_requests(client, token_for) -> None:
    headers = token_for("acme", "user:bob")
    lexical = search(client, headers, query="invoice", legs={"vector": False}, explain=True).json
    assert "embed" not in lexical["timings_ms"]
    assert all(set(h["explain"]) - {"fused_score", "fused_rank"} == {"lexical"} for h in lexical["hits"])
    vector = search(client, headers, query="invoice", legs={"lexical": False}, explain=True).json
    assert all(set(h["explain"]) - {"fused_score", "fused_rank"} == {"vector"} for h in vector["hits"])


def test_linear_fusion_with_a_zero_weight_follows_the_other_leg(client, token_for) -> None:
    headers = token_for("acme", "group:sre")
    vector_only = search(client, headers, query="promote the standby", legs={"lexical": False}).json["hits"]
    linear = search(
        client, headers, query="promote the standby",
        fusion={"method": "linear", "weights": {"lexical": 0.0, "vector": 1.0}},
    ).json["hits"]
    assert [h["id"] for h in linear][: len(vector_only)] == [h["id"] for h in vector_only]


def test_metadata_filters_narrow_results(client, token_for, tiny_docs) -> None:
    hits = search(client, token_for("acme", "group:sre"), query="database", filters={"category": "runbook"}).json["hits"]
    assert hits and all(tiny_docs[h["id"]].metadata["category"] == ("runbook",) for h in hits)


def test_acl_hides_restricted_documents_and_groups_reveal_them(client, token_for) -> None:
    outsider = search(client, token_for("acme", "user:bob"), query="database failover runbook").json["hits"]
    assert "acme-3" not in {h["id"] for h in outsider}
    sre = search(client, token_for("acme", "group:sre"), query="database failover runbook").json["hits"]
    assert sre[0]["id"] == "acme-3"
    alice = search(client, token_for("acme", "user:alice"), query="payroll export").json["hits"]
    assert alice[0]["id"] == "acme-5"


PRINCIPALS = ["user:alice", "user:bob", "group:sre", "group:finance", "group:support"]


@hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    tenant=st.sampled_from(["acme", "globex", "initech"]),
    principals=st.lists(st.sampled_from(PRINCIPALS), max_size=3, unique=True),
    words=st.lists(st.sampled_from(["database", "password", "reset", "payroll", "key", "sso", "invoice", "failover", "zebra"]),
                   min_size=1, max_size=4),
    fusion=st.sampled_from([{"method": "rrf"}, {"method": "linear", "normalization": "z_score"}]),
)
def test_no_hit_crosses_tenant_or_acl(client, indexed_settings, tiny_docs, tenant, principals, words, fusion) -> None:
    token = mint_token(indexed_settings, subject="p", tenant=tenant, principals=principals)
    response = search(client, {"Authorization": f"Bearer {token}"}, query=" ".join(words), size=20, fusion=fusion)
    assert response.status_code == 200
    for hit in response.json["hits"]:
        doc = tiny_docs[hit["id"]]
        assert doc.tenant == tenant
        assert "*" in doc.acl or set(principals) & set(doc.acl)


def test_missing_index_is_503(settings, encoder, token_for) -> None:
    client = create_app(settings, encoder=encoder).test_client()
    response = search(client, token_for("acme", "user:bob"), query="password")
    assert response.status_code == 503
    assert "alias" in response.json["error"]["message"]
    assert client.get("/readyz").status_code == 503


def test_index_built_with_another_model_is_refused(indexed_settings, encoder, token_for) -> None:
    info_path = indexed_settings.data_dir / "indexes" / "docs-v2" / "info.json"
    info = json.loads(info_path.read_text())
    info_path.write_text(json.dumps({**info, "model_version": "other-model:fp32:123"}))
    client = create_app(indexed_settings, encoder=encoder).test_client()
    response = search(client, token_for("acme", "user:bob"), query="password")
    assert response.status_code == 503
    error = response.json["error"]
    assert error["code"] == "model_version_mismatch"
    assert "other-model:fp32:123" in error["message"] and encoder.model_version in error["message"]


def test_rerank_requested_without_a_reranker_degrades(client, token_for) -> None:
    response = search(client, token_for("acme", "user:bob"), query="password", rerank={"enabled": True})
    assert response.status_code == 200
    assert response.json["degraded"] == ["rerank"]
    assert response.json["hits"][0]["id"] == "acme-1"


def test_health_readiness_and_openapi(client, tiny_docs) -> None:
    assert client.get("/healthz").json == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json["documents"] == len(tiny_docs)
    spec = client.get("/openapi.json").json
    assert "/v1/search" in spec["paths"]
    assert "SearchRequestSchema" in spec["components"]["schemas"]
    assert spec["paths"]["/v1/search"]["post"]["responses"]["401"]


def test_openapi_publishes_the_enforced_limits(client, indexed_settings) -> None:
    properties = client.get("/openapi.json").json["components"]["schemas"]["SearchRequestSchema"]["properties"]
    assert properties["size"]["maximum"] == indexed_settings.max_page_size
    assert properties["depth"]["maximum"] == indexed_settings.max_depth
    assert properties["query"]["maxLength"] == indexed_settings.max_query_chars
    assert properties["filters"]["maxProperties"] == 16


@pytest.mark.parametrize("field", [
    {"size": 1.5}, {"size": "10"}, {"size": True}, {"from": 2.5}, {"explain": 1}, {"explain": 0},
    {"explain": "true"}, {"legs": {"vector": 0}}, {"fusion": {"weights": {"lexical": "0.5"}}},
    {"fusion": {"weights": {"vector": False}}}, {"fusion": {"rank_constant": 60.5}},
])
def test_loosely_typed_values_are_refused(client, token_for, field) -> None:
    response = search(client, token_for("acme", "user:bob"), query="invoice", **field)
    assert response.status_code == 400, response.json
    assert response.json["error"]["code"] == "invalid_request"


def test_profiles_are_listed_and_selectable(client, indexed_settings, token_for) -> None:
    indexed_settings.profiles_dir.mkdir(parents=True, exist_ok=True)
    (indexed_settings.profiles_dir / "lexical_heavy.json").write_text(json.dumps(
        {"version": 2, "method": "linear", "normalization": "min_max", "weights": {"lexical": 1.0, "vector": 0.0},
         "provenance": {"dataset": "test"}}))
    headers = token_for("acme", "user:bob")
    listed = client.get("/v1/profiles", headers=headers).json
    assert [p["name"] for p in listed["profiles"]] == ["lexical_heavy"]
    body = search(client, headers, query="invoice", profile="lexical_heavy").json
    assert body["profile"] == "lexical_heavy" and body["fusion"]["method"] == "linear"
    overridden = search(client, headers, query="invoice", profile="lexical_heavy", fusion={"method": "rrf"}).json
    assert overridden["fusion"]["method"] == "rrf" and overridden["fusion"]["weights"]["vector"] == 0.0
    missing = search(client, headers, query="invoice", profile="nope")
    assert missing.status_code == 400 and "unknown profile" in missing.json["error"]["message"]


def test_facets_count_the_candidates_and_post_filters_narrow_only_the_hits(client, token_for) -> None:
    headers = token_for("acme", "user:bob")
    plain = search(client, headers, query="reset password sign in", facets=[{"field": "category", "size": 2}]).json
    facet = plain["facets"]["category"]
    assert facet["documents"] == plain["total"] and len(facet["buckets"]) == 2
    assert sum(b["count"] for b in facet["buckets"]) + facet["other"] == plain["total"]  # one category each
    narrowed = search(client, headers, query="reset password sign in", facets=[{"field": "category"}],
                      post_filters={"category": "sso"}).json
    assert [h["id"] for h in narrowed["hits"]] == ["acme-2"] and narrowed["total"] == 1
    assert narrowed["facets"]["category"]["documents"] == plain["total"]


def test_highlight_marks_the_analysed_query_terms(client, token_for) -> None:
    body = search(client, token_for("acme", "user:bob"), query="resetting passwords",
                  highlight={"fields": ["title"], "pre_tag": "[", "post_tag": "]"}).json
    top = body["hits"][0]
    assert top["id"] == "acme-1" and top["highlight"] == {"title": ["[Reset] your [password]"]}  # stemmed matches


def test_facets_and_highlight_are_validated(client, token_for) -> None:
    headers = token_for("acme", "user:bob")
    for extra, field in (({"facets": [{"field": "bad key!"}]}, "facets"), ({"highlight": {"fields": ["url"]}}, "highlight"),
                         ({"facets": [{"field": "category", "size": 1000}]}, "facets")):
        response = search(client, headers, query="password", **extra)
        assert response.status_code == 400 and field in response.json["error"]["details"]
