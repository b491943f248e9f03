"""Ids that are not ids, in every path parameter of every route, against a real `courier-api serve`.

The routes come from the app's own route table (API, pages, static files, schema), so a new route or
parameter is covered without a change here. Each parameter gets a valid id with a trailing newline (or
CRLF), `.`, `..`, `%2E%2E` and `a%2F..`, sent as raw bytes (no client normalises the path), with the
caller's token, a CSRF token for page forms and a body that would be accepted with the valid id, so only
the id decides: 400 or 404 (problem+json on the API), never 2xx or 5xx, and nothing written.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import msgspec
import pytest

from courier_api.web.security import CSRF_FIELD
from infra.database import Database
from tests.conftest import AuthHeaders
from tests.factories import order_body
from tests.reliability.conftest import LiveApi, World, build_world
from tests.reliability.raw_http import (
    PARAM,
    PROBLEM,
    fill,
    page_caller,
    routes,
    send,
    session,
    snapshot,
    valid_ids,
)
from tests.reliability.test_schema_fuzz import ROLE_FOR, _fixed_parts


@pytest.fixture(scope="module")
async def world(live_api: LiveApi, auth: AuthHeaders, live_db: Database) -> AsyncIterator[World]:
    async with httpx.AsyncClient(base_url=live_api.base_url, timeout=60.0) as client:
        yield await build_world(client, auth, live_db)


def _hostile(valid: str) -> dict[str, str]:
    """As sent on the wire (percent-encoded) -> what the server decodes it to."""
    return {
        quote(valid) + "%0A": valid + "\n",
        quote(valid) + "%0D%0A": valid + "\r\n",
        ".": ".",
        "..": "..",
        "%2E%2E": "..",
        "a%2F..": "a/..",
    }


def _valid_body(method: str, template: str, world: World, csrf: str) -> tuple[str, bytes] | None:
    """A body that would be accepted with the valid id, so only the id decides the answer."""
    bodies: dict[str, Any] = {
        "/v1/orders/{order_id:str}": order_body(),
        "/v1/orders/{order_id:str}/courier": {"courierId": world.pending.courier_id},
        "/v1/orders/{order_id:str}/door-drop": {"enabled": True},
        "/v1/deliveries/{order_id:str}/capture-sessions": {"deviceId": world.pending.device_id},
        "/v1/me/orders/{order_id:str}/claims": {"kind": "not_received", "comment": "not there"},
        "/v1/support/claims/{claim_id:uuid}/decision": {"decision": "reject", "reason": "hostile id"},
        "/v1/support/customers/{customer_id:str}/door-drop-bar": {"reason": "hostile id"},
    }
    if method in {"PUT", "POST"} and template in bodies:
        return "application/json", msgspec.json.encode(bodies[template])
    if template.endswith("/photos"):
        return "image/jpeg", b"\xff\xd8\xff\xd9"
    if method == "POST" and not template.startswith("/v1/"):
        fields = {
            CSRF_FIELD: csrf,
            "back": world.pending.order_id,
            "comment": "not there",
            "decision": "reject",
            "reason": "hostile id",
        }
        return "application/x-www-form-urlencoded", urlencode(fields).encode()
    return None


async def test_every_path_parameter_refuses_newlines_and_dot_segments(
    live_api: LiveApi, world: World, auth: AuthHeaders, live_db: Database
) -> None:
    with_params = [(method, path) for method, path in routes(live_api) if PARAM.search(path)]
    names = {name for _, path in with_params for name, _ in PARAM.findall(path)}
    assert {"order_id", "customer_id", "claim_id", "entry_id"} <= names, names
    before = await snapshot(live_db, world)
    decoded_ids: set[str] = set()
    wrong: list[tuple[str, str, int, str]] = []
    tried = 0
    for method, template in with_params:
        plain = re.sub(r"{(\w+):\w+}", r"{\1}", template)
        if (method, plain) in ROLE_FOR:  # the API: a bearer token of a role the operation accepts
            _, headers = _fixed_parts(method, plain, world, auth)
            csrf = ""
        else:  # pages, static files, schema: a session cookie and its CSRF token
            role, sub = page_caller(template, world)
            headers, csrf = session(auth, role, sub, live_api.settings.jwt_secret)
        body = _valid_body(method, template, world, csrf)
        if body is not None:
            headers = {**headers, "Content-Type": body[0]}
        if template.endswith("/photos"):
            headers |= {"X-Capture-Signature": "AAAA", "Idempotency-Key": uuid.uuid4().hex}
        valid = valid_ids(template, world)
        for name, _ in PARAM.findall(template):
            for wire, decoded in _hostile(valid[name]).items():
                path = fill(template, {**valid, name: wire})
                status, media, raw = send(live_api, method, path, body[1] if body else None, headers)
                tried += 1
                api = template.startswith("/v1/")
                if status not in {400, 404} or (api and not media.startswith(PROBLEM)):
                    wrong.append((method, path, status, raw[:120].decode(errors="replace")))
                decoded_ids.add(decoded)
    assert not wrong, "\n".join(map(str, wrong))
    assert await snapshot(live_db, world) == before
    async with live_db.transaction() as uow:
        for decoded in decoded_ids:
            assert await uow.orders.get(decoded) is None, decoded
            assert await uow.bars.history(decoded) == [], decoded
    print(f"\nhostile ids: {tried} requests over {len(with_params)} routes with path parameters, all 400/404")


async def test_ids_in_bodies_queries_and_forms_match_in_full(
    live_api: LiveApi, world: World, auth: AuthHeaders, live_db: Database
) -> None:
    """The same id definition outside paths: wire structs, the audit query, the page forms' `back` field."""
    before = await snapshot(live_db, world)
    service = auth("service", "oms") | {"Content-Type": "application/json"}
    for bad in ("cust-1\n", "..", "."):
        new_order = f"/v1/orders/ord-{uuid.uuid4().hex[:12]}"
        body = order_body(customer_id=bad)
        status, media, raw = send(live_api, "PUT", new_order, msgspec.json.encode(body), service)
        assert (status, media.startswith(PROBLEM)) == (400, True), (bad, status, raw[:200])
        assignment = msgspec.json.encode({"courierId": bad})
        path = f"/v1/orders/{world.pending.order_id}/courier"
        status, _, raw = send(live_api, "PUT", path, assignment, service)
        assert status == 400, (bad, status, raw[:200])
        audit = f"/v1/admin/audit?{urlencode({'orderId': bad})}"
        status, _, raw = send(live_api, "GET", audit, None, auth("admin", "admin-1"))
        assert status == 400, (bad, status, raw[:200])
        headers, csrf = session(auth, "support", "staff-hostile-ids", live_api.settings.jwt_secret)
        form = urlencode({CSRF_FIELD: csrf, "back": bad, "reason": "hostile id"}).encode()
        bar = f"/support/customers/{world.delivered.customer_id}/bar"
        headers |= {"Content-Type": "application/x-www-form-urlencoded"}
        status, _, raw = send(live_api, "POST", bar, form, headers)
        assert status in {400, 422}, (bad, status, raw[:200])
    assert await snapshot(live_db, world) == before
