"""Helpers for the page tests: an HTTP client of the live server that signs in the way a link does."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from courier_api.auth import Role, TokenService

CSRF_FIELD = re.compile(r'name="csrf" value="([0-9a-f]{64})"')
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}


@asynccontextmanager
async def browser_like(base_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=base_url, timeout=15, follow_redirects=False) as http:
        yield http


async def sign_in(
    http: httpx.AsyncClient, tokens: TokenService, path: str, role: Role, sub: str
) -> httpx.Response:
    """Open `path?token=...` as the link would; the session cookie lands in the client's jar."""
    landing = await http.get(path, params={"token": tokens.mint(role=role, sub=sub)})
    assert landing.status_code == 200, landing.text
    return landing


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
