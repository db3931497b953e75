"""Request and response schemas of the HTTP API (marshmallow).

They validate input (unknown fields are errors) and feed ``/openapi.json``.
Limits that are configurable are checked against settings in
:func:`load_search_request`.
"""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from app.settings import Settings

METADATA_KEY = validate.Regexp(r"^[A-Za-z0-9_.-]{1,64}$", error="metadata keys are 1-64 of [A-Za-z0-9_.-]")


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE


def StrictBoolean(**kwargs: Any) -> fields.Boolean:
    """JSON true/false only; marshmallow would also take "yes", 1, "on"."""
    return fields.Boolean(truthy={True}, falsy={False}, **kwargs)


class WeightsSchema(StrictSchema):
    lexical = fields.Float(validate=validate.Range(min=0, max=1000))
    vector = fields.Float(validate=validate.Range(min=0, max=1000))


class FusionSchema(StrictSchema):
    method = fields.String(validate=validate.OneOf(["rrf", "linear"]))
    weights = fields.Nested(WeightsSchema)
    normalization = fields.String(validate=validate.OneOf(["min_max", "z_score", "l2"]))
    rank_constant = fields.Integer(validate=validate.Range(min=1, max=10_000))


class LegsSchema(StrictSchema):
    lexical = StrictBoolean()
    vector = StrictBoolean()


class RerankSchema(StrictSchema):
    enabled = StrictBoolean()
    depth = fields.Integer(validate=validate.Range(min=1, max=200))


class FilterValue(fields.Field):
    """A metadata filter value: one string or a non-empty list of strings."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> tuple[str, ...]:
        if isinstance(value, str) and value:
            return (value,)
        if isinstance(value, list) and value and len(value) <= 64 and all(isinstance(v, str) and v for v in value):
            return tuple(value)
        raise ValidationError("must be a non-empty string or a list of 1-64 non-empty strings")


class SearchRequestSchema(StrictSchema):
    """Body of ``POST /v1/search``."""

    query = fields.String(required=True, validate=validate.Length(min=1))
    size = fields.Integer(load_default=10, validate=validate.Range(min=1))
    from_ = fields.Integer(data_key="from", load_default=0, validate=validate.Range(min=0))
    filters = fields.Dict(keys=fields.String(validate=METADATA_KEY), values=FilterValue(), load_default=dict)
    profile = fields.String(validate=validate.Regexp(r"^[A-Za-z0-9_-]{1,64}$"))
    fusion = fields.Nested(FusionSchema, load_default=dict)
    depth = fields.Integer(validate=validate.Range(min=1))
    legs = fields.Nested(LegsSchema, load_default=dict)
    rerank = fields.Nested(RerankSchema, load_default=dict)
    explain = StrictBoolean(load_default=False)

    @validates_schema
    def _query_not_blank(self, data: dict[str, Any], **kwargs: Any) -> None:
        if "query" in data and not data["query"].strip():
            raise ValidationError("must not be blank", "query")
        if len(data.get("filters", {})) > 16:
            raise ValidationError("at most 16 metadata filters", "filters")
        legs = data.get("legs", {})
        if legs and not legs.get("lexical", True) and not legs.get("vector", True):
            raise ValidationError("at least one leg must be enabled", "legs")


#: One instance for all requests: load() keeps no per-call state, and building a
#: schema deep-copies its fields (a third of a millisecond per search).
_SEARCH_REQUEST = SearchRequestSchema()


def load_search_request(body: Any, settings: Settings) -> dict[str, Any]:
    """Validate a search body; raises ``ValidationError`` with field messages."""
    if not isinstance(body, dict):
        raise ValidationError({"_schema": ["request body must be a JSON object"]})
    data = _SEARCH_REQUEST.load(body)
    data["from"] = data.pop("from_")  # ``from`` is a Python keyword, not a JSON one
    errors: dict[str, list[str]] = {}
    if len(data["query"]) > settings.max_query_chars:
        errors["query"] = [f"at most {settings.max_query_chars} characters"]
    if data["size"] > settings.max_page_size:
        errors["size"] = [f"at most {settings.max_page_size}"]
    if data.get("depth", 0) > settings.max_depth:
        errors["depth"] = [f"at most {settings.max_depth}"]
    if errors:
        raise ValidationError(errors)
    return data


# ------------------------------------------------------------------ responses


class LegExplainSchema(Schema):
    raw_score = fields.Float()
    normalized_score = fields.Float(allow_none=True)
    rank = fields.Integer()
    chunk_id = fields.String()


class RerankExplainSchema(Schema):
    score = fields.Float(metadata={"description": "what the reranked head is ordered by (interpolated with the fused score when configured)"})
    rank = fields.Integer()
    model_score = fields.Float(metadata={"description": "the cross-encoder's own score"})


class ExplainSchema(Schema):
    lexical = fields.Nested(LegExplainSchema)
    vector = fields.Nested(LegExplainSchema)
    fused_score = fields.Float()
    fused_rank = fields.Integer()
    rerank = fields.Nested(RerankExplainSchema)


class HitSchema(Schema):
    id = fields.String()
    title = fields.String()
    url = fields.String(allow_none=True)
    snippet = fields.String()
    score = fields.Float()
    metadata = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))
    explain = fields.Nested(ExplainSchema)


class SearchResponseSchema(Schema):
    hits = fields.List(fields.Nested(HitSchema))
    total = fields.Integer(metadata={"description": "fused candidates available for paging"})
    from_ = fields.Integer(data_key="from")
    size = fields.Integer()
    index = fields.String()
    index_version = fields.Integer()
    model_version = fields.String()
    profile = fields.String(allow_none=True)
    fusion = fields.Dict()
    degraded = fields.List(fields.String())
    timings_ms = fields.Dict(keys=fields.String(), values=fields.Float())
    request_id = fields.String()


class ErrorBodySchema(Schema):
    code = fields.String()
    message = fields.String()
    details = fields.Raw(allow_none=True)


class ErrorSchema(Schema):
    error = fields.Nested(ErrorBodySchema)
