"""Access logs are JSON with the request id, and keep queries and secrets out."""

from __future__ import annotations

import io
import json
import logging
import hashlib
import sys

import pytest

from app.observability.logs import JsonFormatter, query_hmac

QUERY = "rotate the signing key please"


@pytest.fixture
def log_lines():
    """JSON lines the root logger emits during the test."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        root.removeHandler(handler)


def search(client, headers, request_id: str):
    response = client.post("/v1/search", json={"query": QUERY}, headers={**headers, "X-Request-ID": request_id})
    assert response.status_code == 200
    return response


def test_access_line_has_request_id_and_hashes_the_query_by_default(make_client, token_for, log_lines) -> None:
    headers = token_for("initech", "user:ann")
    search(make_client(), headers, "req-42")
    lines = log_lines()
    access = [line for line in lines if line["logger"] == "hybrid.access"]
    assert len(access) == 1
    entry = access[0]
    assert entry["request_id"] == "req-42" and entry["status"] == 200 and entry["path"] == "/v1/search"
    assert entry["query_chars"] == len(QUERY) and len(entry["query_hmac"]) == 16
    assert {"embed", "lexical", "vector", "total"} <= set(entry["timings_ms"])
    everything = "\n".join(json.dumps(line) for line in lines)
    assert QUERY not in everything
    assert headers["Authorization"].split()[1] not in everything  # never the token
    assert "Generate a new signing key" not in everything  # never a document body


def test_query_hash_is_keyed_so_common_queries_cannot_be_looked_up(settings) -> None:
    plain = hashlib.sha256(QUERY.encode()).hexdigest()[:16]
    keyed = query_hmac(QUERY, settings)
    assert keyed != plain and keyed == query_hmac(QUERY, settings)  # stable within a deployment
    assert query_hmac(QUERY, settings.replace(jwt_secret="another-deployment-secret-of-32-bytes")) != keyed
    assert query_hmac(QUERY, settings.replace(log_hash_key="k" * 32)) != keyed
    assert query_hmac("another query", settings) != keyed


def test_query_text_is_logged_when_the_setting_allows(make_client, token_for, log_lines) -> None:
    search(make_client(log_query_text=True), token_for("initech", "user:ann"), "req-43")
    (entry,) = [line for line in log_lines() if line["logger"] == "hybrid.access"]
    assert entry["query"] == QUERY and entry["request_id"] == "req-43"


def test_generated_request_ids_are_logged_and_returned(make_client, token_for, log_lines) -> None:
    response = make_client().post("/v1/search", json={"query": QUERY}, headers=token_for("initech", "user:ann"))
    (entry,) = [line for line in log_lines() if line["logger"] == "hybrid.access"]
    assert entry["request_id"] == response.headers["X-Request-ID"] == response.json["request_id"]


def test_formatter_keeps_extras_and_exceptions() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.getLogger("t").makeRecord("t", logging.ERROR, __file__, 1, "failed %s", ("x",), sys.exc_info())
    record.leg = "vector"
    entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == "failed x" and entry["leg"] == "vector" and "ValueError: boom" in entry["exc"]
    assert entry["request_id"] is None
