"""Helpers for the page tests: an HTTP client of the live server that signs in the way a link does:
open the link, land on the "continue" page, press it (a same-origin POST with its CSRF token)."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from courier_api.auth import Role, TokenService

CSRF_FIELD = re.compile(r'name="csrf" value="([0-9a-f]{64})"')
REPLACES_FIELD = re.compile(r'name="replaces" value="([^"]*)"')
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}


@asynccontextmanager
async def browser_like(base_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=base_url, timeout=15, follow_redirects=False) as http:
        yield http


def same_origin(http: httpx.AsyncClient) -> dict[str, str]:
    """The Origin header a browser sends with a form POST from one of the app's own pages."""
    return {"Origin": f"{http.base_url.scheme}://{http.base_url.netloc.decode()}"}


def replaces_of(page: httpx.Response) -> str:
    found = REPLACES_FIELD.search(page.text)
    assert found, "the page has no sign-in form"
    return html.unescape(found[1])


async def open_link(http: httpx.AsyncClient, path: str, token: str) -> httpx.Response:
    """Open `path?token=...`; answers the "continue" page the landing refreshes to (nobody signed in yet)."""
    landing = await http.get(path, params={"token": token})
    assert landing.status_code == 200, landing.text
    assert 'content="0;url=/session/continue"' in landing.text
    assert "set-cookie" in landing.headers
    assert "dd_session" not in landing.headers["set-cookie"]
    page = await http.get("/session/continue")
    assert page.status_code == 200, page.text
    return page


async def press_continue(http: httpx.AsyncClient, page: httpx.Response) -> httpx.Response:
    """The "continue" button of that page: a same-origin POST with its CSRF token (and confirmation)."""
    return await http.post(
        "/session", data={"csrf": csrf_of(page), "replaces": replaces_of(page)}, headers=same_origin(http)
    )


async def sign_in_with(http: httpx.AsyncClient, path: str, token: str) -> httpx.Response:
    """Open the link and press "continue"; the session cookie lands in the client's jar."""
    signed_in = await press_continue(http, await open_link(http, path, token))
    assert signed_in.status_code == 303, signed_in.text
    assert signed_in.headers["location"] == path
    return signed_in


async def sign_in(
    http: httpx.AsyncClient, tokens: TokenService, path: str, role: Role, sub: str
) -> httpx.Response:
    """Sign in the way a link does, with a fresh token for this role and actor."""
    return await sign_in_with(http, path, tokens.mint(role=role, sub=sub))


def csrf_of(page: httpx.Response) -> str:
    found = CSRF_FIELD.search(page.text)
    assert found, "the page has no form with a CSRF token"
    return found[1]


def assert_page_headers(response: httpx.Response, *, img_src: str = "'self'") -> None:
    """The headers every page carries, with exactly these image sources."""
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, (name, response.headers.get(name))
    policy = {
        directive.split(" ", 1)[0]: directive.split(" ", 1)[1] if " " in directive else ""
        for directive in (part.strip() for part in response.headers["content-security-policy"].split(";"))
    }
    assert policy == {
        "default-src": "'none'",
        "img-src": img_src,
        "style-src": "'self'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
        "base-uri": "'none'",
    }
