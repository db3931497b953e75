"""Stage spans when an OpenTelemetry SDK provider is configured; nothing otherwise."""

from __future__ import annotations

import pytest

from app.observability import tracing

sdk = pytest.importorskip("opentelemetry.sdk.trace")
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter  # noqa: E402


def test_no_spans_without_a_configured_provider(make_client, token_for) -> None:
    assert tracing.start_request_span("x", {}) is None  # the API's default provider
    assert make_client().post("/v1/search", json={"query": "printer"}, headers=token_for("initech")).status_code == 200


def test_one_span_per_stage_under_the_request_span(make_client, token_for, monkeypatch) -> None:
    exporter = InMemorySpanExporter()
    provider = sdk.TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(tracing.trace, "get_tracer_provider", lambda: provider)
    response = make_client().post("/v1/search", json={"query": "printer"}, headers=token_for("initech"))
    assert response.status_code == 200
    spans = {span.name: span for span in exporter.get_finished_spans()}
    request = spans["POST /v1/search"]
    assert request.attributes["http.response.status_code"] == 200
    for stage in ("embed", "retrieve", "lexical", "vector", "fuse", "fetch"):
        span = spans[f"search.{stage}"]
        assert span.parent.span_id == request.context.span_id
        assert span.end_time >= span.start_time
