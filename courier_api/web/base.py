"""What every page controller shares: HTML errors, the token landing, CSRF-checked forms, PRG redirects."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, TypeVar
from urllib.parse import urlencode

import msgspec
from litestar import Controller, Request, Response
from litestar.datastructures import Cookie
from litestar.response import Redirect

from courier_api.auth import Principal
from courier_api.errors import InvalidInput, NotAuthenticated
from courier_api.services import AppServices
from courier_api.use_cases import web_sessions
from courier_api.web.rendering import PAGE_EXCEPTION_HANDLERS, page
from courier_api.web.security import (
    CSRF_FIELD,
    PENDING_COOKIE,
    PENDING_MAX_AGE_S,
    PENDING_PATH,
    TOKEN_PARAM,
    check_csrf,
    csrf_token,
    page_headers,
    pending_cookie_value,
    require_same_origin,
    require_session_cookie,
    secure_cookies,
    session_token,
)
from infra.documents import ID_PATTERN

T = TypeVar("T")
_ID = re.compile(ID_PATTERN)
MAX_TOKEN_CHARS = 4096
CONTINUE_PATH = f"{PENDING_PATH}/continue"


class PageController(Controller):
    """HTML in, HTML out: errors become HTML pages, and nothing here is part of the OpenAPI schema."""

    include_in_schema = False
    exception_handlers = PAGE_EXCEPTION_HANDLERS


class SignedIn(msgspec.Struct, frozen=True, kw_only=True):
    """The page's session: who it is, the CSRF token its forms carry, and what the header shows."""

    principal: Principal
    csrf: str

    @property
    def label(self) -> str:
        return f"{self.principal.role} {self.principal.sub}"

    @property
    def view_only(self) -> bool:
        return self.principal.order_scope is not None


def sign_in(request: Request[Any, Any, Any], services: AppServices, token: str) -> Response[str]:
    """A link's landing: hold the token in a pending cookie and go on to the "continue" page.

    Nobody is signed in here: a crafted link must not replace the browser's session (login CSRF).
    The hop is a same-origin meta refresh rather than an HTTP redirect: a link clicked in a mail client is
    a cross-site navigation, and browsers keep SameSite=Strict cookies off every request of that redirect
    chain, so /session/continue would not see the pending cookie (nor the current session it must name).
    A 0-second refresh replaces the history entry, so the token leaves the history too.
    """
    services.tokens.session_grant(token if len(token) <= MAX_TOKEN_CHARS else "")  # else a 401 page
    rest = [(key, value) for key, value in request.query_params.multi_items() if key != TOKEN_PARAM]
    next_path = request.url.path + (f"?{urlencode(rest)}" if rest else "")
    value = pending_cookie_value(token, next_path)
    if value is None:
        raise NotAuthenticated("the token is too long")
    cookie = Cookie(
        key=PENDING_COOKIE,
        value=value,
        path=PENDING_PATH,
        max_age=PENDING_MAX_AGE_S,
        httponly=True,
        secure=secure_cookies(request, services.settings.public_base_url),
        samesite="strict",
    )
    return page("continue.html", cookies=[cookie], next_url=CONTINUE_PATH)


def viewer(request: Request[Any, Any, Any]) -> web_sessions.PrincipalReader:
    """Who the page is for: the live session, read in the page's transaction (NotAuthenticated without one)."""
    return web_sessions.viewer(session_token(request))


def signed(request: Request[Any, Any, Any], services: AppServices, principal: Principal) -> SignedIn:
    """The signed-in page's header and the CSRF token its forms must carry."""
    session = session_token(request)
    assert session is not None  # the principal was read from it
    return SignedIn(principal=principal, csrf=csrf_token(services.settings.jwt_secret, session))


async def checked_form(request: Request[Any, Any, Any], services: AppServices) -> dict[str, str]:
    """The posted fields, after the same-origin check and the CSRF token matched the session cookie.

    Needs no database: the session row itself is checked by `changer` inside the use case's transaction.
    """
    require_session_cookie(request)
    require_same_origin(request, services.settings.public_base_url, required=False)
    form = await request.form()
    fields = {key: value for key, value in form.items() if isinstance(value, str)}
    check_csrf(request, services.settings.jwt_secret, fields.get(CSRF_FIELD))
    return fields


def changer(request: Request[Any, Any, Any]) -> web_sessions.PrincipalReader:
    """Who is making a change: a live session that is not a notification link's view-only one."""
    return web_sessions.changer(session_token(request))


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


def see_other(path: str, cookies: Sequence[Cookie] = ()) -> Redirect:
    """Post/Redirect/Get: back to the page, so a reload never re-posts."""
    return Redirect(path, status_code=303, headers=page_headers(), cookies=list(cookies))
