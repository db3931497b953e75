"""Request and response schemas of the HTTP API (marshmallow).

They validate input (unknown fields are errors) and feed ``/openapi.json``.
Limits that are configurable are checked against settings in
:func:`load_search_request`.
"""

from __future__ import annotations

import re
from typing import Any

from marshmallow import (
    RAISE,
    Schema,
    ValidationError,
    fields,
    post_load,
    validate,
    validates_schema,
)

from app.facets import MAX_FACET_SIZE
from app.fusion import METHODS, NORMALIZATIONS
from app.highlight import (
    FRAGMENT_COUNT_RANGE,
    FRAGMENT_SIZE_RANGE,
    HIGHLIGHT_FIELDS,
    MAX_TAG_CHARS,
)
from app.profiles import PROFILE_NAME
from app.search_request import SearchRequest
from app.settings import Settings

MAX_FILTERS = 16
#: A query must contain a character outside this class (Python's ``str.isspace``
#: set, spelled out so JSON Schema's regex dialect reads it the same way).
NOT_BLANK = r"[^\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
METADATA_KEY = validate.Regexp(r"^[A-Za-z0-9_.-]{1,64}$", error="metadata keys are 1-64 of [A-Za-z0-9_.-]")


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE


class StrictBoolean(fields.Boolean):
    """JSON true/false only; marshmallow would also take "yes", "on", and 1 == True."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class StrictInteger(fields.Integer):
    """JSON Schema integers: 10 and 10.0, not 1.5, not "10", not true."""

    def _validated(self, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.make_error("invalid")
        if isinstance(value, float) and not value.is_integer():
            raise self.make_error("invalid")
        return int(value)


class StrictFloat(fields.Float):
    """JSON numbers only: not "0.5", not true."""

    def _validated(self, value: Any) -> float:
        if isinstance(value, (bool, str)):
            raise self.make_error("invalid")
        return super()._validated(value)


class WeightsSchema(StrictSchema):
    lexical = StrictFloat(validate=validate.Range(min=0, max=1000))
    vector = StrictFloat(validate=validate.Range(min=0, max=1000))


class FusionSchema(StrictSchema):
    method = fields.String(validate=validate.OneOf(METHODS))
    weights = fields.Nested(WeightsSchema)
    normalization = fields.String(validate=validate.OneOf(NORMALIZATIONS))
    rank_constant = StrictInteger(validate=validate.Range(min=1, max=10_000))


class LegsSchema(StrictSchema):
    lexical = StrictBoolean()
    vector = StrictBoolean()


class RerankSchema(StrictSchema):
    enabled = StrictBoolean()
    depth = StrictInteger(validate=validate.Range(min=1, max=200))


MAX_FILTER_VALUES = 64
#: JSON Schema of :class:`FilterValue`, published in ``/openapi.json``.
FILTER_VALUE_SCHEMA = {
    "oneOf": [
        {"type": "string", "minLength": 1},
        {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1, "maxItems": MAX_FILTER_VALUES},
    ]
}


class FilterValue(fields.Field):
    """A metadata filter value: one string or a non-empty list of strings."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> tuple[str, ...]:
        if isinstance(value, str) and value:
            return (value,)
        if isinstance(value, list) and value and len(value) <= MAX_FILTER_VALUES and all(isinstance(v, str) and v for v in value):
            return tuple(value)
        raise ValidationError(f"must be a non-empty string or a list of 1-{MAX_FILTER_VALUES} non-empty strings")


MAX_FACETS = 8


class FacetSchema(StrictSchema):
    field = fields.String(required=True, validate=METADATA_KEY, metadata={"description": "a metadata key"})
    size = StrictInteger(validate=validate.Range(min=1, max=MAX_FACET_SIZE))


class HighlightSchema(StrictSchema):
    fields_ = fields.List(fields.String(validate=validate.OneOf(HIGHLIGHT_FIELDS)), data_key="fields",
                          validate=validate.Length(min=1))
    pre_tag = fields.String(validate=validate.Length(max=MAX_TAG_CHARS))
    post_tag = fields.String(validate=validate.Length(max=MAX_TAG_CHARS))
    fragment_size = StrictInteger(validate=validate.Range(*FRAGMENT_SIZE_RANGE))
    number_of_fragments = StrictInteger(validate=validate.Range(*FRAGMENT_COUNT_RANGE))

    @post_load
    def _as_tuple(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        if "fields_" in data:
            data["fields"] = tuple(dict.fromkeys(data.pop("fields_")))
        return data


class SearchRequestSchema(StrictSchema):
    """Body of ``POST /v1/search``."""

    query = fields.String(required=True, validate=validate.Length(min=1))
    size = StrictInteger(load_default=10, validate=validate.Range(min=1))
    from_ = StrictInteger(data_key="from", load_default=0, validate=validate.Range(min=0))
    filters = fields.Dict(keys=fields.String(validate=METADATA_KEY), values=FilterValue(), load_default=dict)
    profile = fields.String(validate=validate.Regexp(PROFILE_NAME))
    fusion = fields.Nested(FusionSchema, load_default=dict)
    depth = StrictInteger(validate=validate.Range(min=1))
    legs = fields.Nested(LegsSchema, load_default=dict)
    rerank = fields.Nested(RerankSchema, load_default=dict)
    explain = StrictBoolean(load_default=False)
    facets = fields.List(fields.Nested(FacetSchema), validate=validate.Length(max=MAX_FACETS),
                         metadata={"description": "terms counts of metadata values over the candidate documents"})
    post_filters = fields.Dict(keys=fields.String(validate=METADATA_KEY), values=FilterValue(),
                               metadata={"description": "metadata filters applied after facets are counted"})
    highlight = fields.Nested(HighlightSchema)

    @validates_schema
    def _query_not_blank(self, data: dict[str, Any], **kwargs: Any) -> None:
        if "query" in data and not re.search(NOT_BLANK, data["query"]):
            raise ValidationError("must not be blank", "query")
        for name in ("filters", "post_filters"):
            if len(data.get(name, {})) > MAX_FILTERS:
                raise ValidationError(f"at most {MAX_FILTERS} metadata filters", name)
        legs = data.get("legs", {})
        if legs and not legs.get("lexical", True) and not legs.get("vector", True):
            raise ValidationError("at least one leg must be enabled", "legs")


#: One instance for all requests: load() keeps no per-call state, and building a
#: schema deep-copies its fields (a third of a millisecond per search).
_SEARCH_REQUEST = SearchRequestSchema()


def load_search_request(body: Any, settings: Settings) -> SearchRequest:
    """Validate a search body; raises ``ValidationError`` with field messages."""
    if not isinstance(body, dict):
        raise ValidationError({"_schema": ["request body must be a JSON object"]})
    data = _SEARCH_REQUEST.load(body)
    errors: dict[str, list[str]] = {}
    for name, (keyword, limit) in search_request_limits(settings).items():
        value = data.get(name)
        if keyword == "maxLength" and value is not None and len(value) > limit:
            errors[name] = [f"at most {limit} characters"]
        elif keyword == "maximum" and value is not None and value > limit:
            errors[name] = [f"at most {limit}"]
    if errors:
        raise ValidationError(errors)
    return SearchRequest.from_fields(data)


def search_request_limits(settings: Settings) -> dict[str, tuple[str, int]]:
    """Configured bounds of the search body: field -> (JSON Schema keyword, limit).

    Checked by :func:`load_search_request` and published in ``/openapi.json``,
    so clients and fuzzers see the same limits the service enforces.
    """
    return {
        "query": ("maxLength", settings.max_query_chars),
        "size": ("maximum", settings.max_page_size),
        "depth": ("maximum", settings.max_depth),
    }


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
    highlight = fields.Dict(keys=fields.String(), values=fields.List(fields.String()),
                            metadata={"description": "marked fragments per requested field"})
    title = fields.String()
    url = fields.String(allow_none=True)
    snippet = fields.String()
    updated_at = fields.String(allow_none=True)
    score = fields.Float()
    metadata = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))
    explain = fields.Nested(ExplainSchema)


class SearchResponseSchema(Schema):
    hits = fields.List(fields.Nested(HitSchema))
    total = fields.Integer(metadata={"description": "fused candidates available for paging (after post_filters)"})
    facets = fields.Dict(keys=fields.String(), values=fields.Dict(),
                         metadata={"description": "per facet: documents counted, buckets of value and count, other"})
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
    query_id = fields.String(metadata={"description": "the id User Behavior Insights events of this answer refer to"})


class ErrorBodySchema(Schema):
    code = fields.String()
    message = fields.String()
    details = fields.Raw(allow_none=True)


class ErrorSchema(Schema):
    error = fields.Nested(ErrorBodySchema)
