"""Signing in from a link ("continue"), and signing out.

The link's landing (`base.sign_in`) only parks the token; these handlers are the explicit step: the page
names who would be signed in, and who is signed in now when that is someone else, and only its POST
(same-origin, with the pending cookie's CSRF token) opens a session. Sign-out revokes the session row.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.response import Redirect

from courier_api.auth import Principal
from courier_api.dependencies import Services
from courier_api.services import AppServices
from courier_api.use_cases import web_sessions
from courier_api.use_cases.web_sessions import Kept, NeedsConfirmation, Started
from courier_api.web.base import PageController, checked_form, see_other
from courier_api.web.rendering import page
from courier_api.web.security import (
    CSRF_FIELD,
    PENDING_COOKIE,
    PENDING_PATH,
    SESSION_COOKIE,
    PendingSignIn,
    check_sign_in_csrf,
    pending_sign_in,
    require_same_origin,
    require_session_cookie,
    secure_cookies,
    session_token,
    sign_in_csrf,
)

REPLACES_FIELD = "replaces"
SIGNED_OUT_PATH = f"{PENDING_PATH}/signed-out"


def _confirm_page(
    services: AppServices, pending: PendingSignIn, new: Principal, current: Principal | None
) -> Response[str]:
    """The "continue" page; when someone else is signed in, it names them and the form confirms replacing them."""
    return page(
        "sign_in.html",
        new=new,
        current=current,
        replaces=web_sessions.identity(current) if current is not None else "",
        csrf=sign_in_csrf(services.settings.jwt_secret, pending),
    )


def _clear(key: str, path: str, secure: bool) -> Cookie:
    return Cookie(key=key, value="", path=path, max_age=0, httponly=True, secure=secure, samesite="strict")


class SessionPages(PageController):
    path = PENDING_PATH

    @get("/continue")
    async def confirm(self, request: Request[Any, Any, Any], services: Services) -> Response[str]:
        """Who the link signs in (and who is signed in now, if someone else), with a "continue" button."""
        pending = pending_sign_in(request)
        new, _ = services.tokens.session_grant(pending.token)
        async with services.db.read() as uow:
            current = await web_sessions.current(uow, session_token(request), now=services.now())
        shown = (
            current
            if current is not None and web_sessions.identity(current) != web_sessions.identity(new)
            else None
        )
        return _confirm_page(services, pending, new, shown)

    @post("/", status_code=303)
    async def sign_in(self, request: Request[Any, Any, Any], services: Services) -> Response[Any]:
        """The explicit sign-in: same-origin, CSRF-checked; then on to the page, without the token."""
        settings = services.settings
        require_same_origin(request, settings.public_base_url, required=True)
        pending = pending_sign_in(request)
        form = await request.form()
        fields = {key: value for key, value in form.items() if isinstance(value, str)}
        check_sign_in_csrf(settings.jwt_secret, pending, fields.get(CSRF_FIELD))
        new, expires_at = services.tokens.session_grant(pending.token)
        session = session_token(request)
        async with services.db.transaction() as uow:
            outcome = await web_sessions.sign_in(
                uow,
                new,
                expires_at=expires_at,
                now=services.now(),
                session_id=session,
                confirmed_replacing=fields.get(REPLACES_FIELD) or None,
            )
        secure = secure_cookies(request, settings.public_base_url)
        match outcome:
            case NeedsConfirmation(current=current):
                return _confirm_page(services, pending, new, current)
            case Started(session_id=session_id):
                cookie = Cookie(
                    key=SESSION_COOKIE,
                    value=session_id,
                    path="/",
                    httponly=True,
                    secure=secure,
                    samesite="strict",
                )
                cookies = [cookie, _clear(PENDING_COOKIE, PENDING_PATH, secure)]
            case Kept():
                cookies = [_clear(PENDING_COOKIE, PENDING_PATH, secure)]
        return see_other(pending.next_path, cookies)

    @post("/sign-out", status_code=303)
    async def sign_out(self, request: Request[Any, Any, Any], services: Services) -> Redirect:
        """Revoke this browser's session and drop its cookie; the old cookie is refused from now on."""
        require_same_origin(request, services.settings.public_base_url, required=True)
        await checked_form(request, services)
        session = require_session_cookie(request)
        async with services.db.transaction() as uow:
            await web_sessions.sign_out(uow, session, now=services.now())
        secure = secure_cookies(request, services.settings.public_base_url)
        return see_other(SIGNED_OUT_PATH, [_clear(SESSION_COOKIE, "/", secure)])

    @get("/signed-out")
    async def signed_out(self) -> Response[str]:
        return page("signed_out.html")
