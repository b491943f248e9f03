"""Authorization matrix: every operation x every role (and no token) x own/foreign object.

The operations come from the served OpenAPI document, and the table must cover exactly them:
a new endpoint without a row fails here. Roles a handler accepts get its success status on
their own object and 404 on another actor's (never revealing it exists); other roles get 403;
no token gets 401. Staff roles see every order, so own and foreign are the same for them.
Forged tokens (expired, `alg: none`, another key, unknown role) get 401 on a sample.
"""

from __future__ import annotations

import base64
import io
import json
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
import jwt
import pytest
from PIL import Image

from courier_api.auth import ROLES, Role
from infra.database import Database
from infra.settings import Settings
from tests.api.capture_flow import DoorDrop, door_drop
from tests.conftest import AuthHeaders
from tests.factories import new_id, order_body
from tests.reliability.conftest import LiveApi, World, build_world

Caller = Role | Literal["none"]
Variant = Literal["own", "foreign", "-"]
CALLERS: tuple[Caller, ...] = ("courier", "customer", "support", "admin", "service", "none")
STAFF_SUB = {"support": "support-1", "admin": "admin-1", "service": "oms"}


@dataclass
class Objects:
    world: World  # delivered order with a claim (D1), pending order with a session (P1 = "mine")
    theirs: DoorDrop  # another courier's and customer's pending order
    unclaimed: DoorDrop  # delivered, no claim yet: the customer's claim target
    policy: dict[str, Any]  # the policy in force, as a valid body


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    json: Any = None
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)


Builder = Callable[[httpx.AsyncClient, Objects, DoorDrop, AuthHeaders], Awaitable[Call]]


@dataclass(frozen=True)
class Row:
    allowed: frozenset[Caller]
    success: int
    build: Builder
    on_order: bool = False  # the path names an order: own/foreign variants apply
    own: Callable[[Objects], DoorDrop] = lambda objects: objects.world.pending


def row(allowed: str, success: int, build: Builder, **kwargs: Any) -> Row:
    return Row(allowed=frozenset(allowed.split()), success=success, build=build, **kwargs)  # type: ignore[arg-type]


def simple(method: str, path: str, body: Any = None) -> Builder:
    async def build(client: httpx.AsyncClient, objects: Objects, target: DoorDrop, auth: AuthHeaders) -> Call:
        return Call(method, path.format(order=target.order_id, world=objects.world), json=body)

    return build


def _small_jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (1200, 900), (90, 90, 90)).save(buf, "JPEG")  # above the 0.5 MP floor
    return buf.getvalue()


async def _upsert(client: httpx.AsyncClient, objects: Objects, target: DoorDrop, auth: AuthHeaders) -> Call:
    return Call("PUT", f"/v1/orders/{new_id()}", json=order_body())


async def _assign(client: httpx.AsyncClient, objects: Objects, target: DoorDrop, auth: AuthHeaders) -> Call:
    return Call("PUT", f"/v1/orders/{target.order_id}/courier", json={"courierId": target.courier_id})


async def _check(client: httpx.AsyncClient, objects: Objects, target: DoorDrop, auth: AuthHeaders) -> Call:
    return Call("POST", "/v1/eligibility/check", json={"order": order_body()})


async def _enroll(client: httpx.AsyncClient, objects: Objects, target: DoorDrop, auth: AuthHeaders) -> Call:
    key = base64.b64encode(uuid.uuid4().bytes * 2).decode()
    return Call("POST", "/v1/courier/devices", json={"publicKey": key, "platform": "android"})


async def _revoke(client: httpx.AsyncClient, objects: Objects, target: DoorDrop, auth: AuthHeaders) -> Call:
    # A device of its own each time: the world's devices must stay usable for the other rows.
    key = base64.b64encode(uuid.uuid4().bytes * 2).decode()
    enrolled = await client.post(
        "/v1/courier/devices",
        json={"publicKey": key, "platform": "android"},
        headers=auth("courier", new_id("cour")),
    )
    assert enrolled.status_code == 201, enrolled.text
    return Call("DELETE", f"/v1/support/devices/{enrolled.json()['deviceId']}")


async def _session(client: httpx.AsyncClient, objects: Objects, target: DoorDrop, auth: AuthHeaders) -> Call:
    own = objects.world.pending
    return Call(
        "POST", f"/v1/deliveries/{target.order_id}/capture-sessions", json={"deviceId": own.device_id}
    )


async def _photo(client: httpx.AsyncClient, objects: Objects, target: DoorDrop, auth: AuthHeaders) -> Call:
    data = _small_jpeg()
    headers = objects.world.pending.headers(auth, data)
    del headers["Authorization"]
    return Call("POST", f"/v1/deliveries/{target.order_id}/photos", content=data, headers=headers)


async def _publish(client: httpx.AsyncClient, objects: Objects, target: DoorDrop, auth: AuthHeaders) -> Call:
    # Far in the future, so no decision of this run changes.
    return Call(
        "POST",
        "/v1/admin/door-drop-policies",
        json=objects.policy | {"effectiveFrom": "2999-01-01T00:00:00Z"},
    )


async def _what_if(client: httpx.AsyncClient, objects: Objects, target: DoorDrop, auth: AuthHeaders) -> Call:
    body = {
        "draft": objects.policy,
        "createdFrom": "2026-01-01T00:00:00Z",
        "createdTo": "2026-12-31T00:00:00Z",
    }
    return Call("POST", "/v1/admin/door-drop-policies/what-if", json=body)


async def _bar(client: httpx.AsyncClient, objects: Objects, target: DoorDrop, auth: AuthHeaders) -> Call:
    return Call("POST", f"/v1/support/customers/{new_id('cust')}/door-drop-bar", json={"reason": "fraud"})


async def _lift(client: httpx.AsyncClient, objects: Objects, target: DoorDrop, auth: AuthHeaders) -> Call:
    customer = new_id("cust")
    path = f"/v1/support/customers/{customer}/door-drop-bar"
    barred = await client.post(path, json={"reason": "fraud"}, headers=auth("support", "support-1"))
    assert barred.status_code == 201, barred.text
    return Call("DELETE", path)


async def _decide(client: httpx.AsyncClient, objects: Objects, target: DoorDrop, auth: AuthHeaders) -> Call:
    body = {"decision": "reject", "reason": "photo shows the parcel at the right door"}
    return Call("POST", f"/v1/support/claims/{objects.world.claim_id}/decision", json=body)


ALL = " ".join(CALLERS)
TABLE: dict[tuple[str, str], Row] = {
    ("GET", "/health"): row(ALL, 200, simple("GET", "/health")),
    ("GET", "/ready"): row(ALL, 200, simple("GET", "/ready")),
    ("PUT", "/v1/orders/{order_id}"): row("service", 201, _upsert),
    ("PUT", "/v1/orders/{order_id}/courier"): row("service", 200, _assign, on_order=True),
    ("GET", "/v1/orders/{order_id}"): row(
        "service support admin", 200, simple("GET", "/v1/orders/{order}"), on_order=True
    ),
    ("POST", "/v1/eligibility/check"): row("service customer", 200, _check),
    ("GET", "/v1/orders/{order_id}/door-drop"): row(
        "customer courier support service", 200, simple("GET", "/v1/orders/{order}/door-drop"), on_order=True
    ),
    ("PUT", "/v1/orders/{order_id}/door-drop"): row(
        "customer service",
        200,
        simple("PUT", "/v1/orders/{order}/door-drop", {"enabled": True}),
        on_order=True,
    ),
    ("POST", "/v1/courier/devices"): row("courier", 201, _enroll),
    ("POST", "/v1/courier/devices/challenges"): row(
        "courier", 201, simple("POST", "/v1/courier/devices/challenges")
    ),
    ("GET", "/v1/support/couriers/{courier_id}/devices"): row(
        "support admin", 200, simple("GET", "/v1/support/couriers/{world.pending.courier_id}/devices")
    ),
    ("DELETE", "/v1/support/devices/{device_id}"): row("support admin", 200, _revoke),
    ("POST", "/v1/deliveries/{order_id}/capture-sessions"): row("courier", 201, _session, on_order=True),
    # 201 for every verified attempt (this plain frame is a rejected one).
    ("POST", "/v1/deliveries/{order_id}/photos"): row("courier", 201, _photo, on_order=True),
    ("GET", "/v1/admin/door-drop-policies/in-force"): row(
        "admin", 200, simple("GET", "/v1/admin/door-drop-policies/in-force")
    ),
    ("GET", "/v1/admin/door-drop-policies"): row("admin", 200, simple("GET", "/v1/admin/door-drop-policies")),
    ("POST", "/v1/admin/door-drop-policies"): row("admin", 201, _publish),
    ("POST", "/v1/admin/door-drop-policies/what-if"): row("admin", 200, _what_if),
    ("GET", "/v1/support/outbox/dead"): row("support admin", 200, simple("GET", "/v1/support/outbox/dead")),
    # Authorized, but the entry is not dead: 409 outbox.not_dead is the answer past the role check.
    ("POST", "/v1/support/outbox/{entry_id}/retry"): row(
        "support admin", 409, simple("POST", "/v1/support/outbox/{world.outbox_entry_id}/retry")
    ),
    ("GET", "/v1/me/orders/{order_id}/delivery"): row(
        "customer", 200, simple("GET", "/v1/me/orders/{order}/delivery"), on_order=True
    ),
    ("POST", "/v1/me/orders/{order_id}/claims"): row(
        "customer",
        201,
        simple("POST", "/v1/me/orders/{order}/claims", {"kind": "not_received"}),
        on_order=True,
        own=lambda objects: objects.unclaimed,
    ),
    ("GET", "/v1/support/customers/{customer_id}/door-drop-bar"): row(
        "support admin", 200, simple("GET", "/v1/support/customers/{world.pending.customer_id}/door-drop-bar")
    ),
    ("POST", "/v1/support/customers/{customer_id}/door-drop-bar"): row("support", 201, _bar),
    ("DELETE", "/v1/support/customers/{customer_id}/door-drop-bar"): row("support", 200, _lift),
    ("POST", "/v1/support/claims/{claim_id}/decision"): row("support", 200, _decide),
    ("GET", "/v1/support/orders/{order_id}/evidence"): row(
        "support", 200, simple("GET", "/v1/support/orders/{order}/evidence"), on_order=True
    ),
    ("GET", "/v1/admin/audit"): row("admin", 200, simple("GET", "/v1/admin/audit")),
    ("GET", "/v1/admin/incidents"): row(
        "admin", 200, simple("GET", "/v1/admin/incidents?from=2026-01-01T00:00:00Z&to=2026-12-31T00:00:00Z")
    ),
}


def expected(entry: Row, caller: Caller, variant: Variant) -> int:
    if caller not in entry.allowed:
        return 401 if caller == "none" else 403
    if variant == "foreign" and caller in ("courier", "customer"):
        return 404
    return entry.success


@pytest.fixture(scope="module")
async def objects(live_api: LiveApi, auth: AuthHeaders, live_db: Database) -> AsyncIterator[Objects]:
    async with httpx.AsyncClient(base_url=live_api.base_url, timeout=60.0) as client:
        world = await build_world(client, auth, live_db)
        theirs = await door_drop(client, auth)
        unclaimed = await door_drop(client, auth)
        photo = unclaimed.photo()
        done = await client.post(
            f"/v1/deliveries/{unclaimed.order_id}/photos",
            content=photo,
            headers=unclaimed.headers(auth, photo),
        )
        assert done.json()["verdict"] == "accepted", done.text
        policy = await client.get("/v1/admin/door-drop-policies/in-force", headers=auth("admin", "admin-1"))
        yield Objects(world=world, theirs=theirs, unclaimed=unclaimed, policy=policy.json()["policy"])


async def test_every_operation_and_role_gets_the_expected_status(
    http: httpx.AsyncClient, objects: Objects, auth: AuthHeaders
) -> None:
    schema = (await http.get("/schema/openapi.json")).json()
    documented = {(method.upper(), path) for path, ops in schema["paths"].items() for method in ops}
    assert documented == set(TABLE), "every operation needs a row in TABLE (and no stale rows)"
    assert set(CALLERS) == {*ROLES, "none"}, "every role needs a column"

    outcomes: Counter[str] = Counter()
    wrong: list[str] = []
    for (method, path), entry in TABLE.items():
        variants: tuple[Variant, ...] = ("own", "foreign") if entry.on_order else ("-",)
        own = entry.own(objects)
        for caller in CALLERS:
            for variant in variants:
                target = objects.theirs if variant == "foreign" else own
                call = await entry.build(http, objects, target, auth)
                assert call.method == method
                headers = dict(call.headers)
                if caller != "none":
                    sub = {"courier": own.courier_id, "customer": own.customer_id}.get(
                        caller, STAFF_SUB.get(caller, "")
                    )
                    headers |= auth(caller, sub)
                answer = await http.request(
                    method, call.path, json=call.json, content=call.content, headers=headers
                )
                want = expected(entry, caller, variant)
                outcomes[f"{answer.status_code}"] += 1
                if answer.status_code != want:
                    wrong.append(
                        f"{method} {path} as {caller} ({variant}): {answer.status_code}, want {want}: {answer.text[:160]}"
                    )
                elif answer.status_code >= 400:
                    assert answer.headers["content-type"].startswith("application/problem+json")
    assert not wrong, "\n".join(wrong)
    print(
        f"\nauthorization matrix: {sum(outcomes.values())} cells over {len(TABLE)} operations: {dict(outcomes)}"
    )


def _forge(settings: Settings, kind: str) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {"sub": "support-1", "role": "support", "iat": now, "exp": now + 600}
    match kind:
        case "expired":
            return jwt.encode(claims | {"exp": now - 60}, settings.jwt_secret, algorithm="HS256")
        case "alg_none":
            header = base64.urlsafe_b64encode(json.dumps({"alg": "none", "typ": "JWT"}).encode()).rstrip(b"=")
            payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=")
            return f"{header.decode()}.{payload.decode()}."
        case "other_key":
            return jwt.encode(
                claims, "another-secret-of-the-same-length-as-ours-0123456789", algorithm="HS256"
            )
        case "unknown_role":
            return jwt.encode(claims | {"role": "superuser"}, settings.jwt_secret, algorithm="HS256")
        case "no_exp":
            return jwt.encode(
                {k: v for k, v in claims.items() if k != "exp"}, settings.jwt_secret, algorithm="HS256"
            )
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["expired", "alg_none", "other_key", "unknown_role", "no_exp"])
async def test_forged_tokens_are_unauthenticated(
    http: httpx.AsyncClient, objects: Objects, live_api: LiveApi, kind: str
) -> None:
    token = _forge(live_api.settings, kind)
    sample = [
        ("GET", f"/v1/orders/{objects.world.pending.order_id}"),
        ("GET", f"/v1/support/orders/{objects.world.delivered.order_id}/evidence"),
        ("GET", "/v1/support/outbox/dead"),
        ("PUT", f"/v1/orders/{objects.world.pending.order_id}/door-drop"),
    ]
    for method, path in sample:
        answer = await http.request(
            method, path, json={"enabled": True}, headers={"Authorization": f"Bearer {token}"}
        )
        assert answer.status_code == 401, (kind, path, answer.text)
        assert answer.json()["code"] == "auth.unauthenticated"
