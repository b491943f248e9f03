"""Schema fuzzing: schemathesis drives every operation of our own OpenAPI document.

Served by a real `courier-api serve` on 127.0.0.1 (see conftest), so the HTTP parser, body limits
and content negotiation are the production ones. Each operation runs with a token of a role
that may call it and path parameters that name existing objects, so the generated data reaches
the handlers instead of stopping at 401/404. Positive data must never give a 5xx nor be refused
as malformed (400/422: the document would then be looser than the msgspec structs), and every
answer must match the document (status, content type, body schema); negative data (violating
the schema) must be refused with a 4xx.

Reproducible: Hypothesis is derandomized (the seed is derived from the test), no example
database. `FUZZ_EXAMPLES=1000 pytest tests/reliability/test_schema_fuzz.py` runs a longer profile.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import CheckFunction, not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from courier_api.auth import Role
from infra.database import Database
from tests.conftest import AuthHeaders
from tests.photo_factory import make_device_key
from tests.reliability.conftest import LiveApi, World, build_world

pytestmark = pytest.mark.slow

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "12"))

CONFORMANCE: list[CheckFunction] = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]

# Who may call each operation (a role the handler accepts, so fuzzed data reaches it).
ROLE_FOR: dict[tuple[str, str], Role | None] = {
    ("GET", "/health"): None,
    ("GET", "/ready"): None,
    ("PUT", "/v1/orders/{order_id}"): "service",
    ("PUT", "/v1/orders/{order_id}/courier"): "service",
    ("GET", "/v1/orders/{order_id}"): "support",
    ("POST", "/v1/eligibility/check"): "service",
    ("GET", "/v1/orders/{order_id}/door-drop"): "customer",
    ("PUT", "/v1/orders/{order_id}/door-drop"): "customer",
    ("POST", "/v1/courier/devices"): "courier",
    ("POST", "/v1/courier/devices/challenges"): "courier",
    ("GET", "/v1/support/couriers/{courier_id}/devices"): "support",
    ("DELETE", "/v1/support/devices/{device_id}"): "support",
    ("POST", "/v1/deliveries/{order_id}/capture-sessions"): "courier",
    ("POST", "/v1/deliveries/{order_id}/photos"): "courier",
    ("GET", "/v1/admin/door-drop-policies/in-force"): "admin",
    ("GET", "/v1/admin/door-drop-policies"): "admin",
    ("POST", "/v1/admin/door-drop-policies"): "admin",
    ("POST", "/v1/admin/door-drop-policies/what-if"): "admin",
    ("GET", "/v1/support/outbox/dead"): "support",
    ("POST", "/v1/support/outbox/{entry_id}/retry"): "support",
    ("GET", "/v1/me/orders/{order_id}/delivery"): "customer",
    ("POST", "/v1/me/orders/{order_id}/claims"): "customer",
    ("GET", "/v1/support/customers/{customer_id}/door-drop-bar"): "support",
    ("POST", "/v1/support/customers/{customer_id}/door-drop-bar"): "support",
    ("DELETE", "/v1/support/customers/{customer_id}/door-drop-bar"): "support",
    ("POST", "/v1/support/claims/{claim_id}/decision"): "support",
    ("GET", "/v1/support/orders/{order_id}/evidence"): "support",
    ("GET", "/v1/admin/audit"): "admin",
    ("GET", "/v1/admin/incidents"): "admin",
}


# The one rule between two fields, which JSON Schema cannot state: a report or what-if range ends after it
# starts (and spans at most 370 / 400 days). Positive cases get `end = start + 1 day`; negative ones keep
# whatever was generated, and a reversed range is refused with 422 `*.bad_range`.
RANGES: dict[tuple[str, str], tuple[str, str, str]] = {
    ("GET", "/v1/admin/incidents"): ("query", "from", "to"),
    ("POST", "/v1/admin/door-drop-policies/what-if"): ("body", "createdFrom", "createdTo"),
}


def _within_range(where: str, start: str, end: str, case: schemathesis.Case[Any]) -> schemathesis.Case[Any]:
    values = case.query if where == "query" else case.body
    assert isinstance(values, dict)  # both fields are required: positive data always carries them
    begin = datetime.fromisoformat(str(values[start]))
    try:
        values[end] = (begin + timedelta(days=1)).isoformat()
    except OverflowError:  # the last day datetime can hold
        values[start], values[end] = (begin - timedelta(days=1)).isoformat(), begin.isoformat()
    return case


@pytest.fixture(scope="module")
async def world(live_api: LiveApi, auth: AuthHeaders, live_db: Database) -> AsyncIterator[World]:
    async with httpx.AsyncClient(base_url=live_api.base_url, timeout=60.0) as client:
        yield await build_world(client, auth, live_db)


def _fixed_parts(
    method: str, path: str, world: World, auth: AuthHeaders, spare_device: str = ""
) -> tuple[dict[str, Any], dict[str, str]]:
    """Path parameters naming existing objects, and the caller's headers, for one operation."""
    role = ROLE_FOR[(method, path)]
    # The courier and customer own the pending order; the delivered one carries the photo and claim.
    order, customer = world.pending, world.pending.customer_id
    if path.startswith("/v1/me/") or path.startswith("/v1/support/orders/"):
        order = world.delivered
    params: dict[str, Any] = {}
    if "{order_id}" in path:
        params["order_id"] = order.order_id
    if "{customer_id}" in path:
        params["customer_id"] = customer
    if "{claim_id}" in path:
        params["claim_id"] = world.claim_id
    if "{entry_id}" in path:
        params["entry_id"] = world.outbox_entry_id
    if "{courier_id}" in path:
        params["courier_id"] = order.courier_id
    if "{device_id}" in path:
        # A device of its own: revoking the pending order's device would end the fuzzing of uploads.
        params["device_id"] = spare_device or order.device_id
    headers: dict[str, str] = {}
    if role is not None:
        sub = {"courier": order.courier_id, "customer": order.customer_id}.get(role, f"{role}-fuzz")
        headers |= auth(role, sub)
    if path.endswith("/photos"):
        headers["X-Capture-Session"] = order.session_id
    return params, headers


def test_every_operation_survives_fuzzing_and_answers_as_documented(
    live_api: LiveApi, world: World, auth: AuthHeaders
) -> None:
    schema = schemathesis.openapi.from_url(f"{live_api.base_url}/schema/openapi.json")
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result
        operations.append(result.ok())
    documented = {(op.method.upper(), op.path) for op in operations}
    assert documented == set(ROLE_FOR), "every operation needs a role in ROLE_FOR (and no stale rows)"

    exercised: Counter[tuple[str, str, str]] = Counter()
    statuses: Counter[int] = Counter()
    refused: Counter[tuple[str, str, int]] = Counter()  # positive cases answered 400/422
    session = requests.Session()
    spare = session.post(
        f"{live_api.base_url}/v1/courier/devices",
        json={"publicKey": make_device_key()[1], "platform": "android"},
        headers=auth("courier", "spare-device-courier"),
        timeout=30,
    )
    assert spare.status_code == 201, spare.text
    for operation in operations:
        params, headers = _fixed_parts(
            operation.method.upper(), operation.path, world, auth, spare.json()["deviceId"]
        )
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _fuzz(operation, mode, params, headers, live_api.base_url, session, exercised, statuses, refused)

    positive = {(m, p) for m, p, mode in exercised if mode == GenerationMode.POSITIVE.value}
    assert positive == documented
    assert sum(statuses[s] for s in statuses if s >= 500) == 0
    # Past authentication: most answers come from the handlers, not from the auth gate.
    assert statuses[401] == 0, statuses
    positive_count = sum(n for (_, _, mode), n in exercised.items() if mode == GenerationMode.POSITIVE.value)
    print(
        f"\nfuzzed {sum(exercised.values())} requests over {len(positive)} operations: {dict(statuses)};"
        f" positive cases refused as malformed: {sum(refused.values())} of {positive_count}"
    )
    # Data the document calls valid is valid: the document is as strict as the structs.
    assert not refused, dict(refused)


def _fuzz(
    operation: schemathesis.APIOperation[Any, Any, Any, Any],
    mode: GenerationMode,
    params: dict[str, Any],
    headers: dict[str, str],
    base_url: str,
    session: requests.Session,
    exercised: Counter[tuple[str, str, str]],
    statuses: Counter[int],
    refused: Counter[tuple[str, str, int]],
) -> None:
    """Run one operation in one generation mode; each example is called and validated."""
    checks = [*CONFORMANCE, negative_data_rejection] if mode.is_negative else CONFORMANCE
    strategy = operation.as_strategy(generation_mode=mode, path_parameters=params, headers=headers)
    if not mode.is_negative and (fields := RANGES.get((operation.method.upper(), operation.path))):
        strategy = strategy.map(lambda case: _within_range(*fields, case))

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case: schemathesis.Case[Any]) -> None:
        response = case.call(base_url=base_url, session=session, timeout=30)
        statuses[response.status_code] += 1
        exercised[(operation.method.upper(), operation.path, mode.value)] += 1
        if not mode.is_negative and response.status_code in (400, 422) and not _beyond_the_schema(response):
            refused[(operation.method.upper(), operation.path, response.status_code)] += 1
        case.validate_response(response, checks=checks)

    try:
        run()
    except Unsatisfiable:
        if not mode.is_negative:
            raise
        # Nothing of this operation can be made invalid (no parameters, no body).


# Refusals of well-formed requests for what no JSON Schema can state: an attestation that does not verify
# against a fresh challenge, or neither of two optional proof headers. Positive cases may meet these.
BEYOND_THE_SCHEMA = {
    "device.challenge_invalid",
    "device.attestation_invalid",
    "device.attestation_required",
    "device.bad_key",
    "device.enrollment_shape",
    "photo.proof_missing",
}


def _beyond_the_schema(response: Any) -> bool:
    try:
        code = response.json().get("code")
    except ValueError:
        return False
    return code in BEYOND_THE_SCHEMA
