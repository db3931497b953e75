"""Structured JSON logs, each line carrying the request id.

Privacy rules, enforced here rather than at every call site: the query text is
logged only when ``Settings.log_query_text`` is on (otherwise a keyed hash and
the length: an unkeyed hash of a common query is guessed by hashing common
queries); headers (tokens) and document bodies are never passed in.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import secrets
import sys
import time
from typing import Any, Mapping

import orjson
from flask import g, has_app_context

from app.settings import Settings

#: Attributes every LogRecord has; anything else was passed with ``extra=``.
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "request_id"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or _current_request_id(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str, option=orjson.OPT_NON_STR_KEYS).decode("utf-8")


def _current_request_id() -> str | None:
    """The id of the Flask request being handled on this thread, if any."""
    return g.get("request_id") if has_app_context() else None


def configure_logging(settings: Settings) -> None:
    """Send the root logger to stderr as JSON at ``settings.log_level``.

    Idempotent, and a no-op when a JSON handler is already there (gunicorn's
    ``logconfig_dict`` installs one before the app is built).
    """
    root = logging.getLogger()
    root.setLevel(settings.log_level.upper())
    if not any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        root.addHandler(handler)


def query_fields(query: str, settings: Settings) -> dict[str, Any]:
    """How a query appears in logs: hash and length, or the text if allowed."""
    if settings.log_query_text:
        return {"query": query, "query_chars": len(query)}
    return {"query_hmac": query_hmac(query, settings), "query_chars": len(query)}


def query_hmac(query: str, settings: Settings) -> str:
    """A keyed hash of ``query``: equal queries match across lines, but cannot be guessed."""
    return hmac.new(_query_hash_key(settings), query.encode("utf-8"), hashlib.sha256).hexdigest()[:16]


@functools.lru_cache(maxsize=4)
def _query_hash_key(settings: Settings) -> bytes:
    """``log_hash_key``, else one derived from the JWT secret, else random per process."""
    if settings.log_hash_key:
        return settings.log_hash_key.encode("utf-8")
    if settings.jwt_secret:
        # Derived, not the secret itself: a log reader must not learn the signing key.
        return hmac.new(settings.jwt_secret.encode("utf-8"), b"hybrid-search query log", hashlib.sha256).digest()
    return secrets.token_bytes(32)


def search_fields(query: str, response: Mapping[str, Any], settings: Settings) -> dict[str, Any]:
    """Fields a search adds to its access-log line (no hits, no snippets)."""
    return {
        **query_fields(query, settings),
        "hits": len(response.get("hits", ())),
        "total": response.get("total"),
        "profile": response.get("profile"),
        "degraded": list(response.get("degraded", ())),
        "timings_ms": dict(response.get("timings_ms", {})),
    }
