"""Property-based API tests from the app's own OpenAPI schema (schemathesis 4).

Every operation of the running app's ``/openapi.json`` (auth, me, health and
sync), with generated valid and invalid requests, sent by a signed-in fellow:
no answer may be a server error. ``MAX_EXAMPLES`` per operation and mode
keeps the suite fast.

(The operations are driven here with Hypothesis directly: schemathesis's lazy
``from_fixture`` loader does not work with pytest 9 yet, and the app needs the
``db_url`` fixtures to run on SQLite and PostgreSQL.)
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from app.sync.protocol import PROTOCOL_HEADER, PROTOCOL_VERSION

MAX_EXAMPLES = 25


def operations(app: Any) -> list[Any]:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    return [result.ok() for result in schema.get_all_operations()]


def fuzz(operation: Any, mode: GenerationMode, headers: dict[str, str]) -> None:
    """``MAX_EXAMPLES`` generated requests to one operation; no 5xx allowed."""
    checks = [not_a_server_error]
    if not operation.path.startswith("/api/v1/sync/"):
        # Ours: the answers also match the documented statuses and bodies.
        checks += [status_code_conformance, content_type_conformance, response_schema_conformance]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case: Any) -> None:
        # Our headers win over generated ones: the requests get past sign-in.
        case.headers = {**(case.headers or {}), **headers}
        response = case.call()
        case.validate_response(response, checks=checks)
        assert response.status_code < 500, (case.method, case.path, response.text[:300])

    check()


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
def test_no_server_errors(app: Any, make_user: Any, auth_headers: Any, mode: GenerationMode) -> None:
    user = make_user("fellow", cohort="Schema cohort", username="fuzz")
    headers = {**auth_headers(user), PROTOCOL_HEADER: str(PROTOCOL_VERSION)}
    ops = operations(app)
    assert {(op.method.upper(), op.path) for op in ops} >= {
        ("GET", "/health"),
        ("POST", "/api/v1/auth/login"),
        ("POST", "/api/v1/auth/refresh"),
        ("POST", "/api/v1/auth/logout"),
        ("POST", "/api/v1/auth/password"),
        ("GET", "/api/v1/me"),
    }
    for operation in ops:
        if mode is GenerationMode.NEGATIVE and not (
            operation.body or operation.query or operation.path_parameters
        ):
            continue  # nothing to make invalid (GET /health, GET /me)
        fuzz(operation, mode, headers)


def test_every_operation_is_in_the_schema(client: Any) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in (
        "/health",
        "/api/v1/auth/login",
        "/api/v1/auth/refresh",
        "/api/v1/auth/logout",
        "/api/v1/auth/password",
        "/api/v1/me",
    ):
        assert path in paths
    login = paths["/api/v1/auth/login"]["post"]
    assert {"200", "401", "422", "429"} <= set(login["responses"])
    assert paths["/api/v1/me"]["get"]["security"] == [{"HTTPBearer": []}]
