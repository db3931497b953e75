"""Errors the service answers with, each mapped to one HTTP status and code."""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    """Base class: ``status`` and ``code`` form the JSON error body."""

    status = 500
    code = "internal_error"

    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def body(self) -> dict[str, Any]:
        """``{"error": {"code", "message", "details"}}``."""
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class InvalidRequest(ServiceError):
    status = 400
    code = "invalid_request"


class Unauthorized(ServiceError):
    status = 401
    code = "unauthorized"


class NotFound(ServiceError):
    status = 404
    code = "not_found"


class PayloadTooLarge(ServiceError):
    status = 413
    code = "payload_too_large"


#: Seconds a client should wait before retrying a transient 503.
RETRY_AFTER_S = 1


class Unavailable(ServiceError):
    """503; ``retry_after_s`` (sent as ``Retry-After``) when the cause is transient."""

    status = 503
    code = "unavailable"

    def __init__(self, message: str, details: Any = None, *, retry_after_s: int | None = None) -> None:
        super().__init__(message, details)
        self.retry_after_s = retry_after_s


class ModelVersionMismatch(Unavailable):
    code = "model_version_mismatch"
