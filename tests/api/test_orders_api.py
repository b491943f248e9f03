"""Orders from the upstream system over HTTP: upsert, assign, read back, and every refusal."""

from __future__ import annotations

import time

import jwt
from litestar import Litestar
from litestar.testing import AsyncTestClient

from courier_api.auth import Role, TokenService
from tests.conftest import AuthHeaders
from tests.factories import new_id, order_body

Client = AsyncTestClient[Litestar]
STAFF: tuple[Role, ...] = ("service", "support", "admin")


async def test_upsert_creates_then_replaces_and_reads_back(client: Client, auth: AuthHeaders) -> None:
    order_id = new_id()
    body = order_body()
    created = await client.put(f"/v1/orders/{order_id}", json=body, headers=auth("service", "oms"))
    assert created.status_code == 201, created.text
    assert created.json()["order"]["labelCode"] == body["labelCode"]

    body["address"]["text"] = "Москва, ул. Арбат, 1"
    replaced = await client.put(f"/v1/orders/{order_id}", json=body, headers=auth("service", "oms"))
    assert replaced.status_code == 200

    for role in STAFF:
        read = await client.get(f"/v1/orders/{order_id}", headers=auth(role, f"{role}-1"))
        assert read.status_code == 200
        assert read.json()["order"]["address"]["text"] == "Москва, ул. Арбат, 1"
        assert read.json()["status"] == "pending"


async def test_assign_courier(client: Client, auth: AuthHeaders) -> None:
    order_id = new_id()
    await client.put(f"/v1/orders/{order_id}", json=order_body(), headers=auth("service", "oms"))
    assigned = await client.put(
        f"/v1/orders/{order_id}/courier", json={"courierId": "courier-7"}, headers=auth("service", "oms")
    )
    assert assigned.status_code == 200
    assert assigned.json()["courierId"] == "courier-7"
    missing = await client.put(
        f"/v1/orders/{new_id()}/courier", json={"courierId": "c"}, headers=auth("service", "oms")
    )
    assert missing.status_code == 404
    assert missing.json()["code"] == "order.not_found"


async def test_validation_error_names_the_field(client: Client, auth: AuthHeaders) -> None:
    body = order_body()
    body["items"][0]["quantity"] = "two"
    answer = await client.put(f"/v1/orders/{new_id()}", json=body, headers=auth("service", "oms"))
    assert answer.status_code == 400
    assert answer.headers["content-type"].startswith("application/problem+json")
    problem = answer.json()
    assert problem["code"] == "request.invalid"
    assert problem["invalidParams"][0]["name"] == "items[0].quantity"


async def test_bad_values_are_refused(client: Client, auth: AuthHeaders) -> None:
    cases = [
        ("city", "moscow"),
        ("deliveryMethod", "drone"),
        ("payment", "barter"),
        ("items", []),
    ]
    for field, value in cases:
        body = order_body()
        body[field] = value
        answer = await client.put(f"/v1/orders/{new_id()}", json=body, headers=auth("service", "oms"))
        assert answer.status_code == 400, (field, answer.text)
        assert answer.json()["invalidParams"][0]["name"] == field


async def test_malformed_json_and_bad_id(client: Client, auth: AuthHeaders) -> None:
    headers = {**auth("service", "oms"), "content-type": "application/json"}
    broken = await client.put(f"/v1/orders/{new_id()}", content=b'{"customer": ', headers=headers)
    assert broken.status_code == 400
    assert broken.json()["code"] == "request.invalid"
    bad_id = await client.put("/v1/orders/" + "x" * 65, json=order_body(), headers=auth("service", "oms"))
    assert bad_id.status_code == 400


async def test_body_over_the_limit_is_refused(client: Client, auth: AuthHeaders) -> None:
    body = order_body()
    body["padding"] = "x" * 1_100_000
    answer = await client.put(f"/v1/orders/{new_id()}", json=body, headers=auth("service", "oms"))
    assert answer.status_code == 413
    assert answer.json()["code"] == "request.too_large"


async def test_roles_and_credentials(client: Client, auth: AuthHeaders, tokens: TokenService) -> None:
    order_id = new_id()
    url = f"/v1/orders/{order_id}"
    assert (await client.put(url, json=order_body(), headers=auth("courier", "c1"))).status_code == 403
    assert (await client.put(url, json=order_body(), headers=auth("customer", "cust-1"))).status_code == 403
    assert (await client.get(url, headers=auth("courier", "c1"))).status_code == 403

    now = int(time.time())
    expired = tokens.mint(role="service", sub="oms", ttl_s=-10)
    foreign = jwt.encode(
        {"sub": "oms", "role": "service", "exp": now + 60}, "another-secret-" * 4, algorithm="HS256"
    )
    unsigned = jwt.encode({"sub": "oms", "role": "service", "exp": now + 60}, key="", algorithm="none")
    unknown_role = jwt.encode(
        {"sub": "oms", "role": "root", "exp": now + 60}, tokens._secret, algorithm="HS256"
    )
    no_exp = jwt.encode({"sub": "oms", "role": "service"}, tokens._secret, algorithm="HS256")
    for header in (
        None,
        "Bearer",
        "Basic abc",
        "Bearer garbage",
        f"Bearer {expired}",
        f"Bearer {foreign}",
        f"Bearer {unsigned}",
        f"Bearer {unknown_role}",
        f"Bearer {no_exp}",
    ):
        headers = {"Authorization": header} if header else {}
        answer = await client.put(url, json=order_body(), headers=headers)
        assert answer.status_code == 401, header
        assert answer.json()["code"] == "auth.unauthenticated"
        assert answer.headers["www-authenticate"] == "Bearer"


async def test_health_ready_schema_and_unknown_routes(client: Client) -> None:
    assert (await client.get("/health")).json() == {"status": "ok"}
    ready = await client.get("/ready")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "database": True, "storage": True}
    schema = await client.get("/schema/openapi.json")
    assert schema.status_code == 200
    assert "/v1/orders/{order_id}" in schema.json()["paths"]
    missing = await client.get("/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.json()["code"] == "route.not_found"
    wrong_method = await client.delete("/health")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["code"] == "method.not_allowed"
    assert "x-request-id" in wrong_method.headers
