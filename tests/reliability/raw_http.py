"""Raw HTTP for the hostile-request tests: exactly these bytes on the wire, the caller's credentials, and
what a refused request must leave unchanged."""

from __future__ import annotations

import http.client
import re
from typing import Any
from urllib.parse import urlsplit

import msgspec
from litestar.routes import HTTPRoute

from courier_api.app import create_app
from courier_api.auth import Role
from courier_api.web.security import SESSION_COOKIE, csrf_token
from infra.database import Database
from tests.conftest import AuthHeaders
from tests.reliability.conftest import LiveApi, World

PROBLEM = "application/problem+json"
PARAM = re.compile(r"{(\w+):(\w+)}")


def send(
    live_api: LiveApi, method: str, path: str, body: bytes | None, headers: dict[str, str]
) -> tuple[int, str, bytes]:
    """One request with exactly this path on the wire; (status, content type, body)."""
    url = urlsplit(live_api.base_url)
    connection = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers)
        answer = connection.getresponse()
        return answer.status, answer.getheader("content-type", ""), answer.read()
    finally:
        connection.close()


def session(auth: AuthHeaders, role: Role, sub: str, secret: str) -> tuple[dict[str, str], str]:
    """Headers carrying the token both ways (bearer for the API, cookie for pages) and the CSRF token."""
    token = auth(role, sub)["Authorization"].removeprefix("Bearer ")
    headers = {"Authorization": f"Bearer {token}", "Cookie": f"{SESSION_COOKIE}={token}"}
    return headers, csrf_token(secret, token)


async def snapshot(db: Database, world: World) -> dict[str, Any]:
    """What a refused request must leave as it was."""
    async with db.transaction() as uow:
        return {
            "orders": [
                msgspec.to_builtins(await uow.orders.get(drop.order_id))
                for drop in (world.pending, world.delivered)
            ],
            "claims": msgspec.to_builtins(await uow.claims.for_order(world.delivered.order_id)),
            "bars": [
                msgspec.to_builtins(await uow.bars.history(drop.customer_id))
                for drop in (world.pending, world.delivered)
            ],
            "outbox": msgspec.to_builtins(await uow.outbox.get(world.outbox_entry_id)),
            "policy_version": await uow.policies.latest_version(),
            "attempts": len(await uow.attempts.for_order(world.pending.order_id)),
        }


def routes(live_api: LiveApi) -> list[tuple[str, str]]:
    """(method, path template) of every route the app serves, typed parameters included."""
    app = create_app(live_api.settings)  # the route table only; never started
    return sorted(
        (method, route.path)
        for route in app.routes
        if isinstance(route, HTTPRoute)
        for method in route.methods
        if method not in {"OPTIONS", "HEAD"}
    )


def page_posts(live_api: LiveApi) -> list[str]:
    return [
        path
        for method, path in routes(live_api)
        if method == "POST" and not path.startswith(("/v1/", "/schema"))
    ]


def page_caller(template: str, world: World) -> tuple[Role, str]:
    """The session a page route needs: the order's customer, or staff."""
    if template.startswith("/orders/"):
        drop = world.delivered if template.endswith("/claims") else world.pending
        return "customer", drop.customer_id
    return ("admin" if template.startswith("/admin/") else "support"), "staff-hostile-requests"


def fill(template: str, values: dict[str, str]) -> str:
    return PARAM.sub(lambda m: values[m[1]], template)


def valid_ids(template: str, world: World) -> dict[str, str]:
    """Ids of existing objects for every path parameter name, chosen so the caller may act on them."""
    on_delivered = template.startswith(("/v1/me/", "/v1/support/orders/")) or (
        template.startswith("/orders/") and template.endswith("/claims")
    )
    order = world.delivered if on_delivered else world.pending
    return {
        "order_id": order.order_id,
        "customer_id": world.pending.customer_id,
        "claim_id": world.claim_id,
        "entry_id": str(world.outbox_entry_id),
        "courier_id": world.pending.courier_id,
        "device_id": world.pending.device_id,
        "file_path": "web.css",
        "path": "openapi.yaml",
    }
