"""UBI ``ubi_queries`` records: one per search, with the answer's query id, the caller and the returned ids."""

from __future__ import annotations

import json

from app.backends.embedded import EmbeddedBackend
from app.evaluation.clicks import judge
from app.ingest import ingest_documents
from app.sources import read_source
from app.web import create_app


def test_every_answer_has_a_query_id_and_the_log_gets_its_record(settings, encoder, token_for, tiny_corpus) -> None:
    log = settings.data_dir.parent / "ubi" / "ubi_queries.jsonl"
    served = settings.replace(ubi_log=log)
    assert ingest_documents(read_source(str(tiny_corpus), served), EmbeddedBackend(served), encoder, served).ok
    client = create_app(served, encoder=encoder).test_client()
    headers = token_for("acme", "user:bob")
    first = client.post("/v1/search", json={"query": "reset password"}, headers=headers).json
    second = client.post("/docs/_search", json={"query": {"match": {"body": "reset password"}}}, headers=headers).json
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert [r["query_id"] for r in records] == [first["query_id"], second["hybrid"]["query_id"]]
    assert first["query_id"] != second["hybrid"]["query_id"]
    record = records[0]
    assert record["client_id"] == "test" and record["query_attributes"]["tenant"] == "acme"
    assert record["query_response_hit_ids"] == [hit["id"] for hit in first["hits"]]
    assert record["user_query"] == "" and record["query_attributes"]["query_hmac"]  # raw text only when allowed
    # A click on the first hit closes the loop: judgments read the service's own records.
    events = log.with_name("ubi_events.jsonl")
    events.write_text(json.dumps({"action_name": "click", "query_id": record["query_id"],
                                  "event_attributes": {"object": {"object_id": record["query_response_hit_ids"][0]}}}) + "\n")
    judged = judge(log, events, "ctr", min_impressions=1)
    assert {j.doc_id for j in judged if j.clicks} == {record["query_response_hit_ids"][0]}
