"""Browser sessions, CSRF tokens and the headers every page carries.

Session: the page links carry `?token=<JWT>` once. The page moves the token into an HttpOnly,
SameSite=Strict cookie (Secure when served over https) and sends the browser on to the clean URL, so
the token never stays in the address bar, the history or a Referer. The same `TokenService` verifies the
cookie on every request; the role in the token decides which pages it opens.

CSRF: every form carries HMAC-SHA256(JWT secret, session cookie) in a hidden field; a POST whose field does
not match its own cookie is refused before anything runs. SameSite=Strict already keeps the cookie off
cross-site POSTs; the token is the second, independent lock.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from litestar import Request

from courier_api.auth import Principal, TokenService
from courier_api.errors import NotAuthenticated

SESSION_COOKIE = "dd_session"
CSRF_FIELD = "csrf"
TOKEN_PARAM = "token"  # noqa: S105 - the query parameter's name, not a secret
_CSRF_LABEL = b"door-drop web csrf v1\x00"


class CsrfRejected(Exception):
    """A form POST without the session's CSRF token: refused, nothing changes."""


def session_token(request: Request[Any, Any, Any]) -> str | None:
    value = request.cookies.get(SESSION_COOKIE)
    return value or None


def session_principal(request: Request[Any, Any, Any], tokens: TokenService) -> Principal:
    """Who the browser session belongs to; NotAuthenticated without a valid session cookie."""
    token = session_token(request)
    if token is None:
        raise NotAuthenticated("no session: open the link you were sent")
    return tokens.verify(f"Bearer {token}", allow_order_links=True)


def csrf_token(secret: str, session: str) -> str:
    return hmac.new(secret.encode(), _CSRF_LABEL + session.encode(), hashlib.sha256).hexdigest()


def check_csrf(request: Request[Any, Any, Any], secret: str, submitted: str | None) -> None:
    """Refuse unless the submitted token is the one derived from this request's own session cookie."""
    session = session_token(request)
    if session is None or not submitted or not hmac.compare_digest(csrf_token(secret, session), submitted):
        raise CsrfRejected


def secure_cookie(request: Request[Any, Any, Any], public_base_url: str) -> bool:
    # Behind a TLS-terminating proxy the app sees http; the public URL says what the browser uses.
    return request.url.scheme == "https" or public_base_url.startswith("https://")


def origin_of(url: str | None) -> str | None:
    """scheme://host[:port] of an http(s) URL, for the CSP; None for anything else."""
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        return None
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    return f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "")


def content_security_policy(img_origins: Iterable[str] = ()) -> str:
    images = " ".join(["'self'", *sorted(set(img_origins))])
    return (
        "default-src 'none'; "
        f"img-src {images}; "
        "style-src 'self'; "
        "form-action 'self'; "
        "frame-ancestors 'none'; "
        "base-uri 'none'"
    )


def page_headers(img_origins: Iterable[str] = ()) -> dict[str, str]:
    """The headers every page (and every error page) carries."""
    return {
        "Content-Security-Policy": content_security_policy(img_origins),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
        "X-Frame-Options": "DENY",
    }
