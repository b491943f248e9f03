"""HTML responses: Jinja2 templates with autoescaping on for everything, and HTML error pages.

The JSON API keeps problem+json; these handlers are registered on the page controllers only, so an
error raised while building a page comes back as a small HTML page with the same status.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
from litestar import MediaType, Request, Response
from litestar.datastructures import Cookie
from litestar.exceptions import HTTPException, ValidationException

from courier_api.errors import (
    Conflict,
    DomainError,
    FreshSignInRequired,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    NotPermitted,
    RateLimited,
    TemporarilyUnavailable,
)
from courier_api.formats import local_time, map_url, rub
from courier_api.problem_mapping import EXCEPTION_HANDLERS
from courier_api.web.security import CrossOriginRejected, CsrfRejected, page_headers
from infra.errors import DatabaseUnavailable, StorageUnavailable

_TEMPLATES = Path(__file__).parent / "templates"
_log = logging.getLogger("courier_api.web")


def when(value: datetime | None, zone: str = "UTC") -> str:
    """A time on a page, in the order's city zone when the page names one (`| when(zone)`)."""
    if value is None:
        return ""
    return local_time(value, zone)


@functools.cache
def environment() -> jinja2.Environment:
    """Built on first use, not at import; autoescape is on for every template, whatever its name."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(_TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["rub"] = rub
    env.filters["when"] = when
    env.globals["osm_url"] = map_url
    return env


def page(
    template: str,
    *,
    status_code: int = 200,
    img_origins: Iterable[str] = (),
    cookies: Sequence[Cookie] | None = None,
    **context: Any,
) -> Response[str]:
    html = environment().get_template(template).render(**context)
    return Response(
        html,
        status_code=status_code,
        media_type=MediaType.HTML,
        headers=page_headers(img_origins),
        cookies=list(cookies or []),
    )


def error_page(
    status_code: int, title: str, detail: str, headers: dict[str, str] | None = None, code: str = ""
) -> Response[str]:
    response = page("error.html", status_code=status_code, title=title, detail=detail, code=code)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


# Exception -> (status, title, code). Bilingual: an error page may come before we know the reader's
# language. The code is the JSON API's for the same refusal, shown on the page for support and tests.
_PAGES: list[tuple[type[Exception], int, str, str]] = [
    (
        NotAuthenticated,
        401,
        "Войдите по ссылке из уведомления · Please open the link you were sent",
        "auth.unauthenticated",
    ),
    (
        FreshSignInRequired,
        403,
        "Ссылка только показывает заказ: войдите в аккаунт · This link only shows the order: please sign in",
        "auth.fresh_sign_in_required",
    ),
    (NotPermitted, 403, "Нет доступа · Not allowed", "auth.forbidden"),
    (
        CsrfRejected,
        403,
        "Форма устарела, обновите страницу · The form expired, reload the page",
        "csrf.rejected",
    ),
    (CrossOriginRejected, 403, "Запрос с другого сайта · Sent from another site", "request.cross_origin"),
    (NotFound, 404, "Не найдено · Not found", "not_found"),
    (Conflict, 409, "Нельзя сделать сейчас · Not possible now", "conflict"),
    (InvalidInput, 422, "Проверьте данные · Please check the form", "request.unprocessable"),
    (RateLimited, 429, "Слишком много запросов · Too many requests", "rate_limited"),
    (TemporarilyUnavailable, 503, "Временно недоступно · Temporarily unavailable", "service.unavailable"),
]


def handle_page_error(request: Request[Any, Any, Any], exc: Exception) -> Response[str]:
    """Any error on a page: a small HTML page with the right status, never a trace."""
    headers: dict[str, str] = {}
    for cls, status, title, code in _PAGES:
        if isinstance(exc, cls):
            detail = exc.detail if isinstance(exc, DomainError) else ""
            if isinstance(exc, RateLimited | TemporarilyUnavailable):
                headers["Retry-After"] = str(exc.retry_after_s)
            if isinstance(exc, NotAuthenticated):
                detail = ""  # never say why a token was refused
            return error_page(status, title, detail, headers, code)
    if isinstance(exc, DatabaseUnavailable | StorageUnavailable):
        _log.warning("page dependency unavailable: %s", type(exc).__name__)
        return error_page(503, "Временно недоступно · Temporarily unavailable", "", {"Retry-After": "5"})
    if isinstance(exc, ValidationException):
        return error_page(400, "Неверный запрос · Bad request", "")
    if isinstance(exc, HTTPException) and exc.status_code < 500:
        allowed = {k: v for k, v in (exc.headers or {}).items() if k.lower() == "allow"}
        return error_page(exc.status_code, "Неверный запрос · Bad request", exc.detail, allowed)
    _log.exception("unhandled error on page %s %s", request.method, request.url.path)
    return error_page(500, "Ошибка сервера · Server error", "")


# Every key the app maps to problem+json is mapped here too: Litestar picks the nearest class in the
# exception's MRO across all layers, so a missing key would fall through to the JSON handler.
PAGE_EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    **dict.fromkeys(EXCEPTION_HANDLERS, handle_page_error),
    CsrfRejected: handle_page_error,
    CrossOriginRejected: handle_page_error,
}
