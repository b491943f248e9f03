"""What every page controller shares: HTML errors, the token landing, CSRF-checked forms, PRG redirects."""

from __future__ import annotations

import re
from typing import Any, TypeVar
from urllib.parse import urlencode

import msgspec
from litestar import Controller, Request, Response
from litestar.datastructures import Cookie
from litestar.response import Redirect

from courier_api.auth import Principal
from courier_api.errors import InvalidInput
from courier_api.schemas.common import ID_PATTERN
from courier_api.services import AppServices
from courier_api.web.rendering import PAGE_EXCEPTION_HANDLERS, page
from courier_api.web.security import (
    CSRF_FIELD,
    SESSION_COOKIE,
    TOKEN_PARAM,
    check_csrf,
    csrf_token,
    page_headers,
    secure_cookie,
    session_principal,
    session_token,
)

T = TypeVar("T")
_ID = re.compile(ID_PATTERN)
MAX_TOKEN_CHARS = 4096


class PageController(Controller):
    """HTML in, HTML out: errors become HTML pages, and nothing here is part of the OpenAPI schema."""

    include_in_schema = False
    exception_handlers = PAGE_EXCEPTION_HANDLERS


def sign_in(request: Request[Any, Any, Any], services: AppServices, token: str) -> Response[str]:
    """Move a link's token into the session cookie, then continue to the same page without it.

    The hop is a same-origin meta refresh rather than an HTTP redirect: a link clicked in a mail client is
    a cross-site navigation, and browsers keep SameSite=Strict cookies off every request of that redirect
    chain, so the page would not see the cookie just set. A 0-second refresh replaces the history entry.
    """
    if len(token) > MAX_TOKEN_CHARS:
        token = ""
    services.tokens.verify(f"Bearer {token}", allow_order_links=True)  # NotAuthenticated -> 401 page
    rest = [(key, value) for key, value in request.query_params.multi_items() if key != TOKEN_PARAM]
    next_url = request.url.path + (f"?{urlencode(rest)}" if rest else "")
    cookie = Cookie(
        key=SESSION_COOKIE,
        value=token,
        path="/",
        httponly=True,
        secure=secure_cookie(request, services.settings.public_base_url),
        samesite="strict",
    )
    return page("continue.html", cookies=[cookie], next_url=next_url)


def viewer(request: Request[Any, Any, Any], services: AppServices) -> tuple[Principal, str]:
    """The session's principal and the CSRF token its forms must carry."""
    principal = session_principal(request, services.tokens)
    session = session_token(request)
    assert session is not None
    return principal, csrf_token(services.settings.jwt_secret, session)


async def checked_form(
    request: Request[Any, Any, Any], services: AppServices
) -> tuple[Principal, dict[str, str]]:
    """The session's principal and the posted fields, after the CSRF token matched the session."""
    principal = session_principal(request, services.tokens)
    form = await request.form()
    fields = {key: value for key, value in form.items() if isinstance(value, str)}
    check_csrf(request, services.settings.jwt_secret, fields.get(CSRF_FIELD))
    return principal, fields


def order_id_field(fields: dict[str, str], name: str = "back") -> str:
    value = fields.get(name, "")
    if not _ID.fullmatch(value):
        raise InvalidInput("the form names no valid order", field=name)
    return value


def convert_form(data: dict[str, Any], into: type[T]) -> T:
    """Validate form values with the same struct the JSON API uses."""
    try:
        return msgspec.convert(data, into)
    except msgspec.ValidationError as exc:
        raise InvalidInput(str(exc)) from exc


def see_other(path: str) -> Redirect:
    """Post/Redirect/Get: back to the page, so a reload never re-posts."""
    return Redirect(path, status_code=303, headers=page_headers())
