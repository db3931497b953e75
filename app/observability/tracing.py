"""OpenTelemetry spans: one per request and one per query-path stage.

Active only when the OpenTelemetry SDK is installed *and* a tracer provider
has been configured (``opentelemetry-instrument``, or deployment code calling
``trace.set_tracer_provider``); otherwise every function here is a cheap no-op
and the package need not be installed at all.

Stage spans are written after the stage ran, from the start times and
durations the query path already measures, so tracing adds no code to it.
"""

from __future__ import annotations

import time
from typing import Any, Mapping

from app.fusion import LEGS

try:
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider as _SdkProvider
except ImportError:  # the SDK is optional
    trace = None  # type: ignore[assignment]
    _SdkProvider = None  # type: ignore[assignment,misc]

_TRACER_NAME = "hybrid-search"


def _tracer() -> Any | None:
    if trace is None:
        return None
    provider = trace.get_tracer_provider()
    if _SdkProvider is None or not isinstance(provider, _SdkProvider):
        return None  # the API's default provider: not configured
    return provider.get_tracer(_TRACER_NAME)


def start_request_span(name: str, attributes: Mapping[str, Any]) -> Any | None:
    """A span for the whole HTTP request, or ``None`` when tracing is off."""
    tracer = _tracer()
    return tracer.start_span(name, attributes=dict(attributes)) if tracer else None


def end_request_span(span: Any | None, status: int) -> None:
    if span is None:
        return
    span.set_attribute("http.response.status_code", status)
    if status >= 500:
        span.set_status(trace.Status(trace.StatusCode.ERROR))
    span.end()


def record_stage_spans(
    parent: Any | None, starts: Mapping[str, float], stages_ms: Mapping[str, float], attributes: Mapping[str, Any]
) -> None:
    """Child spans of ``parent`` for each timed stage (``starts`` are perf_counter values)."""
    if parent is None:
        return
    tracer = _tracer()
    if tracer is None:
        return
    parent.set_attributes(dict(attributes))
    context = trace.set_span_in_context(parent)
    # perf_counter has no epoch; anchor it to the wall clock once per request.
    to_epoch_ns = time.time_ns() - time.perf_counter_ns()
    for stage, ms in stages_ms.items():
        # The legs run inside the retrieve stage, on the backend's own threads.
        began = starts.get(stage) if stage not in LEGS else starts.get("retrieve")
        if began is None or stage == "total":
            continue
        start_ns = int(began * 1e9) + to_epoch_ns
        span = tracer.start_span(f"search.{stage}", context=context, start_time=start_ns)
        span.end(end_time=start_ns + int(ms * 1e6))
