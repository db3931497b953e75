"""Where observability meets the app: Flask request hooks and the search observer.

``install`` adds ``GET /metrics``, per-request metrics, a JSON access-log line
and a request span. ``observe_search`` is the one call the query path makes,
with what it measured; it records metrics and spans and hands the search's log
fields to the access-log line. Neither may fail a request.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Mapping

from flask import Flask, Response, g, has_request_context, request

from app.auth import Caller
from app.observability import audit, logs, metrics, tracing, ubi
from app.settings import Settings

log = logging.getLogger(__name__)
access_log = logging.getLogger("hybrid.access")
#: Probes and scrapes are logged at DEBUG so they do not drown the searches.
_QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


def install(app: Flask, settings: Settings) -> None:
    """Configure JSON logging and add the metrics route and request hooks to ``app``."""
    logs.configure_logging(settings)
    audit.configure_audit_log(settings)
    app.add_url_rule("/metrics", "metrics", _metrics_view, methods=["GET"])

    @app.before_request
    def start_observing() -> None:
        g.observe_started = time.perf_counter()
        g.span = tracing.start_request_span(
            f"{request.method} {_endpoint()}", {"http.request.method": request.method, "url.path": request.path}
        )

    @app.after_request
    def finish_observing(response: Response) -> Response:
        try:
            _finish(response.status_code)
        except Exception:  # noqa: BLE001 - telemetry must never fail the response
            log.exception("could not record request telemetry")
        return response


def _metrics_view() -> Response:
    body, content_type = metrics.exposition()
    return Response(body, content_type=content_type)


def _endpoint() -> str:
    """The route template (bounded label values), not the raw path."""
    return request.url_rule.rule if request.url_rule is not None else "unmatched"


def _finish(status: int) -> None:
    started = g.pop("observe_started", None)
    if started is None:
        return
    seconds = time.perf_counter() - started
    endpoint = _endpoint()
    metrics.record_request(endpoint, request.method, status, seconds)
    tracing.end_request_span(g.pop("span", None), status)
    fields = {
        "method": request.method,
        "path": request.path,
        "status": status,
        "duration_ms": round(seconds * 1000, 3),
        **g.pop("search_log", {}),
    }
    level = logging.DEBUG if request.path in _QUIET_PATHS else logging.INFO
    access_log.log(level, "request", extra=fields)


def observe_search(
    settings: Settings,
    caller: Caller,
    query: str,
    response: Mapping[str, Any],
    *,
    starts: Mapping[str, float],
    candidates: Mapping[str, int],
    cache_totals: Mapping[str, int] | None,
    reranker_version: str | None,
) -> None:
    """Record one answered search (called by the query path just before it returns)."""
    try:
        audit.record_search(caller, query, response, settings)
    except Exception:  # noqa: BLE001 - a full disk must not fail searches; the error is logged
        log.exception("could not write the audit record")
    try:
        ubi.record_query(caller, query, response, settings)
    except Exception:  # noqa: BLE001 - as the audit record
        log.exception("could not write the UBI query record")
    try:
        stages = response["timings_ms"]
        versions = (
            str(response.get("index") or ""),
            str(response.get("index_version") or ""),
            str(response.get("model_version") or ""),
            reranker_version or "",
        )
        metrics.record_search(stages, candidates, response["degraded"], cache_totals, versions)
        if has_request_context():
            g.search_log = logs.search_fields(query, response, settings)
            tracing.record_stage_spans(
                g.get("span"), starts, stages, {"search.degraded": list(response["degraded"]), "search.hits": len(response["hits"])}
            )
    except Exception:  # noqa: BLE001 - telemetry must never fail the search
        log.exception("could not record search telemetry")
