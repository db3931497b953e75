"""The opensearch-py client as configured by Settings, and its errors as ours.

Hosts, basic auth or AWS SigV4, TLS (verification on unless turned off, an
optional CA bundle), timeouts, and retries with exponential backoff and jitter
on 429/502/503/504 and connection errors. :func:`translate` turns transport
errors into :class:`BackendError` (→ 503), :class:`IndexNotFound` (→ 503, naming
the index) and :class:`QueryRejected` (→ 400, with OpenSearch's reason).
"""

from __future__ import annotations

import random
import time
from typing import Any

from opensearchpy import OpenSearch, Transport
from opensearchpy import exceptions as os_exc

from app.backends.base import BackendError, IndexNotFound, QueryRejected
from app.settings import Settings

RETRY_STATUSES = (429, 502, 503, 504)


#: Query parameter (ours, never sent) carrying one call's overall deadline in seconds.
DEADLINE_PARAM = "deadline_s"
#: Attempts a search gets inside its deadline: a retry, but never a third search.
SEARCH_ATTEMPTS = 2
#: Query parameter (ours, never sent) marking a call that starts a job: it is
#: resent only after a 429 (rejected before it ran), never after a timeout or 5xx.
SEND_ONCE_PARAM = "send_once"
#: Methods whose repetition is harmless, so a timed-out attempt may be resent.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE"})


class BackoffTransport(Transport):
    """opensearch-py's transport, sleeping between retries (it retries at once).

    A call with ``params[DEADLINE_PARAM]`` is a search under one deadline: each
    attempt's client timeout is what remains of it, there is at most one retry,
    and a timed-out attempt is not resent, since the first may still be running
    on the cluster. Other timed-out calls are resent only when idempotent; a
    ``params[SEND_ONCE_PARAM]`` call (one that starts a job) only after a 429.
    """

    def __init__(self, *args: Any, backoff_s: float = 0.5, max_backoff_s: float = 10.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.attempts = self.max_retries + 1
        self.max_retries = 0  # the loop below retries; the parent only tries once
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s

    def perform_request(self, method: str, url: str, params: Any = None, *args: Any, **kwargs: Any) -> Any:
        params = dict(params or {})
        deadline_s = params.pop(DEADLINE_PARAM, None)
        send_once = bool(params.pop(SEND_ONCE_PARAM, False))
        deadline = None if deadline_s is None else time.monotonic() + float(deadline_s)
        attempts = self.attempts if deadline is None else min(self.attempts, SEARCH_ATTEMPTS)
        resend_timed_out = self.retry_on_timeout and deadline is None and not send_once and method in IDEMPOTENT_METHODS
        for attempt in range(attempts):
            if deadline is not None:
                params["request_timeout"] = max(0.001, deadline - time.monotonic())
            try:
                return super().perform_request(method, url, params, *args, **kwargs)
            except os_exc.ConnectionTimeout:
                if not resend_timed_out or attempt == attempts - 1:
                    raise
            except os_exc.ConnectionError:
                if send_once or attempt == attempts - 1:
                    raise
            except os_exc.TransportError as exc:
                retryable = exc.status_code == 429 if send_once else exc.status_code in self.retry_on_status
                if not retryable or attempt == attempts - 1:
                    raise
            # Full jitter keeps many workers from retrying in lockstep.
            pause = random.uniform(0.5, 1.0) * min(self.max_backoff_s, self.backoff_s * 2**attempt)
            if deadline is not None:
                pause = min(pause, max(0.0, (deadline - time.monotonic()) / 2))
            time.sleep(pause)
        raise AssertionError("unreachable")  # pragma: no cover


def hosts(settings: Settings) -> list[str]:
    """``HYBRID_OPENSEARCH_HOSTS`` is a comma-separated list of URLs."""
    found = [h.strip() for h in settings.opensearch_hosts.split(",") if h.strip()]
    if not found:
        raise ValueError("HYBRID_OPENSEARCH_HOSTS is empty")
    return found


def build_client(settings: Settings) -> OpenSearch:
    """An :class:`OpenSearch` client for ``settings``."""
    options: dict[str, Any] = {
        "hosts": hosts(settings),
        "verify_certs": settings.opensearch_verify_certs,
        "ssl_show_warn": settings.opensearch_verify_certs,
        "timeout": settings.opensearch_timeout_s,
        "max_retries": settings.opensearch_max_retries,
        "retry_on_status": RETRY_STATUSES,
        "retry_on_timeout": True,
        "transport_class": BackoffTransport,
        "backoff_s": settings.opensearch_retry_backoff_s,
        "http_compress": True,
    }
    if settings.opensearch_ca_certs:
        options["ca_certs"] = settings.opensearch_ca_certs
    if settings.opensearch_aws_service:
        options.update(_sigv4(settings))
    elif settings.opensearch_user:
        options["http_auth"] = (settings.opensearch_user, settings.opensearch_password)
    return OpenSearch(**options)


def _sigv4(settings: Settings) -> dict[str, Any]:
    """SigV4 signing for a managed domain (``es``) with the standard boto3 credential chain."""
    import boto3
    from opensearchpy import AWSV4SignerAuth, RequestsHttpConnection

    if settings.opensearch_aws_service == "aoss":
        # Serverless vector collections assign their own document _id and take only
        # faiss; our writes address chunks by id, which such a collection cannot do.
        raise ValueError(
            "HYBRID_OPENSEARCH_AWS_SERVICE=aoss (OpenSearch Serverless) is not supported: vector collections "
            "assign their own document ids, which chunk replacement and deletes rely on; use a managed domain ('es')"
        )
    if settings.opensearch_aws_service != "es":
        raise ValueError(f"HYBRID_OPENSEARCH_AWS_SERVICE must be 'es' (or empty), not {settings.opensearch_aws_service!r}")
    session = boto3.Session()
    region = settings.opensearch_aws_region or session.region_name
    if not region:
        raise ValueError("SigV4 needs a region: set HYBRID_OPENSEARCH_AWS_REGION or AWS_REGION")
    credentials = session.get_credentials()
    if credentials is None:
        raise BackendError("SigV4 is on but boto3 found no AWS credentials (env, profile, or instance role)")
    return {
        "http_auth": AWSV4SignerAuth(credentials, region, settings.opensearch_aws_service),
        # The signer hooks into requests; urllib3 connections cannot sign.
        "connection_class": RequestsHttpConnection,
        # The signer hashes the body as sent; a compressed body would not match the signature.
        "http_compress": False,
    }


def reason(exc: os_exc.TransportError) -> str:
    """OpenSearch's own explanation from an error response."""
    info = exc.info if isinstance(exc.info, dict) else {}
    return error_reason(info.get("error")) or str(exc.error)


def error_reason(error: Any) -> str:
    """``reason`` of an ``error`` object (root cause first), or ``""``."""
    if isinstance(error, str):
        return error
    if not isinstance(error, dict):
        return ""
    causes = error.get("root_cause") or []
    cause = causes[0] if causes and isinstance(causes[0], dict) else error
    text = cause.get("reason") or error.get("reason") or error.get("type") or ""
    caused_by = error.get("caused_by")
    if isinstance(caused_by, dict) and caused_by.get("reason") and caused_by["reason"] not in text:
        text = f"{text}: {caused_by['reason']}"
    return text


def error_type(error: Any) -> str:
    return error.get("type", "") if isinstance(error, dict) else ""


def translate(exc: Exception, what: str) -> Exception:
    """Our error for a transport error raised while doing ``what``."""
    if isinstance(exc, os_exc.ConnectionTimeout):
        return BackendError(f"OpenSearch did not answer in time while {what}", transient=True)
    if isinstance(exc, os_exc.ConnectionError):  # includes TLS failures
        return BackendError(f"OpenSearch is unreachable while {what}: {exc.error}", transient=True)
    if not isinstance(exc, os_exc.TransportError):
        return exc
    status = exc.status_code if isinstance(exc.status_code, int) else 0
    info = exc.info if isinstance(exc.info, dict) else {}
    return from_error_response(status, info.get("error"), what) or BackendError(
        f"OpenSearch failed while {what}: HTTP {exc.status_code} {reason(exc)}"
    )


def from_error_response(status: int, error: Any, what: str) -> Exception | None:
    """Our error for an ``error`` object (whole response or one ``_msearch`` item)."""
    kind = error_type(error)
    text = error_reason(error) or str(error)
    if status == 404 or kind == "index_not_found_exception":
        name = error.get("index") if isinstance(error, dict) else None
        return IndexNotFound(f"index or alias {name or ''!s} not found while {what}: {text}".replace("  ", " "))
    if status == 400:
        return QueryRejected(f"OpenSearch rejected the request while {what}: {text}")
    if status in (401, 403):
        return BackendError(f"OpenSearch refused our credentials while {what} (HTTP {status}): {text}")
    if status:
        return BackendError(f"OpenSearch failed while {what}: HTTP {status} {text}", transient=status in RETRY_STATUSES or status >= 500)
    return None
