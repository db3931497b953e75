"""The app's JSON goes through orjson and reads as the standard library's would."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from flask import Flask, jsonify, request
from hypothesis import given
from hypothesis import strategies as st

from app.api.json_provider import OrjsonProvider

_json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


def orjson_app() -> Flask:
    app = Flask(__name__)
    app.json = OrjsonProvider(app)
    return app


@pytest.fixture()
def app() -> Flask:
    app = orjson_app()

    @app.post("/echo")
    def echo():  # type: ignore[no-untyped-def]
        return jsonify(request.get_json())

    return app


@given(value=_json_values)
def test_a_response_decodes_to_what_was_sent(value: object) -> None:
    app = orjson_app()  # hypothesis runs many examples per test: no function-scoped fixture
    with app.app_context():
        response = jsonify(value)
    assert response.mimetype == "application/json"
    body = response.get_data()
    assert body.endswith(b"\n")
    assert json.loads(body) == value


def test_key_order_is_kept_and_output_is_compact(app: Flask) -> None:
    with app.app_context():
        body = jsonify({"b": 1, "a": [1, 2], "é": "ü"}).get_data()
    assert body == '{"b":1,"a":[1,2],"é":"ü"}\n'.encode()


def test_types_beyond_json_use_flasks_fallback(app: Flask) -> None:
    with app.app_context():
        body = jsonify({"amount": Decimal("1.50"), 1: "one"}).get_data()
    assert json.loads(body) == {"amount": "1.50", "1": "one"}


def test_request_bodies_round_trip_and_bad_json_is_a_400(app: Flask) -> None:
    client = app.test_client()
    assert client.post("/echo", json={"q": "x", "n": [1.5]}).get_json() == {"q": "x", "n": [1.5]}
    bad = client.post("/echo", data=b'{"q": ', content_type="application/json")
    assert bad.status_code == 400


def test_debug_mode_pretty_prints(app: Flask) -> None:
    app.debug = True
    with app.app_context():
        assert b'\n  "a": 1' in jsonify({"a": 1}).get_data()
