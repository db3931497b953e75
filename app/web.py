"""The Flask application factory."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from flask import Flask, g, jsonify, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from app.api.json_provider import OrjsonProvider
from app.api.redaction import path_names, redact
from app.api.opensearch_compat import compat
from app.api.routes import api
from app.api.workbench import workbench
from app.auth import TokenVerifier
from app.components import Components
from app.errors import PayloadTooLarge, ServiceError, Unavailable
from app.observability.hooks import install as install_observability
from app.settings import Settings

log = logging.getLogger(__name__)
_REQUEST_ID_MAX = 128


def create_app(settings: Settings | None = None, **components: Any) -> Flask:
    """Build the WSGI app; ``components`` may pre-supply encoder/backend/reranker."""
    settings = settings or Settings.from_env()
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.json = OrjsonProvider(app)
    parts = Components(settings, **components)
    parts.verifier = TokenVerifier(settings)
    app.extensions["hybrid"] = parts
    app.register_blueprint(api)
    app.register_blueprint(compat)
    app.register_blueprint(workbench)
    server_paths = path_names(settings)

    @app.before_request
    def assign_request_id() -> None:
        given = request.headers.get("X-Request-ID", "")
        g.request_id = given if 0 < len(given) <= _REQUEST_ID_MAX and given.isprintable() else uuid.uuid4().hex

    @app.after_request
    def echo_request_id(response: Any) -> Any:
        response.headers["X-Request-ID"] = g.get("request_id", "")
        return response

    @app.errorhandler(ServiceError)
    def service_error(exc: ServiceError) -> Any:
        response = jsonify(redact(exc.body(), server_paths))
        if isinstance(exc, Unavailable) and exc.retry_after_s is not None:
            response.headers["Retry-After"] = str(exc.retry_after_s)
        return response, exc.status

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(exc: RequestEntityTooLarge) -> Any:
        error = PayloadTooLarge(f"request body exceeds {settings.max_body_bytes} bytes")
        return jsonify(error.body()), error.status

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        code = (exc.name or "error").lower().replace(" ", "_")
        response = jsonify({"error": {"code": code, "message": exc.description, "details": None}})
        # Werkzeug's own headers carry meaning (a 405's Allow); its content type is for HTML.
        response.headers.extend((k, v) for k, v in exc.get_headers() if k.lower() != "content-type")
        return response, exc.code

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Any:
        log.exception("unhandled error", extra={"request_id": g.get("request_id")})
        body = {"error": {"code": "internal_error", "message": "internal error", "details": {"request_id": g.get("request_id")}}}
        return jsonify(body), 500

    # Last, so its before-request hook runs after the request id is assigned.
    install_observability(app, settings)
    return app
