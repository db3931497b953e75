"""``ubi_queries`` records of the searches the service answers (User Behavior Insights 1.3.0).

A UI that already sends UBI events (clicks, with the ``query_id`` every answer
carries) closes the loop with these: ``hybrid-search judgments`` reads both.
With ``HYBRID_UBI_LOG`` set, one JSON line per search is appended to that file;
each line is one ``write`` on a file opened for appending, so the lines of
several workers never interleave. The query text is kept only when
``HYBRID_LOG_QUERY_TEXT`` allows raw query text in logs; otherwise it is empty
and ``query_attributes.query_hmac`` stands in (the keyed hash the logs use).
"""

from __future__ import annotations

import os
from typing import Any, Mapping

import orjson

from app.auth import Caller
from app.clock import utc_now
from app.observability import logs
from app.settings import Settings

APPLICATION = "hybrid-search"


def ubi_query(caller: Caller, query: str, response: Mapping[str, Any], settings: Settings) -> dict[str, Any]:
    """The ``ubi_queries`` record of one answered search."""
    return {
        "application": APPLICATION,
        "query_id": response["query_id"],
        "client_id": caller.subject,
        "user_query": query if settings.log_query_text else "",
        "query_response_id": response.get("request_id") or response["query_id"],
        "query_response_hit_ids": [hit["id"] for hit in response.get("hits", ())],
        "timestamp": utc_now(),
        "query_attributes": {
            "tenant": caller.tenant,
            "profile": response.get("profile"),
            "query_hmac": logs.query_hmac(query, settings),
        },
    }


def record_query(caller: Caller, query: str, response: Mapping[str, Any], settings: Settings) -> None:
    """Append the search's record to ``settings.ubi_log`` (nothing when unset)."""
    if settings.ubi_log is None:
        return
    line = orjson.dumps(ubi_query(caller, query, response, settings)) + b"\n"
    settings.ubi_log.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(settings.ubi_log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)
