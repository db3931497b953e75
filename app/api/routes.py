"""HTTP endpoints (one blueprint): search, profiles, health, OpenAPI."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, g, jsonify, request
from marshmallow import ValidationError

from app.api.schemas import load_search_request
from app.components import Components
from app.errors import InvalidRequest, ServiceError, Unavailable
from app.profiles import ProfileError, list_profiles

api = Blueprint("api", __name__)


def components() -> Components:
    return current_app.extensions["hybrid"]


def json_body() -> Any:
    """The request's JSON body, or a 400 naming what is wrong with it."""
    if not request.is_json:
        raise InvalidRequest("request body must be JSON (Content-Type: application/json)")
    body = request.get_json(silent=True)
    if body is None:
        raise InvalidRequest("request body is not valid JSON")
    return body


@api.post("/v1/search")
def search() -> Any:
    """Hybrid search as the verified caller.
    ---
    post:
      summary: Hybrid (BM25 + k-NN) search with fusion and optional reranking
      security: [{bearerAuth: []}]
      requestBody:
        required: true
        content:
          application/json:
            schema: SearchRequestSchema
      responses:
        200: {content: {application/json: {schema: SearchResponseSchema}}}
        400: {content: {application/json: {schema: ErrorSchema}}}
        401: {content: {application/json: {schema: ErrorSchema}}}
        413: {content: {application/json: {schema: ErrorSchema}}}
        503: {content: {application/json: {schema: ErrorSchema}}}
    """
    parts = components()
    caller = parts.verifier.verify(request.headers.get("Authorization"))
    try:
        body = load_search_request(json_body(), parts.settings)
    except ValidationError as exc:
        raise InvalidRequest("request body failed validation", exc.messages) from None
    return jsonify(parts.service.search(body, caller, request_id=g.request_id))


@api.get("/v1/profiles")
def profiles() -> Any:
    """Named fusion profiles.
    ---
    get:
      summary: List the fusion profiles the service can run
      security: [{bearerAuth: []}]
      responses:
        200: {description: profiles with their fusion settings and provenance}
        401: {content: {application/json: {schema: ErrorSchema}}}
        503: {content: {application/json: {schema: ErrorSchema}}}
    """
    parts = components()
    parts.verifier.verify(request.headers.get("Authorization"))
    try:
        found = list_profiles(parts.settings)
    except ProfileError as exc:
        raise Unavailable(str(exc)) from None
    return jsonify({"default": parts.settings.default_profile or None, "profiles": [p.to_json() for p in found]})


@api.get("/healthz")
def healthz() -> Any:
    """Liveness: the process answers.
    ---
    get:
      summary: Liveness probe
      responses:
        200: {description: alive}
    """
    return jsonify({"status": "ok"})


@api.get("/readyz")
def readyz() -> Any:
    """Readiness: the model is loaded and the index behind the alias readable.
    ---
    get:
      summary: Readiness probe
      responses:
        200: {description: ready}
        503: {content: {application/json: {schema: ErrorSchema}}}
    """
    parts = components()
    try:
        index = parts.backend.live_index()
        model_version = parts.encoder.model_version
    except ServiceError:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure here means not ready
        raise Unavailable(f"not ready: {exc}") from None
    if index.model_version != model_version:
        raise Unavailable(
            f"index {index.name!r} has model {index.model_version!r}, service has {model_version!r}"
        )
    return jsonify(
        {
            "status": "ready",
            "index": index.name,
            "documents": index.documents,
            "chunks": index.chunks,
            "model_version": model_version,
            "reranker": parts.reranker.model_version,
        }
    )


@api.get("/openapi.json")
def openapi() -> Any:
    """The OpenAPI document, generated from the marshmallow schemas."""
    from app.api.openapi import build_spec

    return jsonify(build_spec(current_app, components().settings).to_dict())
