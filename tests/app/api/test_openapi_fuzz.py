"""Schemathesis over ``/openapi.json``: every operation, valid and invalid inputs, a real token.

Fails on any 5xx, on a response outside the documented schema or status codes,
and on an invalid request that is accepted. Bounded by ``max_examples`` so it
stays a few seconds in ``make test``. Operations are driven through
Hypothesis directly: schemathesis' pytest plugin does not run on pytest 9.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings as hsettings
from hypothesis.errors import Unsatisfiable

from schemathesis.specs.openapi.checks import positive_data_acceptance

from app.auth import mint_token
from app.web import create_app

MODES = [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE]
#: Rules JSON Schema cannot state: ``from + size <= depth`` and that a named
#: profile exists. A schema-valid request may be refused for these, and only these.
STATEFUL_FIELDS = {"from", "profile"}


def refused_only_for_stateful_rules(response) -> bool:
    if response.status_code != 400:
        return True
    details = response.json()["error"]["details"] or {}
    return set(details) <= STATEFUL_FIELDS


@pytest.fixture
def api_schema(indexed_settings, encoder):
    return schemathesis.openapi.from_wsgi("/openapi.json", create_app(indexed_settings, encoder=encoder))


@pytest.fixture
def bearer(indexed_settings) -> dict[str, str]:
    token = mint_token(indexed_settings, subject="fuzz", tenant="acme", principals=["group:sre"])
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("mode", MODES, ids=lambda mode: mode.value)
def test_every_operation_holds_its_contract(api_schema, bearer, mode) -> None:
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/v1/search", "/v1/profiles", "/readyz", "/healthz"}
    exercised = set()
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @hsettings(max_examples=40, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def holds(case) -> None:
            response = case.call_and_validate(headers=bearer, excluded_checks=[positive_data_acceptance])
            if mode is schemathesis.GenerationMode.POSITIVE:
                assert refused_only_for_stateful_rules(response), (case.body, response.json())

        try:
            holds()
        except Unsatisfiable:
            # An operation with no inputs has no invalid variant to send.
            assert mode is schemathesis.GenerationMode.NEGATIVE, operation.path
            continue
        exercised.add(operation.path)
    assert "/v1/search" in exercised and "/v1/profiles" in exercised
