"""Deeply nested JSON against a real `courier-api serve`: a 400, never a RecursionError's 500.

Every operation of the OpenAPI document that takes a JSON body (enumerated from the document, so a new
one is covered without a change here) gets `[` nested 100,000 deep (balanced, unbalanced, inside an
object) and around the interpreter's recursion limit, with a token of a role it accepts and ids of
existing objects, so the body is decoded: 400 `request.invalid`, nothing written. The page forms get the
deep JSON and stressed form encodings: refused with an HTML page, never a 5xx, nothing written.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import quote, urlencode

import httpx
import msgspec
import pytest

from infra.database import Database
from tests.conftest import AuthHeaders
from tests.reliability.conftest import LiveApi, World, build_world
from tests.reliability.raw_http import (
    PROBLEM,
    fill,
    page_caller,
    page_posts,
    send,
    session,
    snapshot,
    valid_ids,
)
from tests.reliability.test_schema_fuzz import _fixed_parts

DEPTH = 100_000
DEEP_JSON = {
    "unbalanced": b"[" * DEPTH,
    "balanced": b"[" * DEPTH + b"]" * DEPTH,
    "in an object": b'{"order": ' + b"[" * DEPTH,
    # Around the interpreter's recursion limit (1,000): decoded or not, refused the same way.
    "balanced 900": b"[" * 900 + b"]" * 900,
    "balanced 1,100": b"[" * 1_100 + b"]" * 1_100,
    "900 in an object": b'{"order": {"items": ' + b"[" * 900 + b"]" * 900 + b"}}",
}


@pytest.fixture(scope="module")
async def world(live_api: LiveApi, auth: AuthHeaders, live_db: Database) -> AsyncIterator[World]:
    async with httpx.AsyncClient(base_url=live_api.base_url, timeout=60.0) as client:
        yield await build_world(client, auth, live_db)


def _json_operations(live_api: LiveApi) -> list[tuple[str, str]]:
    document = httpx.get(f"{live_api.base_url}/schema/openapi.json", timeout=30).json()
    operations = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            content = operation.get("requestBody", {}).get("content", {})
            if any(media.startswith("application/json") for media in content):
                operations.append((method.upper(), path))
    return sorted(operations)


async def test_deeply_nested_json_is_a_400_on_every_json_operation(
    live_api: LiveApi, world: World, auth: AuthHeaders, live_db: Database
) -> None:
    operations = _json_operations(live_api)
    assert len(operations) >= 10, operations  # the document was read, not an empty list
    before = await snapshot(live_db, world)
    for method, template in operations:
        params, headers = _fixed_parts(method, template, world, auth)
        path = template.format(**params)
        for name, body in DEEP_JSON.items():
            status, media, raw = send(
                live_api, method, path, body, {**headers, "Content-Type": "application/json"}
            )
            assert media.startswith(PROBLEM), (method, template, name, status, raw[:300])
            problem = msgspec.json.decode(raw)
            assert (status, problem["code"]) == (400, "request.invalid"), (method, template, name, problem)
    assert await snapshot(live_db, world) == before


async def test_page_forms_survive_deep_json_and_stressed_form_bodies(
    live_api: LiveApi, world: World, auth: AuthHeaders, live_db: Database
) -> None:
    """No CSRF token: the form is parsed, then refused (403), or refused by the parser (400: over its
    part limit); an HTML page either way, never a 5xx."""
    deep_field = "[" * DEPTH
    bodies: dict[str, tuple[str, bytes]] = {
        "deep json": ("application/json", DEEP_JSON["balanced"]),
        "deep field value": (
            "application/x-www-form-urlencoded",
            urlencode({"comment": deep_field, "reason": deep_field}).encode(),
        ),
        "bracketed field names": (
            "application/x-www-form-urlencoded",
            b"&".join(quote("a" + "[" * 50 + "]" * 50).encode() + b"=1" for _ in range(2_000)),
        ),
        "many multipart parts": (
            "multipart/form-data; boundary=xyz",
            b"".join(
                b'--xyz\r\nContent-Disposition: form-data; name="a[[[[["\r\n\r\n' + b"[" * 50 + b"\r\n"
                for _ in range(5_000)
            )
            + b"--xyz--\r\n",
        ),
    }
    posts = page_posts(live_api)
    assert posts, "no page form found in the route table"
    before = await snapshot(live_db, world)
    for template in posts:
        role, sub = page_caller(template, world)
        headers, _ = session(auth, role, sub, live_api.settings.jwt_secret)
        path = fill(template, valid_ids(template, world))
        for name, (media_type, body) in bodies.items():
            status, media, raw = send(live_api, "POST", path, body, {**headers, "Content-Type": media_type})
            assert status in {400, 403}, (template, name, status, raw[:300])
            assert media.startswith("text/html"), (template, name, media)
    assert await snapshot(live_db, world) == before
