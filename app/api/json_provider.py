"""Flask's JSON, encoded and decoded by orjson.

Every search answer is a few kilobytes of JSON, which orjson writes an order of
magnitude faster than the standard library (docs/performance.md). Output is the
same JSON, compact, keys in insertion order; types orjson does not know
(``Decimal``, objects with ``__html__``) go through Flask's own fallback.
"""

from __future__ import annotations

from typing import Any

import orjson
from flask import Response
from flask.json.provider import JSONProvider, _default


class OrjsonProvider(JSONProvider):
    """``app.json`` backed by orjson; pretty-printed when the app is in debug mode."""

    def _options(self) -> int:
        # Non-string keys as the standard library writes them ({1: x} -> {"1": x}).
        return orjson.OPT_NON_STR_KEYS | (orjson.OPT_INDENT_2 if self._app.debug else 0)

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        return orjson.dumps(obj, default=_default, option=self._options()).decode("utf-8")

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return orjson.loads(s)

    def response(self, *args: Any, **kwargs: Any) -> Response:
        obj = self._prepare_response_obj(args, kwargs)
        body = orjson.dumps(obj, default=_default, option=self._options() | orjson.OPT_APPEND_NEWLINE)
        return self._app.response_class(body, mimetype="application/json")
