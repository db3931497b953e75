"""The audit trail: one record per search naming the caller and what they were shown."""

from __future__ import annotations

import json
import logging

from app.observability.audit import AUDIT_LOGGER, audit_log

QUERY = "rotate the signing key please"


def test_each_search_writes_one_audit_record_without_the_query(make_client, token_for, tmp_path) -> None:
    path = tmp_path / "audit" / "audit.jsonl"
    client = make_client(audit_log=path)
    try:
        response = client.post("/v1/search", json={"query": QUERY}, headers={**token_for("initech", "user:ann"), "X-Request-ID": "req-audit"})
        assert response.status_code == 200 and response.json["hits"]
        client.post("/v1/search", json={"query": "invoice"}, headers=token_for("acme", "user:bob"))
        records = [json.loads(line) for line in path.read_text().splitlines()]
    finally:
        for handler in list(audit_log.handlers):
            audit_log.removeHandler(handler)
            handler.close()
        audit_log.propagate = True
    assert len(records) == 2
    first = records[0]
    assert first["logger"] == AUDIT_LOGGER and first["event"] == "search"
    assert (first["subject"], first["tenant"], first["request_id"]) == ("test", "initech", "req-audit")
    assert first["documents"] == [hit["id"] for hit in response.json["hits"]]
    assert first["profile"] == response.json["profile"] and first["index"] == response.json["index"]
    assert records[1]["tenant"] == "acme"
    assert QUERY not in path.read_text() and len(first["query_hmac"]) == 16


def test_without_a_file_the_audit_record_joins_the_general_log(make_client, token_for, caplog) -> None:
    with caplog.at_level(logging.INFO, logger=AUDIT_LOGGER):
        make_client().post("/v1/search", json={"query": QUERY}, headers=token_for("initech", "user:ann"))
    (record,) = [r for r in caplog.records if r.name == AUDIT_LOGGER]
    assert record.tenant == "initech" and isinstance(record.documents, list)
