"""Property-based API tests from the app's own OpenAPI schema (schemathesis 4).

Every operation of the running app's ``/openapi.json`` (auth, me, health,
sync and blobs), with generated valid and invalid requests, sent by a
signed-in fellow: no answer may be a server error, every answer matches its
documented status and body, and the schema states the limits the server
enforces: a request the schema calls valid is not refused as malformed
(``positive_data_acceptance``), one it calls invalid is refused
(``negative_data_rejection``). ``MAX_EXAMPLES`` per operation and mode keeps
the suite fast.

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
    negative_data_rejection,
    not_a_server_error,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.result import Ok

from app.protocol.sync import ORDER_CODE, PROTOCOL_HEADER, PROTOCOL_VERSION

MAX_EXAMPLES = 60
CHECKS = [
    not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
    negative_data_rejection, positive_data_acceptance,
]
# Refusals of a request the schema cannot call invalid: a rule across items
# (push: the order of seqs), what a file upload holds against its headers,
# the server's settings and the upload begun before (its hash, type and size;
# the size limit and quota are settings). Each has a code of its own, so only
# these pass as refusals of schema-valid data.
RULES_NO_SCHEMA_STATES = {
    ORDER_CODE, "hash_mismatch", "type_mismatch", "body_too_long", "file_too_large", "quota_exceeded",
    "piece_too_large", "upload_mismatch",
    # A parcel is valid by its cryptography (docs/parcels.md), which no schema states.
    "not_a_parcel", "parcel_truncated", "parcel_tampered", "parcel_too_new", "parcel_foreign",
    "parcel_expired", "parcel_too_large", "invalid_parcel_payload", "invalid_parcel_keys",
}
CONFIG = {
    # Besides the usual refusals of invalid input: 413 (a size past a limit)
    # and 426 (a sync protocol older than the server's).
    "checks": {"negative_data_rejection": {"expected-statuses": [
        "400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "426", "428", "429",
    ]}},
}


def operations(app: Any) -> list[Any]:
    config = schemathesis.Config.from_dict(CONFIG)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=config)
    found = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), f"an operation schemathesis cannot read: {result}"
        found.append(result.ok())
    return found


def _error_code(response: Any) -> str | None:
    try:
        return str(response.json()["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return None


def checks_for(response: Any) -> list[Any]:
    """Every check, but a refusal by a rule no schema states does not count
    as valid data refused."""
    if _error_code(response) in RULES_NO_SCHEMA_STATES:
        return [check for check in CHECKS if check is not positive_data_acceptance]
    return CHECKS


def fuzz(operation: Any, mode: GenerationMode, headers: dict[str, str]) -> None:
    """``MAX_EXAMPLES`` generated requests to one operation: no 5xx, answers
    as documented, and no mismatch between what the schema and the server accept."""

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
        case.validate_response(response, checks=checks_for(response))
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
            operation.body or operation.query or operation.path_parameters or operation.headers
        ):
            continue  # nothing to make invalid (GET /health, GET /me)
        if mode is GenerationMode.NEGATIVE and operation.path == "/api/v1/parcels/deliver":
            continue  # any bytes are a schema-valid parcel body: nothing to make invalid
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
