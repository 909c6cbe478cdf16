"""schemathesis against the app's OpenAPI schema, logged in: no answer is a server error.

Every operation of ``/api/openapi.json`` is called with inputs that schemathesis
generates from its schema (valid ones and broken ones), with an administrator's
session and its CSRF token, on a copy of the demo workspace; each operation is a test
of its own. The one operation left out is ``DELETE /api/session`` (it would end the
session the others use; ``test_web_auth`` covers it).
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from web_helpers import login

from vigilancia.domain.access import Role

#: Examples generated per operation.
EXAMPLES = 40


def operations(app) -> list[tuple[str, str]]:
    return [(m.upper(), p) for p, item in app.openapi()["paths"].items() for m in item
            if (m.upper(), p) != ("DELETE", "/api/session")]


@pytest.fixture(scope="module")
def admin(app):
    return login(app, Role.ADMIN)


@pytest.fixture(scope="module")
def api_schema(app):
    loaded = schemathesis.openapi.from_dict(app.openapi())
    loaded.app = app
    return loaded


def test_the_schema_lists_every_api_operation(app):
    paths = {p for _m, p in operations(app)}
    assert {"/api/clearings", "/api/cases/{case}", "/api/field-imports",
            "/api/tiles/clearings/{z}/{x}/{y}.mvt", "/api/patrol-plans"} <= paths


@pytest.mark.parametrize("method, path", [
    ("GET", "/api/session"), ("POST", "/api/session"), ("GET", "/api/users"),
    ("GET", "/api/audit"), ("GET", "/api/territories"), ("GET", "/api/territories/geojson"),
    ("GET", "/api/territories/{territory_id}"), ("GET", "/api/clearings"),
    ("GET", "/api/clearings/{clearing_id}"), ("GET", "/api/tiles/clearings/{z}/{x}/{y}.mvt"),
    ("GET", "/api/risk"), ("GET", "/api/risk/geojson"), ("GET", "/api/corridors"),
    ("GET", "/api/observations"), ("GET", "/api/basemap"),
    ("GET", "/api/basemap/tiles/{z}/{x}/{y}"), ("GET", "/api/cases"),
    ("GET", "/api/cases/{case}"), ("PATCH", "/api/cases/{case}"),
    ("POST", "/api/cases/{case}/assignment"), ("GET", "/api/patrol-plans"),
    ("GET", "/api/patrol-plans/{plan_id}"), ("POST", "/api/patrol-plans/preview"),
    ("POST", "/api/patrol-plans"), ("GET", "/api/territories/{territory_id}/package"),
    ("POST", "/api/field-imports"), ("GET", "/api/reports"),
])
def test_no_operation_answers_with_a_server_error(app, api_schema, admin, method, path):
    assert (method, path) in operations(app)
    operation = api_schema[path][method.lower()]
    headers = {"X-CSRF-Token": admin.csrf}
    cookies = dict(admin.client.cookies)
    failures: list[str] = []

    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def check(case):
        response = case.call(headers=headers, cookies=cookies)
        if response.status_code >= 500:
            failures.append(f"{case.method} {case.formatted_path} {case.query} -> "
                            f"{response.status_code} {response.text[:200]}")
        case.validate_response(response, checks=[not_a_server_error])

    check()
    assert failures == []


def test_every_operation_is_fuzzed(app):
    listed = set(operations(app))
    (mark,) = test_no_operation_answers_with_a_server_error.pytestmark
    assert listed == set(mark.args[1])
