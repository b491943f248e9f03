"""Browser sessions, sign-in from a link, CSRF tokens, same-origin checks and the headers every page carries.

Sign-in: a link carries `?token=<JWT>` once. Opening it never signs anyone in by itself (a crafted link
must not swap the signed-in person, "login CSRF"): the token moves into a short-lived pending cookie
(HttpOnly, SameSite=Strict, path /session) and a same-origin refresh leads to /session/continue, which
names who would be signed in (and who is signed in now, if someone else) with a "continue" button. Only
that POST, same-origin and carrying the pending cookie's CSRF token, opens a session, then redirects to
the page without the token. The token never stays in the address bar, the history or a Referer.

Session: the cookie holds a random session id; the session itself is a row in PostgreSQL
(`use_cases/web_sessions.py`), so sign-out revokes it everywhere and the cookie is no bearer token.

CSRF: every form carries HMAC-SHA256(JWT secret, session cookie) in a hidden field; a POST whose field does
not match its own cookie is refused before anything runs. SameSite=Strict already keeps the cookie off
cross-site POSTs, and a POST whose Sec-Fetch-Site or Origin names another site is refused too.

Secure cookies: always, except in loopback dev (see `secure_cookies`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import secrets
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import msgspec
from litestar import Request

from courier_api.errors import NotAuthenticated

SESSION_COOKIE = "dd_session"
PENDING_COOKIE = "dd_sign_in"
PENDING_PATH = "/session"
PENDING_MAX_AGE_S = 600
CSRF_FIELD = "csrf"
TOKEN_PARAM = "token"  # noqa: S105 - the query parameter's name, not a secret
_CSRF_LABEL = b"door-drop web csrf v1\x00"
_SIGN_IN_LABEL = b"door-drop web sign-in v1\x00"
# Browsers keep cookies up to 4096 bytes; the pending one is the base64 of token + nonce + path.
_MAX_PENDING_CHARS = 3800


class CsrfRejected(Exception):
    """A form POST without the session's CSRF token: refused, nothing changes."""


class CrossOriginRejected(Exception):
    """A form POST that another site sent (Sec-Fetch-Site / Origin), or one that cannot show it did not."""


class PendingSignIn(msgspec.Struct, frozen=True):
    """What the pending cookie holds between opening a link and pressing "continue"."""

    nonce: str
    token: str
    next_path: str


def session_token(request: Request[Any, Any, Any]) -> str | None:
    value = request.cookies.get(SESSION_COOKIE)
    return value or None


def require_session_cookie(request: Request[Any, Any, Any]) -> str:
    """The session cookie's value; NotAuthenticated without one (its row is checked later)."""
    session = session_token(request)
    if session is None:
        raise NotAuthenticated("no session: open the link you were sent")
    return session


def csrf_token(secret: str, session: str) -> str:
    return hmac.new(secret.encode(), _CSRF_LABEL + session.encode(), hashlib.sha256).hexdigest()


def check_csrf(request: Request[Any, Any, Any], secret: str, submitted: str | None) -> None:
    """Refuse unless the submitted token is the one derived from this request's own session cookie."""
    session = session_token(request)
    if session is None or not submitted or not hmac.compare_digest(csrf_token(secret, session), submitted):
        raise CsrfRejected


def pending_cookie_value(token: str, next_path: str) -> str | None:
    """The pending cookie for this token, with a fresh nonce; None when it would not fit a cookie."""
    pending = PendingSignIn(nonce=secrets.token_urlsafe(16), token=token, next_path=next_path)
    value = base64.urlsafe_b64encode(msgspec.json.encode(pending)).decode()
    return value if len(value) <= _MAX_PENDING_CHARS else None


def pending_sign_in(request: Request[Any, Any, Any]) -> PendingSignIn:
    """The pending sign-in this browser holds; NotAuthenticated when there is none (open the link again)."""
    value = request.cookies.get(PENDING_COOKIE) or ""
    try:
        pending = msgspec.json.decode(base64.urlsafe_b64decode(value.encode()), type=PendingSignIn)
    except (binascii.Error, ValueError, msgspec.DecodeError) as exc:
        raise NotAuthenticated("no pending sign-in: open the link you were sent") from exc
    if not value or len(value) > _MAX_PENDING_CHARS or not is_local_path(pending.next_path):
        raise NotAuthenticated("no pending sign-in: open the link you were sent")
    return pending


def sign_in_csrf(secret: str, pending: PendingSignIn) -> str:
    """The continue form's CSRF token: bound to this browser's pending cookie, nonce included."""
    message = _SIGN_IN_LABEL + msgspec.json.encode(pending)
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def check_sign_in_csrf(secret: str, pending: PendingSignIn, submitted: str | None) -> None:
    if not submitted or not hmac.compare_digest(sign_in_csrf(secret, pending), submitted):
        raise CsrfRejected


def is_local_path(path: str) -> bool:
    """A path on this origin: `/...` but not `//host` or `/\\host`, which browsers read as another host."""
    return path.startswith("/") and not path.startswith(("//", "/\\")) and "\\" not in path


def require_same_origin(request: Request[Any, Any, Any], public_base_url: str, *, required: bool) -> None:
    """Refuse a POST another site sent. With `required`, also one that shows neither header.

    Browsers send Sec-Fetch-Site (and Origin on every POST); a script cannot forge either. Our own
    origin is the one in PUBLIC_BASE_URL or the Host the browser addressed (same host behind a proxy).
    """
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        if site != "same-origin":
            raise CrossOriginRejected
        return
    origin = request.headers.get("origin")
    if origin is None:
        if required:
            raise CrossOriginRejected
        return
    parts = urlsplit(origin)
    host = request.headers.get("host", "")
    ours = origin == origin_of(public_base_url) or (
        parts.scheme in {"http", "https"} and parts.netloc == host
    )
    if not ours or not host:
        raise CrossOriginRejected


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def secure_cookies(request: Request[Any, Any, Any], public_base_url: str) -> bool:
    """Secure, except in loopback dev: PUBLIC_BASE_URL is plain http on a loopback host (the default,
    what `courier-api dev` and the tests run) AND the connection arrived on a loopback address.

    Either alone is not enough: production behind a proxy on the same machine talks to us over
    loopback but has an https public URL, and a server reachable from other machines is no dev box.
    An https request is always Secure.
    """
    if request.url.scheme == "https":
        return True
    public = urlsplit(public_base_url)
    server = request.scope.get("server")
    bound = str(server[0]) if server else None
    return not (public.scheme == "http" and _is_loopback(public.hostname) and _is_loopback(bound))


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
