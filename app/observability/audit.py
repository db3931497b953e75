"""The audit trail: one record per answered search, on its own logger.

It answers "who could have seen document X": each record names the verified
caller (subject, tenant), the profile, the request id and the ids of the
documents returned, but never the query text (only its keyed hash, as in the
access log). With ``Settings.audit_log`` set, records go to that file as JSON
lines and not to the general log; otherwise they share stderr under the
logger name ``hybrid.audit``.
"""

from __future__ import annotations

import logging
from typing import Any, Mapping

from app.auth import Caller
from app.observability import logs
from app.settings import Settings

AUDIT_LOGGER = "hybrid.audit"
audit_log = logging.getLogger(AUDIT_LOGGER)


def configure_audit_log(settings: Settings) -> None:
    """Send audit records to ``settings.audit_log`` when set (idempotent)."""
    if settings.audit_log is None:
        return
    target = str(settings.audit_log)
    if any(isinstance(h, logging.FileHandler) and h.baseFilename == target for h in audit_log.handlers):
        return
    settings.audit_log.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(target, encoding="utf-8")
    handler.setFormatter(logs.JsonFormatter())
    audit_log.addHandler(handler)
    audit_log.setLevel(logging.INFO)
    audit_log.propagate = False


def audit_fields(caller: Caller, query: str, response: Mapping[str, Any], settings: Settings) -> dict[str, Any]:
    """The audit record of one search: who asked, under which profile, what they were shown."""
    return {
        "event": "search",
        "subject": caller.subject,
        "tenant": caller.tenant,
        "profile": response.get("profile"),
        "index": response.get("index"),
        "documents": [hit["id"] for hit in response.get("hits", ())],
        "request_id": response.get("request_id") or None,
        "query_hmac": logs.query_hmac(query, settings),
    }


def record_search(caller: Caller, query: str, response: Mapping[str, Any], settings: Settings) -> None:
    """Write the audit record of one search."""
    audit_log.info("search", extra=audit_fields(caller, query, response, settings))
